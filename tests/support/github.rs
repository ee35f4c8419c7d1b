//! A mock of the two GitHub lookups behind the "New" badge: the latest-release API and the raw
//! VERSION file fallback. Counts calls so caching can be observed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use poem::http::StatusCode;
use poem::{Request, Response, handler};

#[derive(Clone)]
pub struct MockGithub {
    pub base_url: String,
    release_calls: Arc<AtomicUsize>,
    raw_calls: Arc<AtomicUsize>,
}

struct Config {
    release_tag: Option<String>,
    raw_version: Option<String>,
    release_calls: Arc<AtomicUsize>,
    raw_calls: Arc<AtomicUsize>,
}

impl MockGithub {
    /// `release_tag: None` makes the release API answer 404 so the raw fallback is used.
    pub async fn start(release_tag: Option<&str>, raw_version: Option<&str>) -> MockGithub {
        let release_calls = Arc::new(AtomicUsize::new(0));
        let raw_calls = Arc::new(AtomicUsize::new(0));
        let config = Arc::new(Config {
            release_tag: release_tag.map(str::to_string),
            raw_version: raw_version.map(str::to_string),
            release_calls: release_calls.clone(),
            raw_calls: raw_calls.clone(),
        });
        let address = super::serve(poem::EndpointExt::data(route, config)).await;
        MockGithub { base_url: format!("http://{address}"), release_calls, raw_calls }
    }

    pub fn release_calls(&self) -> usize {
        self.release_calls.load(Ordering::SeqCst)
    }

    pub fn raw_calls(&self) -> usize {
        self.raw_calls.load(Ordering::SeqCst)
    }
}

#[handler]
fn route(req: &Request, config: poem::web::Data<&Arc<Config>>) -> Response {
    let path = req.uri().path();
    if path.ends_with("/releases/latest") {
        config.release_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(tag) = &config.release_tag {
            return Response::builder()
                .content_type("application/json")
                .body(serde_json::json!({"tag_name": tag, "name": tag}).to_string());
        }
    } else if path.ends_with("/VERSION") {
        config.raw_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(version) = &config.raw_version {
            return Response::builder().content_type("text/plain").body(format!("{version}\n"));
        }
    }
    Response::builder().status(StatusCode::NOT_FOUND).body("Not Found")
}
