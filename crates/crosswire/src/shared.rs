//! State shared by every connection of one server: the peer set, the topic
//! index, the WebSocket and SSE settings, and the shutdown signal that event
//! streams watch.
//!
//! One `Shared` exists per running server (no global registry), reached from
//! each [`Peer`] and from the [`ServerHandle`](crate::ServerHandle) given to
//! HTTP handlers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::broker::node::NodeBroker;
use crate::broker::{Broker, BrokerLink, link::ErrorCallback};
use crate::config::{MetricsConfig, SseConfig, WebSocketConfig};
use crate::history::{HistoryStore, Published, StreamPosition};
use crate::metrics::Metrics;
use crate::pubsub::TopicHub;
use crate::ws::outbox::OutFrame;
use crate::ws::queue_budget::QueueBudget;
use crate::ws::{Payload, Peer};
use crosswire_proto::DecoderConfig;

#[derive(Debug)]
pub(crate) struct Shared {
    /// Limits and timers applied to every connection.
    pub(crate) websocket: WebSocketConfig,
    /// `websocket`'s frame and message limits as the decoder takes them,
    /// shared by every connection that inflates nothing.
    pub(crate) decoder_config: Arc<DecoderConfig>,
    /// Keep-alive and queue budget of every event stream.
    pub(crate) sse: SseConfig,
    /// Flips to true when the server starts shutting down. Event stream
    /// bodies watch it to end their responses (an SSE response never ends by
    /// itself, so without it a graceful shutdown would wait on every stream).
    shutdown: watch::Sender<bool>,
    /// Topic → subscribers, sharded by worker; the publish path.
    pub(crate) topics: TopicHub,
    /// Per worker, where its parked connections' sockets are watched
    /// (`ws/lot.rs`).
    #[cfg(unix)]
    lots: Box<[crate::ws::LotSlot]>,
    /// The recent publishes of the topics `[[history]]` names.
    pub(crate) history: HistoryStore,
    /// What all WebSocket send queues may hold together.
    pub(crate) queue_budget: Arc<QueueBudget>,
    /// The close code peers get at shutdown.
    shutdown_close_code: u16,
    /// What the per-peer rate limits did.
    pub(crate) rate_counters: crate::ws::rate::RateCounters,
    /// The broker to other nodes, if any, and this node's id.
    node: Arc<NodeBroker>,
    /// Connected peers keyed by a counter, so iteration is insertion order
    /// (what `peer.peers()` promises) and removal is O(log n).
    peers: Mutex<BTreeMap<u64, Peer>>,
    /// Source of peer keys; never reused within a server's life.
    next_key: AtomicU64,
    /// The server's counters, when `[metrics] enabled`; `None` costs each
    /// counting site one branch.
    metrics: Option<Arc<Metrics>>,
}

impl Shared {
    pub(crate) fn new(
        websocket: WebSocketConfig,
        sse: SseConfig,
        workers: usize,
        broker: Option<Arc<dyn Broker>>,
        max_queued_bytes: usize,
        shutdown_close_code: u16,
        metrics: &MetricsConfig,
    ) -> Self {
        let node = Arc::new(NodeBroker::new(broker));
        let metrics = metrics
            .enabled
            .then(|| Arc::new(Metrics::new(workers, metrics)));
        let decoder_config = Arc::new(
            DecoderConfig::new(websocket.max_frame_size, websocket.max_message_size)
                .with_max_fragments(websocket.max_fragments),
        );
        Self {
            websocket,
            decoder_config,
            sse,
            queue_budget: Arc::new(
                QueueBudget::new(max_queued_bytes, workers).with_metrics(metrics.clone()),
            ),
            shutdown_close_code,
            rate_counters: crate::ws::rate::RateCounters::default(),
            shutdown: watch::Sender::new(false),
            topics: TopicHub::new(workers, Arc::clone(&node)),
            #[cfg(unix)]
            lots: (0..workers.max(1)).map(|_| Default::default()).collect(),
            history: HistoryStore::default(),
            node,
            peers: Mutex::new(BTreeMap::new()),
            next_key: AtomicU64::new(1),
            metrics,
        }
    }

    /// Where `worker`'s parked connections' sockets are watched.
    #[cfg(unix)]
    pub(crate) fn lot(&self, worker: usize) -> Option<&crate::ws::LotSlot> {
        self.lots.get(worker)
    }

    /// The server's counters, if metrics are on.
    #[inline]
    pub(crate) fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_deref()
    }

    /// True when a broker links this node to others.
    pub(crate) fn has_broker(&self) -> bool {
        self.node.broker().is_some()
    }

    /// Hands the broker (if any) its link to this node; once, at startup.
    pub(crate) fn start_broker(self: &Arc<Self>, on_error: Option<ErrorCallback>) {
        if let Some(broker) = self.node.broker() {
            broker.start(BrokerLink::new(
                self.node.id(),
                Arc::downgrade(self),
                on_error,
            ));
        }
    }

    /// Stops the broker's background work (server shutdown).
    pub(crate) fn stop_broker(&self) {
        if let Some(broker) = self.node.broker() {
            broker.stop();
        }
    }

    /// The broker's counters (zeros without a broker).
    pub(crate) fn broker_stats(&self) -> crate::broker::BrokerStats {
        self.node
            .broker()
            .map(|broker| broker.stats())
            .unwrap_or_default()
    }

    /// The same state keeping the history `[[history]]` asks for.
    pub(crate) fn with_history(mut self, history: &[crate::config::HistoryConfig]) -> Self {
        let sequenced = self.node.history().is_some();
        self.history = HistoryStore::new(history, sequenced);
        self
    }

    /// The broker seam of this node.
    pub(crate) fn node(&self) -> &NodeBroker {
        &self.node
    }

    /// Hands a publish made here to the broker, for the other nodes.
    pub(crate) fn forward(&self, topic: &str, frame: &OutFrame) {
        self.node.forward(topic, frame);
    }

    /// A publish whose payload is built from the position it gets, for a
    /// topic that keeps history (`None` otherwise).
    pub(crate) fn publish_with(
        &self,
        topic: &str,
        build: impl FnOnce(Option<&StreamPosition>) -> Payload,
        exclude: Option<u64>,
    ) -> Published {
        if !self.history.is_off() {
            // A history topic's publish is ordered by its log, after what
            // this connection's hooks published before it (delivered here,
            // before any log's lock is taken).
            if let Some(history) = self.node.history() {
                if let Some(bounds) = self.history.bounds(topic) {
                    self.topics.deliver_held();
                    return self.publish_sequenced(history, bounds, topic, build, exclude);
                }
            } else if let Some(log) = self.history.log(topic) {
                self.topics.deliver_held();
                return self.publish_logged(&log, topic, build, exclude);
            }
        }
        Published {
            reached: self.publish_unlogged(topic, build(None), exclude),
            position: None,
        }
    }

    /// A publish made on this node: framed once, queued for the local
    /// subscribers at once (all but `exclude`), then handed to the broker for
    /// the other nodes without waiting. Returns the local deliveries.
    pub(crate) fn publish(&self, topic: &str, data: Payload, exclude: Option<u64>) -> usize {
        if !self.history.is_off() {
            return self.publish_with(topic, |_| data, exclude).reached;
        }
        self.publish_unlogged(topic, data, exclude)
    }

    fn publish_unlogged(&self, topic: &str, data: Payload, exclude: Option<u64>) -> usize {
        let frame = OutFrame::from_payload(data);
        // Handing the envelope over never waits, so the order does not delay
        // local subscribers; forwarding first spares a clone of the frame.
        self.node.forward(topic, &frame);
        let delivered = self.topics.publish(topic, frame, exclude);
        self.count_published(delivered);
        delivered
    }

    /// Counts a publish made on this node that reached `delivered`
    /// subscribers, when metrics are on.
    pub(crate) fn count_published(&self, delivered: usize) {
        if let Some(metrics) = self.metrics() {
            metrics.published(self.topics.current_worker(), delivered);
        }
    }

    /// A publish from another node: to every local subscriber, never back to
    /// the broker.
    pub(crate) fn deliver_remote(&self, topic: &str, frame: OutFrame) -> usize {
        let delivered = self.topics.publish(topic, frame, None);
        if let Some(metrics) = self.metrics() {
            metrics.remote_published(self.topics.current_worker(), delivered);
        }
        delivered
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
    /// The close code and reason peers get at shutdown: the configured
    /// code, or 1012 (service restart) when `crosswire dev` runs the app (it
    /// sets `CROSSWIRE_DEV`) and the code was left at its default, so pages
    /// reconnect to the new build.
    pub(crate) fn shutdown_close(&self) -> (u16, &'static str) {
        if self.shutdown_close_code == 1001 && std::env::var_os("CROSSWIRE_DEV").is_some() {
            (1012, "service restart")
        } else {
            (self.shutdown_close_code, "server shutting down")
        }
    }

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
