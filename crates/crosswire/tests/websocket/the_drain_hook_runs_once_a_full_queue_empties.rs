//! The `drain` hook: a producer fills a slow client's send queue past half
//! of `send_queue_bytes` and stops; once the client reads and the queue is
//! written down to an eighth, `drain` runs (once per such episode) and the
//! producer goes on. Nothing is lost and the overflow policy never applies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::AsyncReadExt;

use crate::support::*;

const QUEUE: usize = 256 << 10;
const CHUNK: usize = 8 << 10;
/// Chunks sent in all: many times what the queue and the kernel's socket
/// buffers hold.
const CHUNKS: usize = 2000;

/// Sends chunks while the queue is under half full; `drain` sends more.
async fn produce(peer: &Peer, sent: &AtomicUsize) {
    while sent.load(Ordering::SeqCst) < CHUNKS && peer.buffered_amount() <= QUEUE / 2 {
        let n = sent.fetch_add(1, Ordering::SeqCst);
        peer.send(vec![(n % 251) as u8; CHUNK]);
    }
}

#[tokio::test]
async fn the_drain_hook_runs_once_a_full_queue_empties() {
    let mut config = Config::default();
    config.websocket.send_queue_bytes = QUEUE;
    let sent = Arc::new(AtomicUsize::new(0));
    let drains = Arc::new(AtomicUsize::new(0));
    let (on_open, on_drain, counted) = (Arc::clone(&sent), Arc::clone(&sent), Arc::clone(&drains));
    let handler = hooks()
        .open(move |peer: Peer| {
            let sent = Arc::clone(&on_open);
            async move { produce(&peer, &sent).await }
        })
        .drain(move |peer: Peer| {
            let (sent, drains) = (Arc::clone(&on_drain), Arc::clone(&counted));
            async move {
                drains.fetch_add(1, Ordering::SeqCst);
                produce(&peer, &sent).await;
            }
        });
    let server = start(App::with_config(config).websocket("/", handler)).await;

    // The client waits before reading, so the first chunks fill the queue.
    let mut raw = raw_upgrade(server.addr, "/").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_round = sent.load(Ordering::SeqCst);
    // Paused: what is sent so far sits in the queue and the kernel's
    // buffers, and only `drain` will send more.
    assert!(first_round < CHUNKS, "the producer did not pause");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        sent.load(Ordering::SeqCst),
        first_round,
        "sent while nothing drained"
    );

    // Reading everything: every chunk arrives, in order.
    let frame = 4 + CHUNK;
    let mut bytes = vec![0u8; CHUNKS * frame];
    tokio::time::timeout(PATIENCE * 2, raw.read_exact(&mut bytes))
        .await
        .expect("not every chunk arrived")
        .unwrap();
    for (n, chunk) in bytes.chunks(frame).enumerate() {
        assert_eq!(chunk[..2], [0x82, 126], "chunk {n} is not a binary frame");
        assert!(
            chunk[4..].iter().all(|&b| b == (n % 251) as u8),
            "chunk {n} out of order"
        );
    }
    assert_eq!(sent.load(Ordering::SeqCst), CHUNKS);
    let drains = drains.load(Ordering::SeqCst);
    assert!(drains >= 1, "drain never ran");
    // One drain per time the producer filled the queue, not one per write.
    assert!(
        drains <= CHUNKS * CHUNK / (QUEUE / 2) + 1,
        "{drains} drains"
    );
    assert!(server.handle.peers()[0].is_open());
}
