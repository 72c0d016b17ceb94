//! Several worker threads: publishes, sends and subscriptions from every
//! worker and from outside them, checked for exactly-once delivery in order
//! per connection, over real sockets, with many seeds.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod client;

#[path = "workers/common.rs"]
mod common;

#[path = "workers/a_history_publish_keeps_its_place_after_plain_ones.rs"]
mod a_history_publish_keeps_its_place_after_plain_ones;
#[path = "workers/a_hooks_publishes_and_sends_keep_their_order.rs"]
mod a_hooks_publishes_and_sends_keep_their_order;
#[path = "workers/a_subscribe_from_another_worker_sees_only_what_follows_it.rs"]
mod a_subscribe_from_another_worker_sees_only_what_follows_it;
#[path = "workers/a_worker_that_falls_behind_closes_the_peers_that_missed_messages.rs"]
mod a_worker_that_falls_behind_closes_the_peers_that_missed_messages;
#[path = "workers/an_event_stream_push_keeps_its_place_after_publishes.rs"]
mod an_event_stream_push_keeps_its_place_after_publishes;
#[path = "workers/connections_spread_over_the_workers.rs"]
mod connections_spread_over_the_workers;
#[path = "workers/nothing_arrives_after_unsubscribe_while_publishes_race.rs"]
mod nothing_arrives_after_unsubscribe_while_publishes_race;
#[path = "workers/nothing_of_a_peer_stays_after_it_left.rs"]
mod nothing_of_a_peer_stays_after_it_left;
#[path = "workers/publishes_from_every_worker_arrive_once_in_order.rs"]
mod publishes_from_every_worker_arrive_once_in_order;
#[path = "workers/sends_from_other_threads_keep_order.rs"]
mod sends_from_other_threads_keep_order;
