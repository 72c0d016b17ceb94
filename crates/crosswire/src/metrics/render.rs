//! The scrape: read every counter and gauge once, then write them in the
//! Prometheus text format (version 0.0.4) with `prometheus-client`'s encoder.
//!
//! The registry is built per scrape around one collector holding the values
//! just read. Scrapes come every few seconds, so the allocation is nothing,
//! and the server keeps no registry state of its own beside its counters.

use std::fmt::Write as _;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::counters::{EventTotals, WorkerTotals};
use crate::shared::Shared;

/// The `content-type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Everything one scrape reports.
#[derive(Debug)]
pub(crate) struct Scrape {
    workers: WorkerTotals,
    events: EventTotals,
    /// `(open, max_connections)` of the accept loop, when known.
    connections: Option<(usize, usize)>,
    ws_open: usize,
    queue_held: usize,
    queue_limit: usize,
    queue_high_water: Vec<usize>,
    budget_closes: u64,
    rate_drops: u64,
    /// `(dropped, buffered bytes)` of the broker, when there is one.
    broker: Option<(u64, usize)>,
}

impl Scrape {
    /// Reads the counters of `shared` (`None` when its metrics are off) and
    /// the accept loop's `(open, max_connections)`.
    pub(crate) fn gather(shared: &Shared, connections: Option<(usize, usize)>) -> Option<Self> {
        let metrics = shared.metrics()?;
        let queues = shared.queue_budget.stats();
        let broker = shared.has_broker().then(|| {
            let stats = shared.broker_stats();
            (stats.dropped, stats.buffered_bytes)
        });
        Some(Self {
            workers: metrics.totals(),
            events: metrics.events.totals(),
            connections,
            ws_open: shared.peer_count(),
            queue_held: queues.held_bytes,
            queue_limit: queues.limit_bytes,
            queue_high_water: shared.queue_budget.high_water(),
            budget_closes: queues.closed,
            rate_drops: shared.rate_counters.stats().messages_dropped,
            broker,
        })
    }

    /// The exposition text.
    pub(crate) fn render(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::with_capacity(8 * 1024);
        if prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).is_err() {
            // Writing to a String cannot fail; say so rather than panic.
            let _ = writeln!(text, "# encoding failed");
        }
        text
    }
}

/// Writes one family: its `# HELP` and `# TYPE` lines, then a sample per
/// label set (one without labels when `samples` has a single empty set).
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (L, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(value).encode(metric)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The class of an upgrade answer, for dashboards that want 101 / 4xx / 5xx.
fn result_class(status: u16) -> &'static str {
    match status {
        101 => "101",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let w = &self.workers;
        let v = &self.events;
        if let Some((open, max)) = self.connections {
            gauge(
                e,
                "crosswire_connections_open",
                "Open client connections (HTTP, event streams and WebSockets), as counted against max_connections.",
                to_i64(open),
            )?;
            gauge(
                e,
                "crosswire_connections_max",
                "The max_connections setting.",
                to_i64(max),
            )?;
        }
        family(
            e,
            "crosswire_connections_refused",
            "Connections refused at the edge, by reason: past max_connections or max_connections_per_ip (503 or closed), request head over max_header_bytes (431).",
            MetricType::Counter,
            [
                (
                    [("reason", "max_connections")],
                    ConstCounter::new(v.refused_max_connections),
                ),
                (
                    [("reason", "max_connections_per_ip")],
                    ConstCounter::new(v.refused_per_address),
                ),
                (
                    [("reason", "header_too_large")],
                    ConstCounter::new(v.refused_header_too_large),
                ),
            ],
        )?;
        gauge(
            e,
            "crosswire_ws_connections_open",
            "Open WebSocket connections (peers).",
            to_i64(self.ws_open),
        )?;
        gauge(
            e,
            "crosswire_ws_connections_parked",
            "Open WebSocket connections parked without a task while quiet (a part of crosswire_ws_connections_open).",
            v.ws_parked,
        )?;
        gauge(
            e,
            "crosswire_sse_streams_open",
            "Event streams whose response is open.",
            v.sse_open,
        )?;
        family(
            e,
            "crosswire_ws_upgrades",
            "WebSocket upgrade requests by the status they were answered with (101: upgraded).",
            MetricType::Counter,
            v.upgrades.iter().map(|(status, count)| {
                (
                    [
                        ("status", status.to_string()),
                        ("result", result_class(*status).to_owned()),
                    ],
                    ConstCounter::new(*count),
                )
            }),
        )?;
        family(
            e,
            "crosswire_ws_closes",
            "WebSocket connections ended, by close code (1005: none sent, 1006: dropped; 3xxx and 4xxx: application codes).",
            MetricType::Counter,
            v.closes
                .iter()
                .map(|(code, count)| ([("code", *code)], ConstCounter::new(*count))),
        )?;
        counter(
            e,
            "crosswire_ws_messages_received",
            "Data messages received from WebSocket peers.",
            w.ws_messages_received,
        )?;
        counter(
            e,
            "crosswire_ws_received_bytes",
            "Bytes read from WebSocket connections after the handshake (frames as on the wire).",
            w.ws_bytes_received,
        )?;
        counter(
            e,
            "crosswire_ws_messages_sent",
            "Data messages written to WebSocket peers.",
            w.ws_messages_sent,
        )?;
        counter(
            e,
            "crosswire_ws_sent_bytes",
            "Bytes written to WebSocket connections after the handshake (frames as on the wire).",
            w.ws_bytes_sent,
        )?;
        family(
            e,
            "crosswire_publishes",
            "Publishes to a topic: made on this node (local), or received from other nodes through the broker (remote).",
            MetricType::Counter,
            [
                ([("origin", "local")], ConstCounter::new(w.publishes)),
                (
                    [("origin", "remote")],
                    ConstCounter::new(w.remote_publishes),
                ),
            ],
        )?;
        counter(
            e,
            "crosswire_deliveries",
            "Subscribers (WebSocket peers and event streams) a publish was queued for on this node.",
            w.deliveries,
        )?;
        counter(
            e,
            "crosswire_sse_sent_bytes",
            "Bytes of events, comments and keep-alives written to event streams.",
            w.sse_bytes_sent,
        )?;
        counter(
            e,
            "crosswire_sse_overflows",
            "Event streams ended because the client fell queue_bytes behind.",
            v.sse_overflows,
        )?;
        gauge(
            e,
            "crosswire_send_queue_bytes",
            "Bytes of copy buffers all WebSocket send queues hold now.",
            to_i64(self.queue_held),
        )?;
        family(
            e,
            "crosswire_send_queue_high_water_bytes",
            "The most bytes the send queues of one worker have held (each worker has its share of max_queued_bytes).",
            MetricType::Gauge,
            self.queue_high_water
                .iter()
                .enumerate()
                .map(|(worker, bytes)| {
                    (
                        [("worker", worker.to_string())],
                        ConstGauge::new(to_i64(*bytes)),
                    )
                }),
        )?;
        gauge(
            e,
            "crosswire_send_queue_limit_bytes",
            "The max_queued_bytes setting (0: no budget).",
            to_i64(self.queue_limit),
        )?;
        counter(
            e,
            "crosswire_send_queue_budget_closes",
            "Peers closed with 1008 because the send queues spent max_queued_bytes.",
            self.budget_closes,
        )?;
        family(
            e,
            "crosswire_ws_limit_closes",
            "WebSocket peers closed for crossing a limit, by setting.",
            MetricType::Counter,
            v.limit_closes
                .iter()
                .map(|(limit, count)| ([("limit", *limit)], ConstCounter::new(*count))),
        )?;
        family(
            e,
            "crosswire_ws_dropped_messages",
            "Messages dropped by a drop_message policy: outgoing ones that did not fit a full send queue, incoming ones over max_messages_per_second.",
            MetricType::Counter,
            [
                (
                    [("reason", "send_queue_full")],
                    ConstCounter::new(v.send_queue_drops),
                ),
                (
                    [("reason", "message_rate")],
                    ConstCounter::new(self.rate_drops),
                ),
            ],
        )?;
        family(
            e,
            "crosswire_hook_failures",
            "Hooks that returned an error or panicked, by hook.",
            MetricType::Counter,
            v.hooks.iter().map(|(hook, kind, count)| {
                (
                    [("hook", *hook), ("kind", *kind)],
                    ConstCounter::new(*count),
                )
            }),
        )?;
        if let Some((dropped, buffered)) = self.broker {
            gauge(
                e,
                "crosswire_broker_connected",
                "1 while the broker is connected, 0 while it reconnects.",
                i64::from(v.broker_connected),
            )?;
            family(
                e,
                "crosswire_broker_errors",
                "Broker errors by stage (as given to on_broker_error).",
                MetricType::Counter,
                v.broker_errors
                    .iter()
                    .map(|(stage, count)| ([("stage", *stage)], ConstCounter::new(*count))),
            )?;
            counter(
                e,
                "crosswire_broker_dropped",
                "Publishes to other nodes dropped because the broker's buffer was full.",
                dropped,
            )?;
            gauge(
                e,
                "crosswire_broker_buffered_bytes",
                "Bytes of publishes waiting for the broker.",
                to_i64(buffered),
            )?;
        }
        Ok(())
    }
}
