//! History kept by NATS JetStream, over real sockets: a real `nats-server
//! -js` started by each test, two Crosswire nodes on it, peers read by
//! tokio-tungstenite and event streams by a raw HTTP client. One module
//! per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "history/support.rs"]
mod support;

#[path = "history/a_deleted_stream_starts_a_new_epoch.rs"]
mod a_deleted_stream_starts_a_new_epoch;
#[path = "history/a_follow_moves_to_a_stream_made_again.rs"]
mod a_follow_moves_to_a_stream_made_again;
#[path = "history/a_gap_longer_than_the_history_is_reported.rs"]
mod a_gap_longer_than_the_history_is_reported;
#[path = "history/a_login_in_the_url_is_used_and_never_shown.rs"]
mod a_login_in_the_url_is_used_and_never_shown;
#[path = "history/a_recovery_whose_follow_did_not_start_is_not_promised.rs"]
mod a_recovery_whose_follow_did_not_start_is_not_promised;
#[path = "history/a_restarted_nats_server_keeps_the_epoch.rs"]
mod a_restarted_nats_server_keeps_the_epoch;
#[path = "history/a_server_without_jetstream_is_reported.rs"]
mod a_server_without_jetstream_is_reported;
#[path = "history/an_unanswered_stream_lookup_holds_no_plain_publish.rs"]
mod an_unanswered_stream_lookup_holds_no_plain_publish;
#[path = "history/appends_made_while_nats_is_down_are_stored_once_it_is_back.rs"]
mod appends_made_while_nats_is_down_are_stored_once_it_is_back;
#[path = "history/clients_recover_on_another_node_once_in_order.rs"]
mod clients_recover_on_another_node_once_in_order;
#[path = "history/every_node_gives_a_message_the_same_position.rs"]
mod every_node_gives_a_message_the_same_position;
