use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::sync::mpsc;

use crate::support::*;

#[tokio::test]
async fn a_peer_that_stops_reading_is_closed_with_1008_and_holds_bounded_memory() {
    const BUDGET: usize = 64 * 1024;
    let mut config = Config::default();
    config.websocket.send_queue_bytes = BUDGET;
    config.websocket.close_timeout = Duration::from_millis(500);
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let (tx_err, tx_close) = (tx.clone(), tx);
    let handler = hooks()
        .open(|peer: Peer| async move { peer.subscribe("feed") })
        .error(move |_peer: Peer, error: WebSocketError| {
            let tx = tx_err.clone();
            async move {
                let _ = tx.send(format!("error {}", error.close_code()));
            }
        })
        .close(move |_peer: Peer, close: CloseInfo| {
            let tx = tx_close.clone();
            async move {
                let _ = tx.send(format!("close {}", close.code));
            }
        });
    let server = start(App::with_config(config).websocket("/", handler)).await;

    // The slow peer upgrades and then never reads.
    let _slow = raw_upgrade(server.addr, "/").await;
    let mut fast = connect(&server, "/").await;
    while server.handle.subscriber_count("feed") < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let slow_peer = server.handle.peers()[0].clone();

    // Far more than the kernel's socket buffers and the budget together.
    let chunk = "z".repeat(16 * 1024);
    let mut most_buffered = 0;
    let mut sent = 0;
    for _ in 0..4000 {
        server.handle.publish("feed", chunk.as_str());
        sent += 1;
        most_buffered = most_buffered.max(slow_peer.buffered_amount());
        // The fast reader keeps up.
        assert_eq!(next_text(&mut fast).await.len(), chunk.len());
        if !slow_peer.is_open() {
            break;
        }
    }
    assert!(!slow_peer.is_open(), "the slow peer was never closed");
    assert!(
        most_buffered <= BUDGET + chunk.len() + 16,
        "held {most_buffered} bytes for a slow peer with a {BUDGET}-byte budget"
    );
    let first = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    let second = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("error 1008", "close 1008")
    );

    // Everyone else is still served.
    server.handle.publish("feed", "after");
    assert_eq!(next_text(&mut fast).await, "after");
    assert_eq!(server.handle.subscriber_count("feed"), 1);
    assert!(sent > 1);
}
