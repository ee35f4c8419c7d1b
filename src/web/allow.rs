//! The `Allow` header of a 405 (RFC 9110 §15.5.6): the methods the path's route answers, read once
//! from the OpenAPI document so it can never disagree with the routes. `HEAD` goes with every `GET`
//! (E2); paths outside the API (the page, assets, the spec, the docs) answer `GET` and `HEAD` only.

use std::sync::LazyLock;

use poem::http::HeaderValue;

use super::gate::is_api_path;

/// Each route's path template split into segments (`None` for a `{param}`), and its `Allow` value.
struct Route {
    segments: Vec<Option<String>>,
    allow: HeaderValue,
}

static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| routes(&crate::api::spec_json()));

fn routes(spec: &str) -> Vec<Route> {
    let spec: serde_json::Value = serde_json::from_str(spec).expect("the generated spec is JSON");
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    paths
        .iter()
        .filter_map(|(template, operations)| {
            let mut methods: Vec<String> = operations
                .as_object()?
                .keys()
                .filter(|method| !method.starts_with("x-") && *method != "parameters")
                .map(|method| method.to_ascii_uppercase())
                .collect();
            if methods.iter().any(|m| m == "GET") {
                methods.push("HEAD".into());
            }
            methods.sort();
            let segments = template
                .trim_start_matches('/')
                .split('/')
                .map(|segment| (!segment.starts_with('{')).then(|| segment.to_string()))
                .collect();
            Some(Route { segments, allow: HeaderValue::from_str(&methods.join(", ")).ok()? })
        })
        .collect()
}

fn matches(route: &Route, segments: &[&str]) -> bool {
    route.segments.len() == segments.len()
        && route.segments.iter().zip(segments).all(|(want, got)| want.as_deref().is_none_or(|want| want == *got))
}

/// What a 405 on `path` should list; a literal segment wins over a `{param}` in the same place.
pub fn allowed(path: &str) -> HeaderValue {
    if !is_api_path(path) && path != "/health" {
        return HeaderValue::from_static("GET, HEAD");
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let literal_count = |route: &Route| route.segments.iter().filter(|s| s.is_some()).count();
    ROUTES
        .iter()
        .filter(|route| matches(route, &segments))
        .max_by_key(|route| literal_count(route))
        .map(|route| route.allow.clone())
        .unwrap_or_else(|| HeaderValue::from_static("GET, HEAD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_list_their_methods_and_head_follows_get() {
        assert_eq!(allowed("/api/gallery"), "DELETE, GET, HEAD");
        assert_eq!(allowed("/api/generate"), "POST");
        assert_eq!(allowed("/api/gallery/search"), "POST", "a literal beats /api/gallery/{{image_id}}");
        assert_eq!(allowed("/api/gallery/0123"), "DELETE, GET, HEAD");
        assert_eq!(allowed("/"), "GET, HEAD");
        assert_eq!(allowed("/health"), "GET, HEAD");
    }
}
