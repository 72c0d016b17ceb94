//! Prometheus metrics over real sockets: real WebSocket and event-stream
//! traffic, `/metrics` scraped over HTTP and parsed by a strict parser of
//! the text format. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod client;

#[path = "metrics/exposition.rs"]
mod exposition;

#[path = "metrics/scrape.rs"]
mod scrape;

#[path = "metrics/a_metrics_address_of_its_own_serves_only_metrics.rs"]
mod a_metrics_address_of_its_own_serves_only_metrics;
#[path = "metrics/counters_move_with_real_traffic.rs"]
mod counters_move_with_real_traffic;
#[path = "metrics/limit_closes_and_drops_are_counted.rs"]
mod limit_closes_and_drops_are_counted;
#[path = "metrics/metrics_are_off_by_default.rs"]
mod metrics_are_off_by_default;
#[path = "metrics/quiet_connections_park_and_wake.rs"]
mod quiet_connections_park_and_wake;
#[path = "metrics/the_grafana_dashboard_queries_only_exported_metrics.rs"]
mod the_grafana_dashboard_queries_only_exported_metrics;
