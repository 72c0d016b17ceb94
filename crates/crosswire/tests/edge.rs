//! The public edge over real sockets: the `Origin` check, the connection
//! and request-head limits, slow clients, and hostile handshakes and frames,
//! each answered with its status or close code while the server goes on
//! serving the next client. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod client;

#[path = "edge/a_first_get_is_answered_as_hyper_answers_the_rest.rs"]
mod a_first_get_is_answered_as_hyper_answers_the_rest;
#[path = "edge/bad_frames_close_with_their_code_and_the_server_serves_on.rs"]
mod bad_frames_close_with_their_code_and_the_server_serves_on;
#[path = "edge/bad_handshakes_get_their_status_and_the_server_serves_on.rs"]
mod bad_handshakes_get_their_status_and_the_server_serves_on;
#[path = "edge/connections_past_max_connections_get_503.rs"]
mod connections_past_max_connections_get_503;
#[path = "edge/connections_past_the_per_address_limit_get_503.rs"]
mod connections_past_the_per_address_limit_get_503;
#[path = "edge/floods_are_closed_at_their_limit.rs"]
mod floods_are_closed_at_their_limit;
#[path = "edge/foreign_origins_get_403_before_any_hook.rs"]
mod foreign_origins_get_403_before_any_hook;
#[path = "edge/handshakes_past_the_per_address_rate_get_429.rs"]
mod handshakes_past_the_per_address_rate_get_429;
#[path = "edge/oversized_request_heads_get_431.rs"]
mod oversized_request_heads_get_431;
#[path = "edge/sigterm_drains_every_peer_and_stream.rs"]
mod sigterm_drains_every_peer_and_stream;
#[path = "edge/slow_body_senders_get_400_and_lose_the_connection.rs"]
mod slow_body_senders_get_400_and_lose_the_connection;
#[path = "edge/slow_header_senders_are_closed_while_others_are_served.rs"]
mod slow_header_senders_are_closed_while_others_are_served;
#[path = "edge/the_open_file_limit_follows_max_connections.rs"]
mod the_open_file_limit_follows_max_connections;
