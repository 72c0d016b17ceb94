use crosswire::prelude::*;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

#[derive(serde::Serialize)]
struct Note {
    user: String,
    n: u32,
}

#[tokio::test]
async fn sent_and_published_json_are_compact_text_frames() {
    let handler = hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("t");
        })
        .message(|peer: Peer, _message: Message| async move {
            peer.send(json!({ "user": "server", "message": "hi" }));
            peer.send_json(&Note {
                user: "me".into(),
                n: 7,
            })
            .unwrap();
            peer.publish("t", json!({ "published": true }));
        });
    let server = start(App::new().websocket("/", handler)).await;
    let mut sender = connect(&server, "/").await;
    let mut listener = connect(&server, "/").await;
    // `open` subscribes after the handshake; publish only once both have.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("t") < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    send_text(&mut sender, "go").await;
    assert_eq!(
        next(&mut sender).await,
        WsMessage::text(r#"{"user":"server","message":"hi"}"#)
    );
    assert_eq!(
        next(&mut sender).await,
        WsMessage::text(r#"{"user":"me","n":7}"#)
    );
    assert_eq!(
        next(&mut listener).await,
        WsMessage::text(r#"{"published":true}"#)
    );
    server.handle.publish("t", json!([1, 2]));
    assert_eq!(next(&mut listener).await, WsMessage::text("[1,2]"));
}

#[tokio::test]
async fn strings_numbers_and_booleans_are_text_and_bytes_are_binary() {
    let handler = hooks().open(|peer: Peer| async move {
        peer.send("plain");
        peer.send(42);
        peer.send(true);
        peer.send(vec![0u8, 159, 146, 150]);
    });
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    assert_eq!(next(&mut client).await, WsMessage::text("plain"));
    assert_eq!(next(&mut client).await, WsMessage::text("42"));
    assert_eq!(next(&mut client).await, WsMessage::text("true"));
    assert_eq!(
        next(&mut client).await,
        WsMessage::binary(vec![0u8, 159, 146, 150])
    );
}
