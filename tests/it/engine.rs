use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn a_crashed_exporter_is_restarted_while_the_server_keeps_serving() {
    let app = spawn_app().await;
    let engine = &app.state.engine;
    let first = engine.exporter_cell().get_id();
    engine.exporter_cell().kill();
    for _ in 0..200 {
        if engine.restart_count().await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(engine.restart_count().await.unwrap(), 1);
    assert_ne!(engine.exporter_cell().get_id(), first);
    let cookie = app.unlock().await;
    let reply = app
        .same_origin(reqwest::Method::POST, "/api/gallery/direct-export-jobs")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_envelope(reply, 404, "not_found", "No images in gallery").await;
    assert_eq!(app.get("/health").await.status(), 200);
}
