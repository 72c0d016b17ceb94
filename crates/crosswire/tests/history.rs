//! History and recovery over real sockets: event streams read by the raw
//! HTTP client, peers by tokio-tungstenite, servers on port 0 with two
//! workers. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod client;

#[path = "history/common.rs"]
mod common;

#[path = "history/a_gap_longer_than_the_history_gives_the_recovery_event.rs"]
mod a_gap_longer_than_the_history_gives_the_recovery_event;
#[path = "history/a_replay_larger_than_the_queue_gives_the_recovery_event.rs"]
mod a_replay_larger_than_the_queue_gives_the_recovery_event;
#[path = "history/a_restarted_server_reports_a_new_epoch.rs"]
mod a_restarted_server_reports_a_new_epoch;
#[path = "history/reconnecting_clients_get_what_they_missed_once_in_order.rs"]
mod reconnecting_clients_get_what_they_missed_once_in_order;
