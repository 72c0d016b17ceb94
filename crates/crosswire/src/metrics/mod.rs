//! Prometheus metrics: what an operator needs to see a server breathe.
//!
//! `[metrics] enabled = true` gives each server one [`Metrics`]: counters
//! owned by that server (no global registry, so several servers in one
//! process, as in tests, count apart). Off, the server holds `None`, and
//! every place that counts costs one branch on it.
//!
//! # What costs what
//!
//! The per-message paths (a message read, a batch written, a publish) run on
//! every worker at once. A counter all of them add to would be one cache
//! line bouncing between cores on every message, so those counters live per
//! worker, each worker's on a cache line of its own ([`WorkerCounters`]),
//! and are summed when Prometheus scrapes. They are also counted where the
//! code already batches: the writer adds the messages and bytes of a whole
//! write batch at once, and a publish adds its deliveries as one number.
//!
//! Everything else is rarer than a message (an upgrade, a close, a hook
//! failure, a broker error) and counts on one shared atomic
//! (`Events`). What the server already knows is read at scrape time
//! instead of being counted: open WebSocket connections (the peer set),
//! what the send queues hold, the rate limits' and the broker's counters.
//!
//! # Layout
//!
//! - `counters.rs`: the per-worker counters and the shared event counters.
//! - `labels.rs`: the bounded label values (close codes, statuses, hooks).
//! - `render.rs`: the scrape: gather, then encode with `prometheus-client`
//!   in the Prometheus text format (0.0.4).
//! - `serve.rs`: `GET /metrics` on the app's port or on an address of its own.

mod counters;
mod labels;
mod render;
mod serve;

pub(crate) use counters::{Metrics, WorkerCounters};
pub(crate) use labels::{Hook, Limit};
pub(crate) use render::Scrape;
pub(crate) use serve::{Render, exposition, is_scrape, serve_own_address};
