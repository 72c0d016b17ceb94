use std::time::Duration;

use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

async fn wait_for_subscribers(server: &TestServer, topic: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count(topic) != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic} has {} subscribers, expected {count}",
            server.handle.subscriber_count(topic)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn peers_and_the_server_publish_to_subscribed_streams() {
    let chat = hooks()
        .open(|peer: Peer| async move { peer.subscribe("chat") })
        .message(|peer: Peer, message: Message| async move {
            peer.publish(
                "chat",
                json!({ "user": peer.to_string(), "message": message.to_string() }),
            );
        });
    let (route, mut streams) = stream_route(|stream| stream.subscribe("chat"));
    let app = App::new().websocket("/ws", chat).route("/events", route);
    let server = start(app).await;

    let mut first = SseClient::get(server.addr, "/events", "").await;
    let mut second = SseClient::get(server.addr, "/events", "").await;
    let first_stream = next_stream(&mut streams).await;
    let _second_stream = next_stream(&mut streams).await;
    assert_eq!(first_stream.topics(), ["chat"]);
    let mut sender = connect(&server, "/ws").await;
    let mut listener = connect(&server, "/ws").await;
    wait_for_subscribers(&server, "chat", 4).await;

    // A peer's publish: JSON text, one data line.
    let sender_id = server.handle.peers()[0].to_string();
    send_text(&mut sender, "hello").await;
    let expected = format!("data: {{\"user\":\"{sender_id}\",\"message\":\"hello\"}}\n\n");
    assert_eq!(first.next_data().await, expected);
    assert_eq!(second.next_data().await, expected);
    next_json(&mut listener).await;

    // A server publish reaches streams and peers alike, each once.
    assert_eq!(server.handle.publish("chat", "line one\nline two"), 4);
    for client in [&mut first, &mut second] {
        assert_eq!(
            client.next_data().await,
            "data: line one\ndata: line two\n\n"
        );
    }
    assert_eq!(next_text(&mut listener).await, "line one\nline two");

    // Binary has no event form: only peers get it.
    assert_eq!(server.handle.publish("chat", vec![0u8, 1, 2]), 2);
    assert_eq!(server.handle.publish("chat", "after binary"), 4);
    assert_eq!(first.next_data().await, "data: after binary\n\n");

    // Unsubscribing stops delivery to that stream only.
    first_stream.unsubscribe("chat");
    assert!(first_stream.topics().is_empty());
    assert_eq!(server.handle.publish("chat", "second only"), 3);
    assert_eq!(second.next_data().await, "data: after binary\n\n");
    assert_eq!(second.next_data().await, "data: second only\n\n");
    first_stream.push("direct");
    assert_eq!(first.next_data().await, "data: direct\n\n");
}
