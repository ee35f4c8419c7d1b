//! Timestamps are stored as UTC text that sorts correctly: `YYYY-MM-DDTHH:MM:SS.ffffffZ`.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

pub fn to_db(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_db(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}

/// A stored timestamp as clients see it: RFC 3339 with microseconds and `+00:00`; text that is not a
/// timestamp (an imported value) is shown as stored.
pub fn shown_utc(stored: &str) -> String {
    from_db(stored).map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, false)).unwrap_or_else(|| stored.to_string())
}

/// A stored timestamp in Beijing time (`+08:00`), the way completion times are shown.
pub fn shown_beijing(stored: &str) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    from_db(stored)
        .map(|at| at.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::Micros, false))
        .unwrap_or_else(|| stored.to_string())
}
