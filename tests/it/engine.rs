use std::time::Duration;

use panel_actors::broadcaster::LiveEvent;

use crate::helpers::*;

#[tokio::test]
async fn a_crashed_broadcaster_is_restarted_while_the_server_keeps_serving() {
    let app = spawn_app().await;
    let engine = &app.state.engine;
    let first = engine.broadcaster_cell().get_id();
    engine.broadcaster_cell().kill();
    for _ in 0..200 {
        if engine.restart_count().await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(engine.restart_count().await.unwrap(), 1);
    assert_ne!(engine.broadcaster_cell().get_id(), first);
    let mut events = engine.subscribe("jobs").await.unwrap();
    let event = LiveEvent { name: "jobs".into(), data: serde_json::json!({"jobs": []}) };
    engine.publish("jobs", event.clone());
    assert_eq!(tokio::time::timeout(Duration::from_secs(2), events.recv()).await.unwrap().unwrap(), event);
    assert_eq!(app.get("/health").await.status(), 200);
}
