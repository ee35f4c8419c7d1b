//! Timestamps are stored as UTC text that sorts correctly: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn to_db(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_db(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}
