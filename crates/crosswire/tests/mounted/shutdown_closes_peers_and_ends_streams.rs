use axum::Router;
use axum::routing::get;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;
use crate::{connect, mounted};

#[tokio::test]
async fn shutdown_closes_every_peer_ends_streams_and_refuses_new_ones() {
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&closed);
    let (addr, crosswire) = mounted(Config::default(), move |crosswire| {
        let handler = hooks().close(move |_peer: Peer, _info: CloseInfo| {
            let count = std::sync::Arc::clone(&count);
            async move {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        Router::new()
            .route("/ws", crosswire.websocket(handler))
            .route(
                "/events",
                get(|stream: EventStream| async move {
                    stream.push("hello");
                    stream.send()
                }),
            )
            .layer(crosswire.layer())
    })
    .await;
    let mut a = connect(addr, "/ws").await;
    let mut b = connect(addr, "/ws").await;
    let mut events = TcpStream::connect(addr).await.unwrap();
    events
        .write_all(
            format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("data: hello") {
        let n = tokio::time::timeout(PATIENCE, events.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        seen.extend_from_slice(&buf[..n]);
    }

    let drained = tokio::spawn(crosswire.shutdown());
    assert_eq!(u16::from(next_close(&mut a).await.unwrap().code), 1001);
    assert_eq!(u16::from(next_close(&mut b).await.unwrap().code), 1001);
    drop((a, b));
    tokio::time::timeout(PATIENCE, drained)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.load(std::sync::atomic::Ordering::SeqCst), 2);

    // The event stream's response ended (its final chunk arrived).
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            let n = events.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
            if n == 0 || seen.ends_with(b"0\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "{}", String::from_utf8_lossy(&seen));

    let (_, head) = upgrade_answer(TcpStream::connect(addr).await.unwrap(), addr, "/ws", "").await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    let refused = raw_http(
        addr,
        &format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
}
