use std::time::Duration;

use axum::routing::get;
use crosswire::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::*;

const SLOW_CLIENTS: usize = 500;

/// True while the server has neither closed `stream` nor written to it.
fn still_open(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test]
async fn slowloris_sockets_are_closed_at_the_header_timeout_while_others_are_served() {
    let mut config = Config::default();
    config.server.header_read_timeout = Duration::from_secs(5);
    let app = App::with_config(config)
        .route("/", get(|| async { "ok" }))
        .websocket(
            "/ws",
            hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
        );
    let server = start(app).await;

    // Each slow client starts a request and never finishes its headers.
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&head[..1]).await.unwrap();
        slow.push(stream);
    }

    // A normal client is served, over HTTP and WebSocket, while they hang on.
    let response = raw_http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let mut client = connect(&server, "/ws").await;
    send_text(&mut client, "served").await;
    assert_eq!(next_text(&mut client).await, "served");
    let open = slow.iter().filter(|s| still_open(s)).count();
    assert_eq!(open, SLOW_CLIENTS, "slow clients closed before the timeout");

    // One more header byte a second each, until the server closes them all.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5) + PATIENCE;
    let mut sent = 1;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let byte = [head.get(sent).copied().unwrap_or(b'a')];
        sent += 1;
        let mut open = 0;
        for stream in &mut slow {
            if still_open(stream) && stream.write_all(&byte).await.is_ok() {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} slow clients still open past the header timeout"
        );
    }
    // And the server still serves.
    send_text(&mut client, "still served").await;
    assert_eq!(next_text(&mut client).await, "still served");
}

#[tokio::test]
async fn a_socket_that_never_sends_is_closed_at_the_header_timeout() {
    let mut config = Config::default();
    config.server.header_read_timeout = Duration::from_secs(1);
    let app = App::with_config(config).route("/", get(|| async { "ok" }));
    let server = start(app).await;

    // The listener defers a connection until its first bytes (on Linux), but
    // not forever: once the deferral runs out the socket is accepted, and the
    // header timeout closes it like any other that sends too little.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(
        Duration::from_secs(4) + PATIENCE,
        tokio::io::AsyncReadExt::read(&mut silent, &mut byte),
    )
    .await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a silent socket was left open: {closed:?}"
    );

    let response = raw_http(
        server.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
