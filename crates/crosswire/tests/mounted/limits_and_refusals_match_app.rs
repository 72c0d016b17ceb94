use std::time::Duration;

use axum::Router;
use crosswire::prelude::*;
use tokio::net::TcpStream;

use crate::support::*;
use crate::{connect, mounted};

fn echo(crosswire: &Crosswire) -> Router {
    Router::new().route(
        "/echo",
        crosswire.websocket(
            hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
        ),
    )
}

#[tokio::test]
async fn past_max_connections_an_upgrade_gets_503_until_one_leaves() {
    let mut config = Config::default();
    config.server.max_connections = 2;
    let (addr, _crosswire) = mounted(config, echo).await;
    let first = connect(addr, "/echo").await;
    let mut second = connect(addr, "/echo").await;
    let (_, head) =
        upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/echo", "").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );

    drop(first);
    // The slot frees once the first connection's tasks end.
    tokio::time::timeout(PATIENCE, async {
        loop {
            let (_, head) =
                upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/echo", "").await;
            if head.starts_with("HTTP/1.1 101") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    send_text(&mut second, "still served").await;
    assert_eq!(next_text(&mut second).await, "still served");
}

#[tokio::test]
async fn past_max_connections_per_ip_an_upgrade_gets_503() {
    let mut config = Config::default();
    config.server.max_connections_per_ip = 1;
    config.metrics.enabled = true;
    let (addr, crosswire) = mounted(config, echo).await;
    let mut first = connect(addr, "/echo").await;
    let (_, head) =
        upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/echo", "").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    send_text(&mut first, "still served").await;
    assert_eq!(next_text(&mut first).await, "still served");
    let metrics = crosswire.handle().metrics_text().unwrap();
    assert!(
        metrics
            .contains("crosswire_connections_refused_total{reason=\"max_connections_per_ip\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn handshakes_past_the_per_address_rate_get_429() {
    let mut config = Config::default();
    config.server.max_handshakes_per_ip_per_second = 2;
    let (addr, _crosswire) = mounted(config, echo).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (_, head) =
            upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/echo", "").await;
        statuses.push(head[9..12].to_owned());
    }
    assert_eq!(statuses[..2], ["101", "101"]);
    assert!(statuses[2..].iter().any(|s| s == "429"), "{statuses:?}");
}

#[tokio::test]
async fn disabled_websockets_answer_501() {
    let mut config = Config::default();
    config.websocket.enabled = false;
    let (addr, _crosswire) = mounted(config, echo).await;
    let (_, head) =
        upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/echo", "").await;
    assert!(head.starts_with("HTTP/1.1 501"), "{head}");
}

#[tokio::test]
async fn a_flood_of_messages_is_closed_with_1008() {
    let mut config = Config::default();
    config.websocket.max_messages_per_second = 5;
    config.websocket.message_burst = 5;
    config.websocket.on_message_rate = crosswire::OverflowPolicy::Close;
    let (addr, _crosswire) = mounted(config, echo).await;
    let mut client = connect(addr, "/echo").await;
    for _ in 0..50 {
        if futures_util::SinkExt::send(
            &mut client,
            tokio_tungstenite::tungstenite::Message::text("flood"),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    let close = next_close(&mut client).await.unwrap();
    assert_eq!(u16::from(close.code), 1008);
}

#[tokio::test]
async fn a_declared_length_over_the_limit_closes_1009_before_the_payload() {
    let mut config = Config::default();
    config.websocket.max_message_size = 1024;
    config.websocket.max_frame_size = 1024;
    let (addr, _crosswire) = mounted(config, echo).await;
    let mut raw = raw_upgrade(addr, "/echo").await;
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    tokio::io::AsyncWriteExt::write_all(&mut raw, &header)
        .await
        .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1009));
}

#[tokio::test]
async fn an_upgrade_from_a_foreign_origin_gets_403_before_any_hook() {
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&opened);
    let (addr, _crosswire) = mounted(Config::default(), move |crosswire| {
        Router::new().route(
            "/echo",
            crosswire.websocket(hooks().upgrade(move |_request: UpgradeRequest| {
                let seen = std::sync::Arc::clone(&seen);
                async move {
                    seen.store(true, std::sync::atomic::Ordering::SeqCst);
                    Ok(Accept::new())
                }
            })),
        )
    })
    .await;
    let (_, head) = upgrade_answer(
        TcpStream::connect(addr).await.unwrap(),
        addr,
        "/echo",
        "Origin: http://evil.example\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(!opened.load(std::sync::atomic::Ordering::SeqCst));
}
