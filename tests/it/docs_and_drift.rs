use gpt_image_panel::api::spec_json;
use gpt_image_panel::settings::{render_env_example, render_settings_table};

use crate::helpers::*;

const REGENERATE: &str = "run ./scripts/regenerate";

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default()
}

#[test]
fn committed_openapi_matches_the_code() {
    assert!(repo_file("openapi/openapi.json") == spec_json(), "openapi/openapi.json drifted; {REGENERATE}");
}

#[test]
fn committed_env_example_matches_the_settings_table() {
    assert!(repo_file(".env.example") == render_env_example(), ".env.example drifted; {REGENERATE}");
}

#[test]
fn readme_settings_table_matches_the_settings_table() {
    let readme = repo_file("README.md");
    let start = readme.find("<!-- settings-table:start -->\n").expect("README has the settings table markers");
    let end = readme.find("<!-- settings-table:end -->").expect("end marker");
    let table = &readme[start + "<!-- settings-table:start -->\n".len()..end];
    assert!(table == render_settings_table(), "README settings table drifted; {REGENERATE}");
}

#[test]
fn the_spec_documents_the_routes_and_the_error_envelope() {
    let spec: serde_json::Value = serde_json::from_str(&spec_json()).unwrap();
    for path in ["/health", "/api/access", "/api/access/status", "/api/version", "/api/version/latest"] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    let fields = &spec["components"]["schemas"]["ErrorBody"]["properties"];
    for field in ["status", "error_code", "correlation_id", "detail", "message", "error"] {
        assert!(fields[field].is_object(), "ErrorBody.{field}");
    }
    assert!(spec["paths"]["/api/access"]["post"]["responses"]["429"].is_object());
    // The streamed multipart edits are documented too, so generated clients can send them.
    // Edits need an upload; an edit from the gallery takes the same form without one.
    for (path, form) in [("/api/edits", "EditUploadForm"), ("/api/edits/from-gallery/{image_id}", "EditForm")] {
        let body = &spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"];
        assert_eq!(body, &format!("#/components/schemas/{form}"), "{path} documents its form");
    }
    let form = &spec["components"]["schemas"]["EditForm"];
    assert_eq!(form["required"], serde_json::json!(["prompt"]));
    // One `image` field of repeated parts: generated clients would make one name of `image[]` too.
    assert_eq!(form["properties"]["image"]["items"]["format"], "binary");
    assert!(form["properties"]["image[]"].is_null());
    let upload = &spec["components"]["schemas"]["EditUploadForm"];
    assert_eq!(upload["required"], serde_json::json!(["prompt", "image"]));
    assert_eq!(upload["properties"]["image"]["minItems"], 1);
    assert_eq!(upload["properties"]["image"]["maxItems"], 16);
    // Optional fields are sent as null, and the schema says so.
    let entry = &spec["components"]["schemas"]["GalleryEntry"]["properties"];
    assert_eq!(entry["thumbnail_url"]["nullable"], true);
}

#[tokio::test]
async fn openapi_and_docs_are_served_behind_the_gate() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let response = app.get_with_cookie("/openapi.json", &cookie).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), spec_json());

    let docs = app.get_with_cookie("/docs", &cookie).await;
    assert_eq!(docs.status(), 200);
    let csp = docs.headers()["content-security-policy"].to_str().unwrap().to_string();
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_string();
    let html = docs.text().await.unwrap();
    assert!(html.contains("Redoc.init"));
    assert_eq!(html.matches("<script").count(), html.matches(&format!("<script nonce=\"{nonce}\"")).count());
}
