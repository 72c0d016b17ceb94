//! State shared by every connection of one server: the peer set, the topic
//! index, the WebSocket and SSE settings, and the shutdown signal that event
//! streams watch.
//!
//! One `Shared` exists per running server (no global registry), reached from
//! each [`Peer`] and from the [`ServerHandle`](crate::ServerHandle) given to
//! HTTP handlers.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

use crate::config::{SseConfig, WebSocketConfig};
use crate::pubsub::TopicHub;
use crate::ws::Peer;

#[derive(Debug)]
pub(crate) struct Shared {
    /// Limits and timers applied to every connection.
    pub(crate) websocket: WebSocketConfig,
    /// Keep-alive and queue budget of every event stream.
    pub(crate) sse: SseConfig,
    /// Flips to true when the server starts shutting down. Event stream
    /// bodies watch it to end their responses (an SSE response never ends by
    /// itself, so without it a graceful shutdown would wait on every stream).
    shutdown: watch::Sender<bool>,
    /// Topic → subscribers, sharded by worker; the publish path.
    pub(crate) topics: TopicHub,
    /// Connected peers keyed by a counter, so iteration is insertion order
    /// (what `peer.peers()` promises) and removal is O(log n).
    peers: Mutex<BTreeMap<u64, Peer>>,
    /// Source of peer keys; never reused within a server's life.
    next_key: AtomicU64,
}

impl Shared {
    pub(crate) fn new(websocket: WebSocketConfig, sse: SseConfig, workers: usize) -> Self {
        Self {
            websocket,
            sse,
            shutdown: watch::Sender::new(false),
            topics: TopicHub::new(workers),
            peers: Mutex::new(BTreeMap::new()),
            next_key: AtomicU64::new(1),
        }
    }

    /// A fresh key for a new peer.
    pub(crate) fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    fn lock_peers(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Peer>> {
        self.peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a peer to the set (before its `open` hook runs).
    pub(crate) fn join(&self, peer: &Peer) {
        self.lock_peers().insert(peer.key(), peer.clone());
    }

    /// Removes a peer from the set (before its `close` hook runs).
    pub(crate) fn leave(&self, key: u64) {
        self.lock_peers().remove(&key);
    }

    /// Connected peers in the order they connected.
    pub(crate) fn peers(&self) -> Vec<Peer> {
        self.lock_peers().values().cloned().collect()
    }

    /// Number of connected peers.
    pub(crate) fn peer_count(&self) -> usize {
        self.lock_peers().len()
    }

    /// Tells every event stream, now and later, that the server is stopping.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// True once the server has started shutting down.
    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// A receiver that sees `true` once the server is stopping.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}
