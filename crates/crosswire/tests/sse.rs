//! Server-Sent Events over real sockets, checked by an independent raw
//! HTTP/1.1 client that decodes chunked encoding itself and compares exact
//! bytes. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod client;

#[path = "sse/a_panicking_on_closed_callback_does_not_stop_the_others.rs"]
mod a_panicking_on_closed_callback_does_not_stop_the_others;
#[path = "sse/a_slow_client_is_closed_and_memory_stays_bounded.rs"]
mod a_slow_client_is_closed_and_memory_stays_bounded;
#[path = "sse/a_stream_never_sent_fires_on_closed.rs"]
mod a_stream_never_sent_fires_on_closed;
#[path = "sse/close_ends_the_response_after_its_events.rs"]
mod close_ends_the_response_after_its_events;
#[path = "sse/idle_streams_get_keep_alive_comments.rs"]
mod idle_streams_get_keep_alive_comments;
#[path = "sse/last_event_id_comes_from_the_reconnecting_client.rs"]
mod last_event_id_comes_from_the_reconnecting_client;
#[path = "sse/on_closed_fires_when_the_client_disconnects.rs"]
mod on_closed_fires_when_the_client_disconnects;
#[path = "sse/pause_holds_events_and_close_flushes_them.rs"]
mod pause_holds_events_and_close_flushes_them;
#[path = "sse/pushes_after_close_are_ignored.rs"]
mod pushes_after_close_are_ignored;
#[path = "sse/pushes_before_send_arrive_in_order.rs"]
mod pushes_before_send_arrive_in_order;
#[path = "sse/shutdown_ends_event_streams.rs"]
mod shutdown_ends_event_streams;
#[path = "sse/topics_reach_event_streams.rs"]
mod topics_reach_event_streams;
#[path = "sse/wire_bytes_follow_the_event_stream_format.rs"]
mod wire_bytes_follow_the_event_stream_format;
