//! The mock upstream the engine tests will drive: its four protocols, its knobs and its recording.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::fixtures::png_1x1;
use crate::support::mock_upstream::{ChatMode, MockUpstream};

async fn post_json(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new().post(url).bearer_auth("sk-test").json(&body).send().await.unwrap()
}

#[tokio::test]
async fn generations_answer_b64_or_url_and_record_the_request() {
    let mock = MockUpstream::start().await;
    let body = json!({"model": "gpt-image-1", "prompt": "a fox", "size": "1024x1024", "n": 2, "quality": "high", "output_format": "png"});
    let reply: Value =
        post_json(format!("{}/v1/images/generations", mock.base_url), body.clone()).await.json().await.unwrap();
    let data = reply["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(STANDARD.decode(data[0]["b64_json"].as_str().unwrap()).unwrap(), png_1x1());

    let mut by_url = body.clone();
    by_url["response_format"] = json!("url");
    let reply: Value =
        post_json(format!("{}/openai/v1/images/generations", mock.base_url), by_url).await.json().await.unwrap();
    let url = reply["data"][0]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    assert_eq!(mock.client().get(url).send().await.unwrap().bytes().await.unwrap().to_vec(), png_1x1());

    let recorded = mock.requests_to("/images/generations");
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].json.as_ref().unwrap(), &body);
    assert_eq!(recorded[0].header("authorization"), Some("Bearer sk-test"));
    assert_eq!(recorded[1].path, "/openai/v1/images/generations");
}

#[tokio::test]
async fn edits_record_image_versus_image_array_parts_and_fields() {
    let mock = MockUpstream::start().await;
    let client = reqwest::Client::new();
    let file = |name: &str| {
        reqwest::multipart::Part::bytes(png_1x1()).file_name(name.to_string()).mime_str("image/png").unwrap()
    };
    let single =
        reqwest::multipart::Form::new().part("image", file("one.png")).text("prompt", "make it blue").text("n", "1");
    client.post(format!("{}/v1/images/edits", mock.base_url)).multipart(single).send().await.unwrap();
    let several = reqwest::multipart::Form::new()
        .part("image[]", file("a.png"))
        .part("image[]", file("b.png"))
        .text("prompt", "merge them")
        .text("response_format", "url");
    let reply: Value = client
        .post(format!("{}/v1/images/edits", mock.base_url))
        .multipart(several)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(reply["data"][0]["url"].as_str().unwrap().ends_with("/files/generated.png"));

    let recorded = mock.requests_to("/images/edits");
    assert_eq!(recorded[0].parts_named("image").len(), 1);
    assert!(recorded[0].parts_named("image[]").is_empty());
    assert_eq!(recorded[0].parts_named("prompt")[0].text(), "make it blue");
    let images = recorded[1].parts_named("image[]");
    assert_eq!(images.iter().map(|p| p.file_name.clone().unwrap()).collect::<Vec<_>>(), ["a.png", "b.png"]);
    assert_eq!(images[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(images[0].bytes, png_1x1());
    assert!(recorded[1].parts_named("image").is_empty());
}

#[tokio::test]
async fn responses_return_an_image_generation_call() {
    let mock = MockUpstream::start().await;
    let reply: Value = post_json(format!("{}/v1/responses", mock.base_url), json!({"prompt": "p", "model": "gpt-5.4"}))
        .await
        .json()
        .await
        .unwrap();
    let output = &reply["output"][0];
    assert_eq!(output["type"], "image_generation_call");
    assert_eq!(STANDARD.decode(output["result"].as_str().unwrap()).unwrap(), png_1x1());
    assert_eq!(mock.requests_to("/responses")[0].json.as_ref().unwrap(), &json!({"prompt": "p", "model": "gpt-5.4"}));
}

#[tokio::test]
async fn chat_completions_reply_in_every_style() {
    let mock = MockUpstream::start().await;
    let url = format!("{}/v1/chat/completions", mock.base_url);
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "p"}], "stream": false});
    let content = |reply: Value| reply["choices"][0]["message"]["content"].as_str().unwrap().to_string();

    assert!(
        content(post_json(url.clone(), body.clone()).await.json().await.unwrap()).contains("data:image/png;base64,")
    );
    mock.set_chat_mode(ChatMode::MarkdownLink);
    assert!(
        content(post_json(url.clone(), body.clone()).await.json().await.unwrap())
            .starts_with("![generated image](http")
    );
    mock.set_chat_mode(ChatMode::BareUrl);
    assert!(content(post_json(url.clone(), body.clone()).await.json().await.unwrap()).contains("/files/generated.png"));

    mock.set_chat_mode(ChatMode::Sse);
    let response = post_json(url, body).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let pieces: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter(|data| *data != "[DONE]")
        .map(|data| {
            serde_json::from_str::<Value>(data).unwrap()["choices"][0]["delta"]["content"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(pieces.contains("data:image/png;base64,"));
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn failures_delays_and_recovery_are_controllable() {
    let mock = MockUpstream::start().await;
    let url = format!("{}/v1/images/generations", mock.base_url);
    mock.fail_with(401, "Incorrect API key provided");
    let response = post_json(url.clone(), json!({"prompt": "p"})).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["message"], "Incorrect API key provided");

    mock.fail_with_text(502, "Bad Gateway");
    let response = post_json(url.clone(), json!({"prompt": "p"})).await;
    assert_eq!((response.status().as_u16(), response.text().await.unwrap()), (502, "Bad Gateway".to_string()));

    mock.succeed();
    mock.fail_next(1, 429, "slow down");
    assert_eq!(post_json(url.clone(), json!({"prompt": "p"})).await.status(), 429);
    assert_eq!(post_json(url.clone(), json!({"prompt": "p"})).await.status(), 200);

    // A delayed reply is still pending after the request was recorded.
    mock.set_delay(Duration::from_secs(30));
    let pending = tokio::spawn(post_json(url, json!({"prompt": "slow"})));
    for _ in 0..200 {
        if mock.requests().iter().any(|r| r.json.as_ref().is_some_and(|j| j["prompt"] == "slow")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(mock.requests().iter().any(|r| r.json.as_ref().is_some_and(|j| j["prompt"] == "slow")));
    assert!(!pending.is_finished());
    pending.abort();
}
