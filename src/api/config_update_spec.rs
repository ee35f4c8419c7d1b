//! The Overall Config update as the OpenAPI document gives it: exactly one branch per item, either
//! clearing a setting's override or saving a value of the type and range that setting takes.

use panel_actors::upstream::url_shape::WS;
use serde_json::{Value, json};

use super::overall_config::{STARTUP_ONLY, listed};
use super::value_patterns::{bool_text, cookie_name_text, float_text, github_repo_text, int_text, plain_text};
use crate::settings::secrets::KEEP_SENTINEL;
use crate::settings::{Kind, SettingDef, TABLE};

/// The settings a request may name (listed, and not read only at start).
fn settable() -> impl Iterator<Item = &'static SettingDef> {
    TABLE.iter().filter(|def| listed(def) && !STARTUP_ONLY.contains(&def.name))
}

/// `name` as sent: a settable name with white space around it (the handler trims it).
pub fn name_pattern() -> String {
    let names: Vec<&str> = settable().map(|def| def.name).collect();
    format!("^{WS}*(?:{}){WS}*$", names.join("|"))
}

/// The JSON values `def` accepts (see `overall_config::coerce`).
fn value_schema(def: &SettingDef) -> Value {
    let text = |pattern: String| json!({"type": "string", "pattern": pattern});
    if def.secret {
        // A secret is set only at start; the sentinel keeps it.
        return json!({"type": "string", "enum": [KEEP_SENTINEL]});
    }
    let choices = match def.kind {
        Kind::Bool => vec![json!({"type": "boolean"}), json!({"type": "integer", "enum": [0, 1]}), text(bool_text())],
        Kind::Int { min, max } => {
            vec![json!({"type": "integer", "minimum": min, "maximum": max}), text(int_text(min, max))]
        }
        Kind::Float { min } => vec![json!({"type": "number", "minimum": min}), text(float_text(min))],
        Kind::Text | Kind::List | Kind::Path => {
            // Booleans and numbers are saved as their text; no such text is an `owner/repo`.
            match def.name {
                "GITHUB_REPO" => vec![text(github_repo_text())],
                "ACCESS_KEY_COOKIE_NAME" => {
                    vec![text(cookie_name_text()), json!({"type": "boolean"}), json!({"type": "number"})]
                }
                _ => vec![text(plain_text()), json!({"type": "boolean"}), json!({"type": "number"})],
            }
        }
    };
    json!({"anyOf": choices})
}

/// One branch per settable name, plus clearing; for `ConfigUpdate`'s `oneOf`.
pub fn branches() -> Value {
    let mut branches = vec![json!({
        "required": ["name", "clear_override"],
        "properties": {
            "name": {"type": "string", "pattern": name_pattern()},
            "clear_override": {"type": "boolean", "enum": [true]},
            "value": {"nullable": true, "enum": [null]}
        }
    })];
    branches.extend(settable().map(|def| {
        json!({
            "required": ["name", "value"],
            "properties": {
                "name": {"type": "string", "pattern": format!("^{WS}*{}{WS}*$", def.name)},
                "value": value_schema(def),
                "clear_override": {"type": "boolean", "enum": [false]}
            }
        })
    }));
    Value::Array(branches)
}
