//! Files generated from the settings table: `.env.example` and the README settings table. Tests fail when
//! the committed copies drift.

use super::{Effect, Group, TABLE};

pub fn render_env_example() -> String {
    let mut out = String::from(
        "# GPT Image Panel settings. Generated from the settings table (`gpt-image-panel env-example`);\n\
         # do not edit by hand. Copy to `.env` and uncomment what you change. Priority: Overall Config\n\
         # overrides in SQLite > process environment > this file > built-in defaults.\n\
         # Secrets: prefer ${ENV_VAR} references; literal values need ALLOW_PLAINTEXT_SECRETS=true.\n",
    );
    for group in Group::ALL {
        out.push_str(&format!("\n# --- {} ---\n", group.title()));
        for def in TABLE.iter().filter(|def| def.group == group) {
            let mut notes = Vec::new();
            if def.secret {
                notes.push("secret");
            }
            notes.push(match def.effect {
                Effect::HotReload => "applies at once",
                Effect::Restart => "restart required",
                Effect::BuildOnly => "build only",
                Effect::Ignored => "accepted and ignored",
            });
            out.push_str(&format!("# {} ({})\n", def.help, notes.join(", ")));
            out.push_str(&format!("# {}={}\n", def.name, def.default));
        }
    }
    out
}

/// The Markdown table of every setting, as embedded in the README between marker comments.
pub fn render_settings_table() -> String {
    let mut out = String::from("| Variable | Default | Applies | Description |\n|---|---|---|---|\n");
    for group in Group::ALL {
        for def in TABLE.iter().filter(|def| def.group == group) {
            let default = if def.default.is_empty() { "empty".to_string() } else { format!("`{}`", def.default) };
            let applies = match def.effect {
                Effect::HotReload => "at once",
                Effect::Restart => "restart",
                Effect::BuildOnly => "build",
                Effect::Ignored => "ignored",
            };
            let secret = if def.secret { " (secret)" } else { "" };
            out.push_str(&format!(
                "| `{}` | {default} | {applies} | {}{secret} |\n",
                def.name,
                def.help.replace('|', "\\|")
            ));
        }
    }
    out
}
