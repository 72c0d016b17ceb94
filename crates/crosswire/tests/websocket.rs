//! WebSocket behaviour over real sockets, with a real client
//! (tokio-tungstenite) or raw bytes where the client must misbehave.
//! One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/deflate.rs"]
mod deflate_client;
#[path = "support/mod.rs"]
mod support;

#[path = "websocket/a_deflate_bomb_closes_1009_with_bounded_memory.rs"]
mod a_deflate_bomb_closes_1009_with_bounded_memory;
#[path = "websocket/a_flooding_publisher_does_not_starve_subscribers.rs"]
mod a_flooding_publisher_does_not_starve_subscribers;
#[path = "websocket/a_spent_queue_budget_closes_the_peers_furthest_behind.rs"]
mod a_spent_queue_budget_closes_the_peers_furthest_behind;
#[path = "websocket/bad_frames_close_with_the_right_code.rs"]
mod bad_frames_close_with_the_right_code;
#[path = "websocket/bursts_of_large_messages_reach_every_subscriber_in_order.rs"]
mod bursts_of_large_messages_reach_every_subscriber_in_order;
#[path = "websocket/close_codes_reach_the_close_hook.rs"]
mod close_codes_reach_the_close_hook;
#[path = "websocket/compressed_chat_reaches_deflate_and_plain_peers.rs"]
mod compressed_chat_reaches_deflate_and_plain_peers;
#[path = "websocket/disabled_websockets_answer_501.rs"]
mod disabled_websockets_answer_501;
#[path = "websocket/extension_offers_are_negotiated.rs"]
mod extension_offers_are_negotiated;
#[path = "websocket/handshake_errors_have_their_status.rs"]
mod handshake_errors_have_their_status;
#[path = "websocket/hooks_run_in_order.rs"]
mod hooks_run_in_order;
#[path = "websocket/http_routes_publish_to_peers.rs"]
mod http_routes_publish_to_peers;
#[path = "websocket/idle_peers_are_closed_with_1001.rs"]
mod idle_peers_are_closed_with_1001;
#[path = "websocket/json_goes_out_as_text.rs"]
mod json_goes_out_as_text;
#[path = "websocket/messages_arriving_one_by_one_are_all_read.rs"]
mod messages_arriving_one_by_one_are_all_read;
#[path = "websocket/oversized_message_closes_1009.rs"]
mod oversized_message_closes_1009;
#[path = "websocket/panicking_hooks_do_not_stop_the_server.rs"]
mod panicking_hooks_do_not_stop_the_server;
#[path = "websocket/peer_methods.rs"]
mod peer_methods;
#[path = "websocket/pings_and_pongs.rs"]
mod pings_and_pongs;
#[path = "websocket/plain_requests_reach_the_most_specific_route.rs"]
mod plain_requests_reach_the_most_specific_route;
#[path = "websocket/publish_excludes_sender.rs"]
mod publish_excludes_sender;
#[path = "websocket/slow_reader_is_closed_with_1008.rs"]
mod slow_reader_is_closed_with_1008;
#[path = "websocket/the_101_leaves_with_the_first_frames.rs"]
mod the_101_leaves_with_the_first_frames;
#[path = "websocket/the_drain_hook_runs_once_a_full_queue_empties.rs"]
mod the_drain_hook_runs_once_a_full_queue_empties;
#[path = "websocket/the_server_hangs_up_once_both_close_frames_crossed.rs"]
mod the_server_hangs_up_once_both_close_frames_crossed;
#[path = "websocket/upgrade_hook_shapes_the_handshake.rs"]
mod upgrade_hook_shapes_the_handshake;
