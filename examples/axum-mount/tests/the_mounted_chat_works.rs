//! The seed's chat, mounted in the example's axum app and served by
//! `axum::serve`: two clients chat, a plain POST reaches them through the
//! `ServerHandle` extractor, the event stream ticks.

#![allow(clippy::unwrap_used)]

mod support;

use futures_util::SinkExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

use support::*;

#[tokio::test]
async fn two_clients_chat_and_see_each_other_come_and_go() {
    let (addr, _crosswire) = serve().await;
    let mut alice = connect(addr, "/api/ws/chat").await;
    let alice_id = welcome(&mut alice).await;
    let mut bob = connect(addr, "/api/ws/chat").await;
    let bob_id = welcome(&mut bob).await;
    assert_ne!(alice_id, bob_id);
    until_message(&mut alice, &format!("{bob_id} joined!")).await;

    alice.send(Message::text("hello bob")).await.unwrap();
    let heard = until_message(&mut bob, "hello bob").await;
    assert_eq!(heard["user"], alice_id.as_str());
    // The echo to the sender.
    until_message(&mut alice, "hello bob").await;

    bob.send(Message::text("ping")).await.unwrap();
    until_message(&mut bob, "pong").await;

    bob.close(None).await.unwrap();
    until_message(&mut alice, &format!("{bob_id} left!")).await;
}

#[tokio::test]
async fn a_post_publishes_to_the_chat_through_the_server_handle() {
    let (addr, _crosswire) = serve().await;
    let mut alice = connect(addr, "/api/ws/chat").await;
    welcome(&mut alice).await;
    let answer = http(addr, "POST /api/publish HTTP/1.1", "from the REST side").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""reached":1"#), "{answer}");
    let heard = until_message(&mut alice, "from the REST side").await;
    assert_eq!(heard["user"], "http");
}

#[tokio::test]
async fn the_event_stream_ticks() {
    let (addr, _crosswire) = serve().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET /api/sse HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(stream).lines();
    let mut head = Vec::new();
    let event = tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.starts_with("data: ") {
                return line;
            }
            head.push(line);
        }
    })
    .await
    .unwrap();
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(
        head.iter()
            .any(|h| h.eq_ignore_ascii_case("content-type: text/event-stream")),
        "{head:?}"
    );
    assert!(event.starts_with("data: Message @ "), "{event}");
}
