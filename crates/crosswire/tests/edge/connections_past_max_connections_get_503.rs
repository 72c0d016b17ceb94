use std::num::NonZeroUsize;
use std::time::Duration;

use axum::routing::get;
use crosswire::config::Workers;
use crosswire::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::*;

fn app(max_connections: usize, workers: usize) -> App {
    let mut config = Config::default();
    config.server.max_connections = max_connections;
    config.server.workers = Workers::Count(NonZeroUsize::new(workers).unwrap());
    App::with_config(config)
        .websocket(
            "/ws",
            hooks().open(|peer: Peer| async move { peer.send("hello") }),
        )
        .route("/", get(|| async { "ok" }))
}

fn assert_refused(response: &str) {
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1\r\n"), "{response}");
    assert!(lower.contains("connection: close\r\n"), "{response}");
}

/// A new connection served once one of the full set has left (the count
/// drops when the server has seen the close, so this retries until then).
async fn served_after_a_slot_frees(server: &TestServer) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = raw_http(
            server.addr,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        if response.starts_with("HTTP/1.1 200") {
            return;
        }
        assert_refused(&response);
        assert!(tokio::time::Instant::now() < deadline, "no slot freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn the_connection_past_the_limit_gets_503(workers: usize) {
    let server = start(app(3, workers)).await;
    let mut peers = Vec::new();
    for _ in 0..3 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "hello");
        peers.push(client);
    }

    // Plain HTTP and upgrades alike are refused, with a retry hint.
    let response = raw_http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_refused(&response);
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/ws", "")).await;
    assert_refused(&response);

    // Refused sockets that never finish their request do not stop the
    // accept loop: others are still accepted and answered meanwhile.
    let mut silent = Vec::new();
    for _ in 0..50 {
        let mut stalled = TcpStream::connect(server.addr).await.unwrap();
        stalled.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        silent.push(stalled);
    }
    let response = raw_http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_refused(&response);

    // The peers already in are untouched.
    send_text(&mut peers[0], "still here").await;
    drop(peers.pop());
    served_after_a_slot_frees(&server).await;
    // That request's own connection may still be counted for an instant.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut client = loop {
        match tokio_tungstenite::connect_async(server.url("/ws")).await {
            Ok((client, _)) => break client,
            Err(error) => assert!(tokio::time::Instant::now() < deadline, "{error}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(next_text(&mut client).await, "hello");
}

#[tokio::test]
async fn with_one_worker() {
    the_connection_past_the_limit_gets_503(1).await;
}

#[tokio::test]
async fn with_two_workers() {
    the_connection_past_the_limit_gets_503(2).await;
}

#[tokio::test]
async fn past_1024_refusals_in_flight_new_connections_are_closed_unanswered() {
    let server = start(app(1, 1)).await;
    let mut client = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut client).await, "hello");

    // Each stalled socket holds one refusal in flight (hyper waits for the
    // rest of its request head); the accept loop takes connections in order.
    // They send a first line: a socket that sends nothing at all is not even
    // accepted yet (the listener defers it until its first bytes).
    let mut silent = Vec::new();
    for _ in 0..1024 {
        let mut stalled = TcpStream::connect(server.addr).await.unwrap();
        stalled.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        silent.push(stalled);
    }
    let response = raw_http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(response, "", "answered past the refusal bound");

    // Once those leave, refusals are answered again.
    drop(silent);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = raw_http(
            server.addr,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        if !response.is_empty() {
            assert_refused(&response);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 503 after the flood"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
