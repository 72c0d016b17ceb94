//! The chat keeps history for `chat`: messages carry their position as
//! `id`, `/api/chat/events` gives it as the event id, and a page or an
//! event stream that reconnects with its last id gets what it missed, once,
//! in order.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crosswire::HistoryConfig;
use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

crosswire::include_routes!();

const PATIENCE: Duration = Duration::from_secs(5);

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The app as main.rs configures it.
async fn start() -> SocketAddr {
    let mut config = Config::default();
    config.history.push(HistoryConfig::for_topics(["chat"]));
    let server = routes(App::with_config(config))
        .listen_on("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending::<()>()));
    addr
}

async fn next_json(client: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("a message in time")
            .unwrap()
            .unwrap();
        if let WsMessage::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// The next message with this text, skipping the others.
async fn next_said(client: &mut Client, text: &str) -> Value {
    loop {
        let message = next_json(client).await;
        if message["message"] == text {
            return message;
        }
    }
}

/// Opens `/api/chat/events`, with `Last-Event-ID` when given.
async fn events(addr: SocketAddr, last_id: Option<&str>) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let last = last_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let request = format!(
        "GET /api/chat/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{last}\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads into `received` until it holds `until`.
async fn read_until(stream: &mut TcpStream, received: &mut String, until: &str) {
    let mut buffer = [0; 4096];
    while !received.contains(until) {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("events in time")
            .unwrap();
        assert!(n > 0, "the stream ended: {received}");
        received.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
}

/// The `id:` lines, in order.
fn ids(received: &str) -> Vec<&str> {
    received
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .collect()
}

#[tokio::test]
async fn chat_history_replays_what_a_reconnecting_client_missed() {
    let addr = start().await;
    let (mut alice, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws/chat"))
        .await
        .unwrap();
    let mut sse = events(addr, None).await;
    let mut live = String::new();
    read_until(&mut sse, &mut live, "\r\n\r\n").await;
    // Both joined before the first message.
    tokio::time::sleep(Duration::from_millis(100)).await;

    alice.send(WsMessage::text("one")).await.unwrap();
    let one = next_said(&mut alice, "one").await;
    let one_id = one["id"].as_str().unwrap().to_owned();
    read_until(&mut sse, &mut live, "\"one\"").await;
    assert_eq!(ids(&live).last(), Some(&one_id.as_str()));
    drop(sse);

    alice.send(WsMessage::text("two")).await.unwrap();
    alice.send(WsMessage::text("three")).await.unwrap();
    next_said(&mut alice, "three").await;
    let mut post = TcpStream::connect(addr).await.unwrap();
    post.write_all(
        b"POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfour",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    post.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let four = next_said(&mut alice, "four").await;
    assert_eq!(four["user"], "http");

    // The event stream comes back after "one": two, three, four, in order.
    let mut sse = events(addr, Some(&one_id)).await;
    let mut replayed = String::new();
    read_until(&mut sse, &mut replayed, "\"four\"").await;
    assert!(!replayed.contains("event: recovery"), "{replayed}");
    let said: Vec<_> = ["\"two\"", "\"three\"", "\"four\""]
        .iter()
        .map(|text| replayed.find(text).unwrap())
        .collect();
    assert!(said.windows(2).all(|w| w[0] < w[1]), "{replayed}");
    assert_eq!(replayed.matches("\"two\"").count(), 1);
    assert_eq!(ids(&replayed).last(), Some(&four["id"].as_str().unwrap()));

    // A page coming back with ?since=<one> gets the same three, once.
    let (mut bob, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws/chat?since={one_id}"))
            .await
            .unwrap();
    let welcome = next_json(&mut bob).await;
    assert!(welcome["message"].as_str().unwrap().starts_with("Welcome "));
    for text in ["two", "three", "four"] {
        let message = next_json(&mut bob).await;
        assert_eq!(message["message"], text, "{message}");
    }
    // Then live (its own arrival went to the others only).
    alice.send(WsMessage::text("five")).await.unwrap();
    let five = next_json(&mut bob).await;
    assert_eq!(five["message"], "five", "{five}");
}
