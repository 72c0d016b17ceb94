//! With `[server] max_handshakes_per_ip_per_second` set, one address that
//! upgrades faster gets `429 Too Many Requests` with `Retry-After`, its
//! open connections keep working, and it is served again a second later.
//! Without the setting (the default) nothing is limited.

use std::time::Duration;

use crosswire::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// The status line and headers the server answers an upgrade with.
async fn upgrade_head(server: &TestServer) -> (TcpStream, String) {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    upgrade_answer(stream, server.addr, "/", "").await
}

#[tokio::test]
async fn handshakes_past_the_per_address_rate_get_429() {
    let mut config = Config::default();
    config.server.max_handshakes_per_ip_per_second = 5;
    let server = start(echo_app(config)).await;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..8 {
        let (stream, head) = upgrade_head(&server).await;
        if head.starts_with("HTTP/1.1 101") {
            accepted.push(stream);
        } else {
            refused.push(head);
        }
    }
    // Five at once, and one more per 200 ms the attempts took on a slow
    // machine.
    let refilled = (started.elapsed().as_secs_f64() * 5.0).ceil() as usize;
    assert!(
        (5..=5 + refilled).contains(&accepted.len()) && !refused.is_empty(),
        "{} accepted: {refused:?}",
        accepted.len()
    );
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
    let server = start(echo_app(Config::default())).await;
    for _ in 0..50 {
        let (_, head) = upgrade_head(&server).await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    }
}
