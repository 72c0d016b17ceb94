//! `[server.tls]` over real sockets: https, event streams, wss and HTTP/2
//! with real rustls clients, certificates made by the test, startup errors,
//! certificate reloads and the handshake timeout. One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "sse/client.rs"]
#[allow(dead_code)]
mod sse_client;

#[path = "tls/client.rs"]
mod client;

#[path = "tls/https_event_streams_and_wss_share_the_port.rs"]
mod https_event_streams_and_wss_share_the_port;
