use reqwest::Method;

use crate::helpers::*;

#[tokio::test]
async fn unknown_api_routes_are_404_in_the_envelope() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    for path in ["/api/nope", "/api", "/api/version/extra"] {
        assert_envelope(app.get_with_cookie(path, &cookie).await, 404, "not_found", "Not found").await;
    }
}

#[tokio::test]
async fn wrong_methods_are_405_in_the_envelope() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let trace = Method::from_bytes(b"TRACE").unwrap();
    for (method, path, allow) in [
        (Method::PUT, "/api/version", "GET, HEAD"),
        (Method::DELETE, "/health", "GET, HEAD"),
        (Method::POST, "/", "GET, HEAD"),
        (trace.clone(), "/api/generate", "POST"),
        (Method::PUT, "/api/gallery/some-image-id", "DELETE, GET, HEAD"),
        (trace, "/api/gallery/search", "POST"),
    ] {
        let response = app.same_origin(method, path).header("cookie", &cookie).send().await.unwrap();
        let allowed = response.headers().get("allow").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(allowed.as_deref(), Some(allow), "Allow of {path}");
        assert_envelope(response, 405, "method_not_allowed", "Method Not Allowed").await;
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let response = app.request(Method::HEAD, "/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_storage_failure_is_a_500_that_reveals_nothing() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    app.state.db.execute_unprepared("DROP TABLE access_failures").await.unwrap();
    let body = assert_envelope(app.post_access("wrong").await, 500, "internal_error", "Internal Server Error").await;
    let text = body.to_string();
    assert!(
        !text.contains("access_failures")
            && !text.contains("sqlite")
            && !text.contains(&app.dir.path().display().to_string())
    );
}
