//! The counters themselves: per worker for the message paths, shared for
//! the rest.

use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};

use super::labels::{self, Hook, Limit};
use crate::broker::BrokerStage;
use crate::config::MetricsConfig;
use crate::server::Refusal;

/// Adds `n` to `counter`. Relaxed: a counter orders nothing, and a scrape
/// that misses the last few increments sees them at the next.
#[inline]
fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The counters of the message paths, one set per worker, each on a cache
/// line of its own: a worker adds only to its own set (and code outside the
/// workers to the spare set after them), so no two cores write one line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct WorkerCounters {
    /// Data messages read from WebSocket peers.
    ws_messages_received: AtomicU64,
    /// Bytes read from WebSocket connections after the handshake.
    ws_bytes_received: AtomicU64,
    /// Data messages written to WebSocket peers.
    ws_messages_sent: AtomicU64,
    /// Bytes written to WebSocket connections after the handshake.
    ws_bytes_sent: AtomicU64,
    /// Publishes made on this node (peers and `ServerHandle`).
    publishes: AtomicU64,
    /// Publishes from other nodes, through the broker.
    remote_publishes: AtomicU64,
    /// Subscribers a publish was queued or handed over for.
    deliveries: AtomicU64,
    /// Bytes of events written to event streams.
    sse_bytes_sent: AtomicU64,
}

impl WorkerCounters {
    /// A data message was read.
    #[inline]
    pub(crate) fn message_received(&self) {
        add(&self.ws_messages_received, 1);
    }

    /// `bytes` were read from a WebSocket connection.
    #[inline]
    pub(crate) fn bytes_received(&self, bytes: usize) {
        add(&self.ws_bytes_received, bytes as u64);
    }

    /// A write batch of `messages` data messages and `bytes` bytes went out.
    #[inline]
    pub(crate) fn batch_sent(&self, messages: usize, bytes: usize) {
        add(&self.ws_messages_sent, messages as u64);
        add(&self.ws_bytes_sent, bytes as u64);
    }

    /// `bytes` of an event stream were handed to the connection.
    #[inline]
    pub(crate) fn sse_sent(&self, bytes: usize) {
        add(&self.sse_bytes_sent, bytes as u64);
    }
}

/// Sums of every worker's counters, taken at scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WorkerTotals {
    pub(crate) ws_messages_received: u64,
    pub(crate) ws_bytes_received: u64,
    pub(crate) ws_messages_sent: u64,
    pub(crate) ws_bytes_sent: u64,
    pub(crate) publishes: u64,
    pub(crate) remote_publishes: u64,
    pub(crate) deliveries: u64,
    pub(crate) sse_bytes_sent: u64,
}

/// Counters of what happens less often than a message: one shared set.
#[derive(Debug)]
pub(crate) struct Events {
    /// Upgrade answers by status, 100 to 599 (`status - 100`).
    upgrades: Box<[AtomicU64]>,
    /// WebSocket closes by code group (see `labels::close_label`).
    closes: [AtomicU64; labels::CLOSE_LABELS.len()],
    /// Peers closed for crossing a limit, by limit.
    limit_closes: [AtomicU64; Limit::ALL.len()],
    /// Messages dropped by `on_send_queue_full = "drop_message"`.
    send_queue_drops: AtomicU64,
    /// Hook failures: `[hook][0]` errors returned, `[hook][1]` panics.
    hooks: [[AtomicU64; 2]; Hook::ALL.len()],
    /// Event streams whose response is open.
    sse_open: AtomicI64,
    /// WebSocket connections parked without a task.
    ws_parked: AtomicI64,
    /// Event streams ended because their queue went over `queue_bytes`.
    sse_overflows: AtomicU64,
    /// Connections answered 503 (or closed) past `max_connections`.
    refused_max_connections: AtomicU64,
    /// Connections answered 503 (or closed) past `max_connections_per_ip`.
    refused_per_address: AtomicU64,
    /// Request heads over `max_header_bytes`, answered 431.
    refused_header_too_large: AtomicU64,
    /// Broker errors by stage (connect, subscribe, publish, decode).
    broker_errors: [AtomicU64; 5],
    /// 1 while the broker is connected, 0 while it is not.
    broker_connected: AtomicU8,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            upgrades: (100..600).map(|_| AtomicU64::new(0)).collect(),
            closes: Default::default(),
            limit_closes: Default::default(),
            send_queue_drops: AtomicU64::new(0),
            hooks: Default::default(),
            sse_open: AtomicI64::new(0),
            ws_parked: AtomicI64::new(0),
            sse_overflows: AtomicU64::new(0),
            refused_max_connections: AtomicU64::new(0),
            refused_per_address: AtomicU64::new(0),
            refused_header_too_large: AtomicU64::new(0),
            broker_errors: Default::default(),
            // A broker is handed to the app connected (or the app waited
            // for it); without one this is never exported.
            broker_connected: AtomicU8::new(1),
        }
    }
}

impl Events {
    /// An upgrade request was answered with `status`.
    pub(crate) fn upgrade(&self, status: http::StatusCode) {
        if let Some(counter) = self
            .upgrades
            .get(usize::from(status.as_u16()).wrapping_sub(100))
        {
            add(counter, 1);
        }
    }

    /// A WebSocket connection ended with close `code` (1005, 1006 included).
    pub(crate) fn closed(&self, code: u16) {
        add(&self.closes[labels::close_index(code)], 1);
    }

    /// A peer was closed for crossing `limit`.
    pub(crate) fn limit_close(&self, limit: Limit) {
        add(&self.limit_closes[limit as usize], 1);
    }

    /// A message did not fit a full send queue and was dropped.
    pub(crate) fn send_queue_drop(&self) {
        add(&self.send_queue_drops, 1);
    }

    /// `hook` returned an error (`panicked` false) or panicked.
    pub(crate) fn hook_failed(&self, hook: Hook, panicked: bool) {
        add(&self.hooks[hook as usize][usize::from(panicked)], 1);
    }

    /// An event stream's response started (`true`) or ended.
    pub(crate) fn sse_open(&self, open: bool) {
        let delta = if open { 1 } else { -1 };
        self.sse_open.fetch_add(delta, Ordering::Relaxed);
    }

    /// A WebSocket connection parked (`true`) or was woken.
    pub(crate) fn ws_parked(&self, parked: bool) {
        let delta = if parked { 1 } else { -1 };
        self.ws_parked.fetch_add(delta, Ordering::Relaxed);
    }

    /// An event stream was ended because its queue overflowed.
    pub(crate) fn sse_overflow(&self) {
        add(&self.sse_overflows, 1);
    }

    /// A connection was refused at the door.
    pub(crate) fn refused(&self, refusal: Refusal) {
        match refusal {
            Refusal::MaxConnections(_) => add(&self.refused_max_connections, 1),
            Refusal::PerAddress(_) => add(&self.refused_per_address, 1),
        }
    }

    /// A request head over `max_header_bytes` was answered 431.
    pub(crate) fn refused_header_too_large(&self) {
        add(&self.refused_header_too_large, 1);
    }

    /// The broker reported an error at `stage`.
    pub(crate) fn broker_error(&self, stage: BrokerStage) {
        let index = match stage {
            BrokerStage::Connect => 0,
            BrokerStage::Subscribe => 1,
            BrokerStage::Publish => 2,
            BrokerStage::History => 4,
            _ => 3,
        };
        add(&self.broker_errors[index], 1);
    }

    /// The broker (re)connected (`true`) or lost its connection.
    pub(crate) fn broker_connected(&self, connected: bool) {
        self.broker_connected
            .store(u8::from(connected), Ordering::Relaxed);
    }
}

/// The counters of one server.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// One set per worker, then one for code that runs outside them.
    workers: Box<[WorkerCounters]>,
    /// The rarer events.
    pub(crate) events: Events,
    /// The path scrapes take on the app's port; `None` when the metrics
    /// have an address of their own.
    app_path: Option<Box<str>>,
}

impl Metrics {
    /// Counters for a server of `workers` workers, served as `config` says.
    pub(crate) fn new(workers: usize, config: &MetricsConfig) -> Self {
        Self {
            app_path: config
                .listen
                .is_none()
                .then(|| config.path.clone().into_boxed_str()),
            workers: (0..=workers.max(1))
                .map(|_| WorkerCounters::default())
                .collect(),
            events: Events::default(),
        }
    }

    /// The counters of `worker`, or the spare set for code outside the
    /// workers (`None`).
    #[inline]
    pub(crate) fn worker(&self, worker: Option<usize>) -> &WorkerCounters {
        let spare = self.workers.len() - 1;
        let index = worker.map_or(spare, |worker| worker.min(spare));
        &self.workers[index]
    }

    /// A publish on this node reached `deliveries` subscribers.
    #[inline]
    pub(crate) fn published(&self, worker: Option<usize>, deliveries: usize) {
        let counters = self.worker(worker);
        add(&counters.publishes, 1);
        add(&counters.deliveries, deliveries as u64);
    }

    /// A publish from another node reached `deliveries` subscribers.
    #[inline]
    pub(crate) fn remote_published(&self, worker: Option<usize>, deliveries: usize) {
        let counters = self.worker(worker);
        add(&counters.remote_publishes, 1);
        add(&counters.deliveries, deliveries as u64);
    }

    /// The path scrapes take on the app's port, if they do.
    pub(crate) fn app_path(&self) -> Option<&str> {
        self.app_path.as_deref()
    }

    /// Every worker's counters, summed.
    pub(crate) fn totals(&self) -> WorkerTotals {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        self.workers
            .iter()
            .fold(WorkerTotals::default(), |mut sum, worker| {
                sum.ws_messages_received += load(&worker.ws_messages_received);
                sum.ws_bytes_received += load(&worker.ws_bytes_received);
                sum.ws_messages_sent += load(&worker.ws_messages_sent);
                sum.ws_bytes_sent += load(&worker.ws_bytes_sent);
                sum.publishes += load(&worker.publishes);
                sum.remote_publishes += load(&worker.remote_publishes);
                sum.deliveries += load(&worker.deliveries);
                sum.sse_bytes_sent += load(&worker.sse_bytes_sent);
                sum
            })
    }
}

/// What the shared counters hold, read at scrape time.
#[derive(Debug, Default)]
pub(crate) struct EventTotals {
    /// `(status, count)` for every status seen.
    pub(crate) upgrades: Vec<(u16, u64)>,
    /// `(label, count)` for every close group seen.
    pub(crate) closes: Vec<(&'static str, u64)>,
    /// `(limit, count)`, every limit.
    pub(crate) limit_closes: Vec<(&'static str, u64)>,
    pub(crate) send_queue_drops: u64,
    /// `(hook, kind, count)`, every hook and kind.
    pub(crate) hooks: Vec<(&'static str, &'static str, u64)>,
    pub(crate) sse_open: i64,
    pub(crate) ws_parked: i64,
    pub(crate) sse_overflows: u64,
    pub(crate) refused_max_connections: u64,
    pub(crate) refused_per_address: u64,
    pub(crate) refused_header_too_large: u64,
    /// `(stage, count)`, every stage.
    pub(crate) broker_errors: Vec<(&'static str, u64)>,
    pub(crate) broker_connected: u8,
}

impl Events {
    /// The counters now.
    pub(crate) fn totals(&self) -> EventTotals {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        EventTotals {
            upgrades: (100u16..)
                .zip(self.upgrades.iter())
                .filter_map(|(status, count)| Some((status, load(count))).filter(|(_, n)| *n > 0))
                .collect(),
            closes: labels::CLOSE_LABELS
                .iter()
                .zip(&self.closes)
                .filter_map(|(label, count)| Some((*label, load(count))).filter(|(_, n)| *n > 0))
                .collect(),
            limit_closes: Limit::ALL
                .iter()
                .zip(&self.limit_closes)
                .map(|(limit, count)| (limit.setting(), load(count)))
                .collect(),
            send_queue_drops: load(&self.send_queue_drops),
            hooks: Hook::ALL
                .iter()
                .zip(&self.hooks)
                .flat_map(|(hook, [errors, panics])| {
                    [
                        (hook.as_str(), "error", load(errors)),
                        (hook.as_str(), "panic", load(panics)),
                    ]
                })
                .collect(),
            sse_open: self.sse_open.load(Ordering::Relaxed).max(0),
            ws_parked: self.ws_parked.load(Ordering::Relaxed).max(0),
            sse_overflows: load(&self.sse_overflows),
            refused_max_connections: load(&self.refused_max_connections),
            refused_per_address: load(&self.refused_per_address),
            refused_header_too_large: load(&self.refused_header_too_large),
            broker_errors: ["connect", "subscribe", "publish", "decode", "history"]
                .into_iter()
                .zip(&self.broker_errors)
                .map(|(stage, count)| (stage, load(count)))
                .collect(),
            broker_connected: self.broker_connected.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_worker_counts_on_its_own_line_and_scrapes_sum_them() {
        assert_eq!(std::mem::align_of::<WorkerCounters>(), 128);
        let metrics = Metrics::new(2, &MetricsConfig::default());
        metrics.worker(Some(0)).message_received();
        metrics.worker(Some(1)).message_received();
        metrics.worker(None).batch_sent(3, 300);
        metrics.published(Some(1), 32);
        metrics.published(None, 2);
        let totals = metrics.totals();
        assert_eq!(totals.ws_messages_received, 2);
        assert_eq!(totals.ws_messages_sent, 3);
        assert_eq!(totals.ws_bytes_sent, 300);
        assert_eq!(totals.publishes, 2);
        assert_eq!(totals.deliveries, 34);
        // A bad index counts on the spare set rather than panicking.
        metrics.worker(Some(99)).message_received();
        assert_eq!(metrics.totals().ws_messages_received, 3);
    }

    #[test]
    fn rare_events_keep_their_labels() {
        let events = Events::default();
        events.upgrade(http::StatusCode::SWITCHING_PROTOCOLS);
        events.upgrade(http::StatusCode::FORBIDDEN);
        events.upgrade(http::StatusCode::FORBIDDEN);
        events.closed(1000);
        events.closed(4001);
        events.hook_failed(Hook::Message, true);
        let totals = events.totals();
        assert_eq!(totals.upgrades, vec![(101, 1), (403, 2)]);
        assert_eq!(totals.closes, vec![("1000", 1), ("4xxx", 1)]);
        assert!(totals.hooks.contains(&("message", "panic", 1)));
        assert!(totals.hooks.contains(&("message", "error", 0)));
    }
}
