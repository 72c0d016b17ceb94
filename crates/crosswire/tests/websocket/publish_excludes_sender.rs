use std::time::Duration;

use crosswire::prelude::*;

use crate::support::*;

/// `sub` subscribes, `unsub` unsubscribes, `pub:<text>` publishes to `chat`;
/// every command is acknowledged so the test knows it has run.
fn room() -> impl WebSocketHandler {
    hooks().message(|peer: Peer, message: Message| async move {
        let text = message.text();
        if text == "sub" {
            peer.subscribe("chat");
        } else if text == "unsub" {
            peer.unsubscribe("chat");
        } else if let Some(body) = text.strip_prefix("pub:") {
            peer.publish("chat", body);
        }
        peer.send(format!("ack {text}"));
    })
}

#[tokio::test]
async fn publish_reaches_every_other_subscriber_and_never_the_sender() {
    let server = start(App::new().websocket("/", room())).await;
    let mut a = connect(&server, "/").await;
    let mut b = connect(&server, "/").await;
    let mut c = connect(&server, "/").await;
    for client in [&mut a, &mut b, &mut c] {
        send_text(client, "sub").await;
        assert_eq!(next_text(client).await, "ack sub");
    }
    send_text(&mut a, "pub:hello").await;
    assert_eq!(next_text(&mut a).await, "ack pub:hello");
    assert_eq!(next_text(&mut b).await, "hello");
    assert_eq!(next_text(&mut c).await, "hello");
    assert_silent(&mut a, Duration::from_millis(200)).await;
    assert_silent(&mut b, Duration::from_millis(50)).await;
}

#[tokio::test]
async fn the_sender_need_not_be_subscribed() {
    let server = start(App::new().websocket("/", room())).await;
    let mut a = connect(&server, "/").await;
    let mut b = connect(&server, "/").await;
    send_text(&mut b, "sub").await;
    assert_eq!(next_text(&mut b).await, "ack sub");
    send_text(&mut a, "pub:from outside").await;
    assert_eq!(next_text(&mut a).await, "ack pub:from outside");
    assert_eq!(next_text(&mut b).await, "from outside");
}

#[tokio::test]
async fn server_publish_reaches_each_subscriber_exactly_once() {
    let server = start(App::new().websocket("/", room())).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut client = connect(&server, "/").await;
        send_text(&mut client, "sub").await;
        assert_eq!(next_text(&mut client).await, "ack sub");
        clients.push(client);
    }
    assert_eq!(server.handle.subscriber_count("chat"), 5);
    assert_eq!(server.handle.publish("chat", "to all"), 5);
    for client in &mut clients {
        assert_eq!(next_text(client).await, "to all");
        assert_silent(client, Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn unsubscribed_and_never_subscribed_peers_get_nothing() {
    let server = start(App::new().websocket("/", room())).await;
    let mut gone = connect(&server, "/").await;
    let mut never = connect(&server, "/").await;
    let mut stays = connect(&server, "/").await;
    for (client, cmd) in [(&mut gone, "sub"), (&mut stays, "sub")] {
        send_text(client, cmd).await;
        assert_eq!(next_text(client).await, format!("ack {cmd}"));
    }
    send_text(&mut gone, "unsub").await;
    assert_eq!(next_text(&mut gone).await, "ack unsub");
    assert_eq!(server.handle.publish("chat", "news"), 1);
    assert_eq!(next_text(&mut stays).await, "news");
    assert_silent(&mut gone, Duration::from_millis(200)).await;
    assert_silent(&mut never, Duration::from_millis(50)).await;
}

#[tokio::test]
async fn a_closed_peer_leaves_its_topics() {
    let server = start(App::new().websocket("/", room())).await;
    let mut a = connect(&server, "/").await;
    send_text(&mut a, "sub").await;
    assert_eq!(next_text(&mut a).await, "ack sub");
    assert_eq!(server.handle.subscriber_count("chat"), 1);
    drop(a);
    for _ in 0..100 {
        if server.handle.subscriber_count("chat") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.handle.subscriber_count("chat"), 0);
    assert_eq!(server.handle.peer_count(), 0);
}
