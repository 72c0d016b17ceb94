//! With `[server] max_handshakes_per_ip_per_second` set, one address that
//! upgrades faster gets `429 Too Many Requests` with `Retry-After`, its
//! open connections keep working, and it is served again a second later.
//! Without the setting (the default) nothing is limited.

use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn echo(config: Config) -> App {
    App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

/// The status line and headers the server answers an upgrade with.
async fn upgrade_head(server: &TestServer) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(upgrade_request(server.addr, "/", "").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

#[tokio::test]
async fn handshakes_past_the_per_address_rate_get_429() {
    let mut config = Config::default();
    config.server.max_handshakes_per_ip_per_second = 5;
    let server = start(echo(config)).await;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..8 {
        let (stream, head) = upgrade_head(&server).await;
        if head.starts_with("HTTP/1.1 101") {
            accepted.push(stream);
        } else {
            refused.push(head);
        }
    }
    assert_eq!(accepted.len(), 5, "{refused:?}");
    for head in &refused {
        assert!(head.starts_with("HTTP/1.1 429"), "{head}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1"),
            "{head}"
        );
    }
    // The accepted connections still work.
    let mut stream = accepted.pop().unwrap();
    stream.write_all(&client_frame(0x81, b"hi")).await.unwrap();
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).await.unwrap();
    assert_eq!(echo, [0x81, 2, b'h', b'i']);
    // A second later the address has its allowance back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, head) = upgrade_head(&server).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

#[tokio::test]
async fn by_default_handshakes_are_not_limited() {
    let server = start(echo(Config::default())).await;
    for _ in 0..50 {
        let (_, head) = upgrade_head(&server).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    }
}
