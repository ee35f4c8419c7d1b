//! Secret-valued fields (preset API keys, SOCKS5 proxy, webhook URL, optimizer key, R2 credentials).
//! A secret is empty, an exact `${ENV_VAR}` reference resolved only when used, or a literal accepted
//! only with `ALLOW_PLAINTEXT_SECRETS=true`. Responses carry masked forms only.

use super::EnvSnapshot;

/// The sentinel a form sends back to keep a stored secret unchanged.
pub const KEEP_SENTINEL: &str = "********";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    Empty,
    /// `${NAME}`: the variable is read from the server environment when the secret is used.
    EnvRef(String),
    Literal(String),
}

impl Secret {
    /// Reads what the database holds. Stored values were checked when saved; a literal stays a
    /// literal even if plaintext secrets were switched off since (it is reported, never a 500).
    pub fn from_stored(stored: &str) -> Secret {
        let value = stored.trim();
        if value.is_empty() {
            Secret::Empty
        } else if let Some(name) = env_ref_name(value) {
            Secret::EnvRef(name.to_string())
        } else {
            Secret::Literal(value.to_string())
        }
    }

    /// Validates user input for the field called `label` (e.g. `API key`).
    pub fn parse_input(input: &str, label: &str, allow_plaintext: bool) -> Result<Secret, String> {
        let value = input.trim();
        if value.is_empty() {
            return Ok(Secret::Empty);
        }
        if let Some(name) = env_ref_name(value) {
            return Ok(Secret::EnvRef(name.to_string()));
        }
        if value.contains("${") || value.contains('}') {
            return Err(format!("{label} env ref must be formatted as ${{ENV_VAR_NAME}}."));
        }
        if !allow_plaintext {
            return Err(format!("{label} must use ${{ENV_VAR_NAME}} unless ALLOW_PLAINTEXT_SECRETS=true."));
        }
        Ok(Secret::Literal(value.to_string()))
    }

    /// The text to store.
    pub fn stored(&self) -> String {
        match self {
            Secret::Empty => String::new(),
            Secret::EnvRef(name) => format!("${{{name}}}"),
            Secret::Literal(value) => value.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Secret::Empty
    }

    /// The value to use now. An env ref whose variable is unset or empty is an error naming it.
    pub fn resolve(&self, env: &EnvSnapshot, label: &str) -> Result<Option<String>, String> {
        match self {
            Secret::Empty => Ok(None),
            Secret::Literal(value) => Ok(Some(value.clone())),
            Secret::EnvRef(name) => match env.get(name).map(str::trim).filter(|v| !v.is_empty()) {
                Some(value) => Ok(Some(value.to_string())),
                None => Err(format!(
                    "{label} environment variable {name} is not set or empty. Set it in the server environment."
                )),
            },
        }
    }

    /// The key-style mask: the ref itself, `sk-a***mnop` for long literals, `***` otherwise.
    pub fn mask(&self) -> KeyMask {
        match self {
            Secret::Empty => KeyMask { masked: "***".into(), has: false, source: "empty", env_var: None },
            Secret::EnvRef(name) => {
                KeyMask { masked: self.stored(), has: true, source: "env", env_var: Some(name.clone()) }
            }
            Secret::Literal(value) => {
                let chars: Vec<char> = value.chars().collect();
                let masked = if chars.len() > 8 {
                    let head: String = chars[..4].iter().collect();
                    let tail: String = chars[chars.len() - 4..].iter().collect();
                    format!("{head}***{tail}")
                } else {
                    "***".to_string()
                };
                KeyMask { masked, has: true, source: "stored", env_var: None }
            }
        }
    }
}

/// How a key-style secret is shown: `*_masked`, `has_*`, `*_source`, `*_env_var`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMask {
    pub masked: String,
    pub has: bool,
    pub source: &'static str,
    pub env_var: Option<String>,
}

/// `NAME` of an exact `${NAME}` reference.
pub fn env_ref_name(value: &str) -> Option<&str> {
    let name = value.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// `socks5://user:***@host:port` for literals; refs verbatim; empty stays empty.
pub fn mask_proxy(secret: &Secret) -> String {
    match secret {
        Secret::Empty => String::new(),
        Secret::EnvRef(_) => secret.stored(),
        Secret::Literal(value) => match url::Url::parse(value) {
            Ok(url) => {
                let host = url.host_str().unwrap_or_default();
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                let user = if url.username().is_empty() { String::new() } else { format!("{}:***@", url.username()) };
                format!("{}://{user}{host}{port}", url.scheme())
            }
            Err(_) => "***".to_string(),
        },
    }
}

/// `https://***@host:port/***?***#***` for literals (only the parts present); refs verbatim.
pub fn mask_webhook(secret: &Secret) -> String {
    match secret {
        Secret::Empty => String::new(),
        Secret::EnvRef(_) => secret.stored(),
        Secret::Literal(value) => match url::Url::parse(value) {
            Ok(url) if url.host_str().is_some() => {
                let userinfo = if url.username().is_empty() && url.password().is_none() { "" } else { "***@" };
                let host = url.host_str().unwrap_or_default();
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                let path = if url.path().is_empty() || url.path() == "/" { "" } else { "/***" };
                let query = if url.query().is_some() { "?***" } else { "" };
                let fragment = if url.fragment().is_some() { "#***" } else { "" };
                format!("https://{userinfo}{host}{port}{path}{query}{fragment}")
            }
            _ => "***".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_refs_literals_or_refused() {
        assert_eq!(
            Secret::parse_input("  ${OPENAI_API_KEY} ", "API key", false),
            Ok(Secret::EnvRef("OPENAI_API_KEY".into()))
        );
        assert_eq!(Secret::parse_input("", "API key", false), Ok(Secret::Empty));
        assert_eq!(
            Secret::parse_input("sk-live", "API key", false),
            Err("API key must use ${ENV_VAR_NAME} unless ALLOW_PLAINTEXT_SECRETS=true.".into())
        );
        assert_eq!(Secret::parse_input("sk-live", "API key", true), Ok(Secret::Literal("sk-live".into())));
        for bad in ["${1BAD}", "${A-B}", "x${A}", "${A}}", "abc}"] {
            assert_eq!(
                Secret::parse_input(bad, "API key", true),
                Err("API key env ref must be formatted as ${ENV_VAR_NAME}.".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn masks_follow_the_reference_formats() {
        assert_eq!(Secret::Literal("sk-abcdefghijklmnop".into()).mask().masked, "sk-a***mnop");
        assert_eq!(Secret::Literal("short".into()).mask().masked, "***");
        assert_eq!(Secret::Empty.mask(), KeyMask { masked: "***".into(), has: false, source: "empty", env_var: None });
        let proxy = Secret::Literal("socks5://alice:s3cret@proxy.example:1080".into());
        assert_eq!(mask_proxy(&proxy), "socks5://alice:***@proxy.example:1080");
        let hook = Secret::Literal("https://u:p@hooks.example.com:8443/path/x?token=1#frag".into());
        assert_eq!(mask_webhook(&hook), "https://***@hooks.example.com:8443/***?***#***");
        assert_eq!(mask_webhook(&Secret::Literal("https://hooks.example.com/".into())), "https://hooks.example.com");
    }

    #[test]
    fn refs_resolve_at_use_time() {
        let env = EnvSnapshot::from_pairs([("KEY", " v ")]);
        assert_eq!(Secret::EnvRef("KEY".into()).resolve(&env, "API Key"), Ok(Some("v".into())));
        assert_eq!(
            Secret::EnvRef("NOPE".into()).resolve(&env, "API Key"),
            Err("API Key environment variable NOPE is not set or empty. Set it in the server environment.".into())
        );
    }
}
