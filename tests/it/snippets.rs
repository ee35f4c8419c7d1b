use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::settings_api::api;

async fn json_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn snippets_are_created_listed_searched_updated_and_deleted() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let created = app
        .same_origin(Method::POST, "/api/prompt-snippets")
        .header("cookie", &cookie)
        .json(&json!({"title": "  Red panda  ", "prompt": " a red panda in the snow "}))
        .send()
        .await
        .unwrap();
    let text = created.text().await.unwrap();
    let keys = ["\"id\"", "\"title\"", "\"prompt\"", "\"favorite\"", "\"created_at\"", "\"updated_at\""];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    let panda: Value = serde_json::from_str(&text).unwrap();
    let id = panda["id"].as_str().unwrap();
    assert!(id.starts_with("ps_") && id.len() == 19, "{id}");
    assert_eq!(
        (panda["title"].as_str(), panda["prompt"].as_str()),
        (Some("Red panda"), Some("a red panda in the snow"))
    );
    assert_eq!(panda["favorite"], false);
    assert!(panda["created_at"].as_str().unwrap().ends_with("+00:00"));

    let fox = json_of(
        api(
            &app,
            &cookie,
            Method::POST,
            "/api/prompt-snippets",
            Some(json!({"title": "Fox 100%_\\", "prompt": "雪地里的狐狸", "favorite": "yes"})),
        )
        .await,
    )
    .await;
    assert_eq!(fox["favorite"], true, "lax booleans as before");
    json_of(
        api(&app, &cookie, Method::POST, "/api/prompt-snippets", Some(json!({"title": "Owl", "prompt": "an owl"})))
            .await,
    )
    .await;

    let all = json_of(app.get_with_cookie("/api/prompt-snippets", &cookie).await).await;
    let titles: Vec<&str> = all["snippets"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Fox 100%_\\", "Owl", "Red panda"], "favorites first, then newest");

    for (query, expected) in [
        ("PANDA", vec!["Red panda"]),
        ("狐狸", vec!["Fox 100%_\\"]),
        ("100%", vec!["Fox 100%_\\"]),
        ("%", vec!["Fox 100%_\\"]),
        ("_\\", vec!["Fox 100%_\\"]),
        ("zebra", vec![]),
    ] {
        let found =
            json_of(app.get_with_cookie(&format!("/api/prompt-snippets?query={}", urlencode(query)), &cookie).await)
                .await;
        let titles: Vec<&str> =
            found["snippets"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
        assert_eq!(titles, expected, "{query}");
        let searched = json_of(
            api(&app, &cookie, Method::POST, "/api/prompt-snippets/search", Some(json!({"query": query}))).await,
        )
        .await;
        assert_eq!(searched, found);
    }

    let path = format!("/api/prompt-snippets/{id}");
    let unchanged = json_of(api(&app, &cookie, Method::PATCH, &path, Some(json!({}))).await).await;
    assert_eq!(unchanged, panda, "an empty patch changes nothing, not even updated_at");
    let starred =
        json_of(api(&app, &cookie, Method::PATCH, &path, Some(json!({"favorite": true, "title": null}))).await).await;
    assert_eq!((starred["favorite"].clone(), starred["title"].clone()), (json!(true), json!("Red panda")));
    assert!(starred["updated_at"].as_str().unwrap() > panda["updated_at"].as_str().unwrap());
    let first = json_of(app.get_with_cookie("/api/prompt-snippets", &cookie).await).await;
    assert_eq!(first["snippets"][0]["id"], id, "the most recently updated favorite leads");

    let deleted = json_of(api(&app, &cookie, Method::DELETE, &path, None).await).await;
    assert_eq!(deleted, json!({"status": "ok", "message": "Deleted prompt snippet"}));
    assert_envelope(
        api(&app, &cookie, Method::DELETE, &path, None).await,
        404,
        "not_found",
        "Prompt snippet not found",
    )
    .await;
    assert_envelope(
        api(&app, &cookie, Method::PATCH, &path, Some(json!({"favorite": false}))).await,
        404,
        "not_found",
        "Prompt snippet not found",
    )
    .await;
}

#[tokio::test]
async fn snippet_input_is_validated() {
    let app = spawn_app().await;
    let cookie = app.unlock().await;
    let cases = [
        (json!({"title": "t"}), "prompt - Field required"),
        (json!({"title": "", "prompt": "p"}), "title - String should have at least 1 character"),
        (json!({"title": "   ", "prompt": "p"}), "title - value must not be empty"),
        (json!({"title": "t".repeat(161), "prompt": "p"}), "title - String should have at most 160 characters"),
        (json!({"title": "t", "prompt": "p".repeat(4001)}), "prompt - String should have at most 4000 characters"),
        (json!({"title": "t", "prompt": "p", "favorite": "maybe"}), "favorite - Input should be a valid boolean"),
        (json!({"title": "t", "prompt": "p", "tags": []}), "tags - Extra inputs are not permitted"),
    ];
    for (body, detail) in cases {
        let response = api(&app, &cookie, Method::POST, "/api/prompt-snippets", Some(body)).await;
        assert_envelope(response, 422, "validation_error", detail).await;
    }
    let long = "q".repeat(4001);
    let response = app.get_with_cookie(&format!("/api/prompt-snippets?query={long}"), &cookie).await;
    assert_envelope(response, 422, "validation_error", "query - String should have at most 4000 characters").await;
    assert_eq!(json_of(app.get_with_cookie("/api/prompt-snippets", &cookie).await).await, json!({"snippets": []}));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
