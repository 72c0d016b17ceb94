use std::time::Duration;

use axum::routing::post;
use crosswire::prelude::*;

use crate::support::*;

async fn publish(server: ServerHandle, body: String) -> String {
    let reached = server.publish("chat", json!({ "user": "http", "message": body }));
    format!("reached {reached}")
}

#[tokio::test]
async fn a_plain_post_reaches_every_subscriber_once() {
    let app = App::new()
        .websocket(
            "/ws",
            hooks().open(|peer: Peer| async move {
                peer.subscribe("chat");
                peer.send("joined");
            }),
        )
        .route("/publish", post(publish));
    let server = start(app).await;
    let mut a = connect(&server, "/ws").await;
    let mut b = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut a).await, "joined");
    assert_eq!(next_text(&mut b).await, "joined");

    let response = raw_http(
        server.addr,
        "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert!(response.ends_with("reached 2"), "{response}");
    for client in [&mut a, &mut b] {
        assert_eq!(
            next_json(client).await,
            json!({ "user": "http", "message": "hello" })
        );
        assert_silent(client, Duration::from_millis(100)).await;
    }
}
