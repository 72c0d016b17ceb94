//! A burst of messages of a kilobyte or more, published from a few socket
//! reads, is delivered to every other subscriber as runs of frames (joined
//! into one buffer when every frame is small enough, shared frame by frame
//! when not). Whatever the sizes, each subscriber must get every message once,
//! whole and in order, on one worker and across two.

use std::num::NonZeroUsize;

use crosswire::config::{Config, Workers};
use crosswire::prelude::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

/// Subscribes every peer to `room` on open (then says `ready`) and
/// publishes every message to the others.
fn room() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("room");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            peer.publish("room", message.text());
        })
}

/// Message `n` of the burst: its number, then filler that depends on it,
/// `size` bytes in all.
fn message(n: usize, size: usize) -> String {
    let mut text = format!("{n:05} ");
    let filler = b'a' + (n % 26) as u8;
    text.extend(std::iter::repeat_n(char::from(filler), size - text.len()));
    text
}

async fn every_subscriber_gets_the_burst(workers: usize) {
    let mut config = Config::default();
    config.server.workers = Workers::Count(NonZeroUsize::new(workers).unwrap());
    config.websocket.send_queue_bytes = 64 << 20;
    let server = start(App::with_config(config).websocket("/", room())).await;
    let mut subscribers = Vec::new();
    for _ in 0..4 {
        let mut client = connect(&server, "/").await;
        assert_eq!(next_text(&mut client).await, "ready");
        subscribers.push(client);
    }
    let mut publisher = connect(&server, "/").await;
    assert_eq!(next_text(&mut publisher).await, "ready");

    // Sizes around the kilobyte where a frame stops being copied into each
    // queue, and up to 9 000 bytes, all joinable into runs; then frames over
    // the 16 KiB past which a frame keeps its run from being joined, among
    // smaller ones. About 2 MB in all: many socket reads and many runs.
    let joinable = [1000, 1024, 1100, 2048, 3000, 4090, 9000, 700];
    let mixed = [1024, 20_000, 5000, 700];
    let burst: Vec<String> = (0..400)
        .map(|n| match n < 300 {
            true => message(n, joinable[n % joinable.len()]),
            false => message(n, mixed[n % mixed.len()]),
        })
        .collect();
    for text in &burst {
        publisher
            .feed(WsMessage::text(text.as_str()))
            .await
            .unwrap();
    }
    publisher.flush().await.unwrap();

    for (index, subscriber) in subscribers.iter_mut().enumerate() {
        for (n, expected) in burst.iter().enumerate() {
            let received = next_text(subscriber).await;
            assert!(
                received == *expected,
                "subscriber {index}, message {n}: got {} bytes starting {:?}",
                received.len(),
                &received[..received.len().min(12)]
            );
        }
    }
    assert_silent(&mut publisher, std::time::Duration::from_millis(100)).await;
}

#[tokio::test]
async fn on_one_worker() {
    every_subscriber_gets_the_burst(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_workers() {
    every_subscriber_gets_the_burst(2).await;
}
