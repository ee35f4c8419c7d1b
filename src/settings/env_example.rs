//! `.env.example` is generated from the settings table; a test fails when the committed file drifts.

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
