//! `[server.tls]` over real sockets: https, event streams, wss and HTTP/2
//! with real rustls clients, certificates made by the test, startup errors,
//! certificate reloads and the handshake timeout. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
mod sse_client;

#[path = "tls/client.rs"]
mod client;

#[path = "tls/a_client_that_stops_reading_loses_its_connection.rs"]
mod a_client_that_stops_reading_loses_its_connection;
#[path = "tls/a_reload_serves_the_new_certificate_to_new_connections.rs"]
mod a_reload_serves_the_new_certificate_to_new_connections;
#[path = "tls/bad_certificate_files_stop_startup_naming_the_file.rs"]
mod bad_certificate_files_stop_startup_naming_the_file;
#[path = "tls/event_streams_over_http2_count_as_connections.rs"]
mod event_streams_over_http2_count_as_connections;
#[path = "tls/fifty_event_streams_share_one_http2_connection.rs"]
mod fifty_event_streams_share_one_http2_connection;
#[path = "tls/https_event_streams_and_wss_share_the_port.rs"]
mod https_event_streams_and_wss_share_the_port;
#[path = "tls/idle_http2_connections_are_closed.rs"]
mod idle_http2_connections_are_closed;
#[path = "tls/shutdown_closes_wss_peers_and_http2_streams.rs"]
mod shutdown_closes_wss_peers_and_http2_streams;
#[path = "tls/unfinished_handshakes_are_closed.rs"]
mod unfinished_handshakes_are_closed;
