//! A chat-like handler for the worker tests, and the checks they share.

use std::collections::HashMap;
use std::num::NonZeroUsize;

use crosswire::config::Workers;
use crosswire::prelude::*;
use futures_util::{SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::support::{Client, PATIENCE, next_text};

/// How many seeds each randomized test runs (`CROSSWIRE_TEST_SEEDS`).
pub fn seeds() -> u64 {
    std::env::var("CROSSWIRE_TEST_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6)
}

/// A small deterministic generator, so a failing seed can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Settings with `workers` worker threads.
pub fn config(workers: usize) -> Config {
    let mut config = Config::default();
    config.server.workers = Workers::Count(NonZeroUsize::new(workers).unwrap());
    config.websocket.send_queue_bytes = 64 << 20;
    config.sse.queue_bytes = 64 << 20;
    config
}

/// The hooks every test serves at `/ws`:
/// - on open: subscribe to `t`, then send `ready`;
/// - `pub SRC SEQ`: publish `SRC SEQ` to `t` (others only);
/// - `burst SRC N`: a task spawned on this worker publishes `SRC 0..N`;
/// - `unsub`: unsubscribe, then send `unsubscribed`;
/// - `sub`: send `subscribing`, subscribe, then send `subscribed`.
pub fn hooks_for_t() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("t");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            let mut words = text.split(' ');
            match words.next() {
                Some("pub") => {
                    let rest: Vec<&str> = words.collect();
                    peer.publish("t", rest.join(" "));
                }
                Some("burst") => {
                    let source = words.next().unwrap_or("?").to_owned();
                    let count: u64 = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                    let publisher = peer.clone();
                    tokio::spawn(async move {
                        for seq in 0..count {
                            publisher.publish("t", format!("{source} {seq}"));
                            if seq % 7 == 0 {
                                tokio::task::yield_now().await;
                            }
                        }
                    });
                }
                Some("unsub") => {
                    peer.unsubscribe("t");
                    peer.send("unsubscribed");
                }
                Some("sub") => {
                    peer.send("subscribing");
                    peer.subscribe("t");
                    peer.send("subscribed");
                }
                _ => {}
            }
        })
}

/// Per-source sequence checking: every source's messages must arrive as
/// 0, 1, 2, ... with nothing missing, doubled or reordered.
#[derive(Debug, Default)]
pub struct Sequences {
    next: HashMap<String, u64>,
    pub received: u64,
}

impl Sequences {
    /// Records `SRC SEQ`; panics naming `who` on a gap, a duplicate or a
    /// reordering.
    pub fn record(&mut self, who: &str, message: &str) {
        let (source, seq) = message
            .split_once(' ')
            .unwrap_or_else(|| panic!("{who}: unexpected message {message:?}"));
        let seq: u64 = seq
            .parse()
            .unwrap_or_else(|_| panic!("{who}: unexpected message {message:?}"));
        let expected = self.next.entry(source.to_owned()).or_insert(0);
        assert_eq!(
            seq, *expected,
            "{who}: from {source} got {seq}, expected {expected}"
        );
        *expected += 1;
        self.received += 1;
    }

    /// Messages seen from `source`.
    pub fn from(&self, source: &str) -> u64 {
        self.next.get(source).copied().unwrap_or(0)
    }
}

/// Reads text messages from `stream` until `expected` were seen, checking
/// each producer's sequence; panics naming `who` on a stall.
pub async fn read_sequences<S>(stream: &mut S, who: &str, expected: u64) -> Sequences
where
    S: Stream<Item = Result<WsMessage, WsError>> + Unpin,
{
    let mut seen = Sequences::default();
    while seen.received < expected {
        let message = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: stalled at {}", seen.received))
            .unwrap()
            .unwrap();
        if let WsMessage::Text(text) = message {
            seen.record(who, &text);
        }
    }
    seen
}

/// Sends `go 0` to `go {rounds - 1}` in one go, so that many arrive in one
/// read and their hooks run in one poll, then reads `ack N` for each, in
/// order.
pub async fn go_and_read_acks(sender: &mut Client, rounds: usize) {
    for n in 0..rounds {
        sender
            .feed(WsMessage::text(format!("go {n}")))
            .await
            .unwrap();
    }
    sender.flush().await.unwrap();
    for n in 0..rounds {
        assert_eq!(next_text(sender).await, format!("ack {n}"));
    }
}
