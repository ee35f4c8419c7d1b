//! Which HTTP CONNECT proxy, if any, an HTTPS endpoint goes through: `HTTPS_PROXY` (or
//! `https_proxy`) unless `NO_PROXY` (or `no_proxy`) names the host, read as curl and the AWS tools
//! read them. Only the S3 (R2) client uses it; upstream calls have their own SOCKS5 setting.

use crate::settings::EnvSnapshot;

fn first_set<'a>(env: &'a EnvSnapshot, names: &[&str]) -> Option<&'a str> {
    names.iter().filter_map(|name| env.get(name)).map(str::trim).find(|value| !value.is_empty())
}

/// The proxy for `endpoint`, or `None` for a direct connection (plain http, no proxy set, or the
/// host excluded by `NO_PROXY`).
pub fn for_endpoint(env: &EnvSnapshot, endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    if url.scheme() != "https" {
        return None;
    }
    let proxy = first_set(env, &["HTTPS_PROXY", "https_proxy"])?;
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let excluded = first_set(env, &["NO_PROXY", "no_proxy"]).is_some_and(|list| excludes(list, &host));
    (!excluded).then(|| proxy.to_string())
}

/// `*`, an exact host or address, or a domain and its subdomains (`example.com`, `.example.com`),
/// each optionally with a port, which is ignored.
fn excludes(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).filter(|entry| !entry.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = strip_port(entry).trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
        host == entry || host.strip_suffix(&entry).is_some_and(|rest| rest.ends_with('.'))
    })
}

fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn https_endpoints_use_the_proxy_unless_no_proxy_names_them() {
        let proxied =
            env(&[("HTTPS_PROXY", "http://proxy:3128"), ("NO_PROXY", "localhost, .corp.example,10.0.0.7:9000")]);
        let via = |endpoint| for_endpoint(&proxied, endpoint);
        assert_eq!(via("https://acct.r2.cloudflarestorage.com").as_deref(), Some("http://proxy:3128"));
        assert_eq!(via("https://localhost:9000"), None);
        assert_eq!(via("https://s3.corp.example"), None);
        assert_eq!(via("https://corp.example"), None);
        assert_eq!(via("https://notcorp.example").as_deref(), Some("http://proxy:3128"));
        assert_eq!(via("https://10.0.0.7"), None);
        assert_eq!(via("http://acct.r2.cloudflarestorage.com"), None, "plain http is never proxied");
    }

    #[test]
    fn lower_case_names_count_and_a_star_excludes_everything() {
        assert_eq!(
            for_endpoint(&env(&[("https_proxy", "http://p:1")]), "https://x.test").as_deref(),
            Some("http://p:1")
        );
        assert_eq!(for_endpoint(&env(&[("https_proxy", "http://p:1"), ("no_proxy", "*")]), "https://x.test"), None);
        assert_eq!(for_endpoint(&env(&[("HTTPS_PROXY", " ")]), "https://x.test"), None);
        assert_eq!(
            for_endpoint(&env(&[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "[::1]")]), "https://[::1]:9"),
            None
        );
    }
}
