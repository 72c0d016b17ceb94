//! Crosswire: real-time web servers in Rust — WebSocket handlers with
//! `upgrade` / `open` / `message` / `close` / `error` hooks, peers that publish
//! to topics, Server-Sent Events streams that subscribe to the same topics,
//! and server-wide publish from any HTTP handler, on its own RFC 6455 codec
//! ([`crosswire_proto`]).
//!
//! It brings the model of Nitro, h3 and crossws to Rust. The seed's chat:
//!
//! ```no_run
//! use crosswire::prelude::*;
//!
//! fn chat() -> impl WebSocketHandler {
//!     hooks()
//!         .open(|peer: Peer| async move {
//!             peer.send(json!({ "user": "server", "message": format!("Welcome {peer}!") }));
//!             peer.publish("chat", json!({ "user": "server", "message": format!("{peer} joined!") }));
//!             peer.subscribe("chat");
//!         })
//!         .message(|peer: Peer, message: Message| async move {
//!             if message.text().contains("ping") {
//!                 peer.send(json!({ "user": "server", "message": "pong" }));
//!             } else {
//!                 let msg = json!({ "user": peer.to_string(), "message": message.text() });
//!                 peer.send(&msg);
//!                 peer.publish("chat", &msg);
//!             }
//!         })
//!         .close(|peer: Peer, _close: CloseInfo| async move {
//!             peer.publish("chat", json!({ "user": "server", "message": format!("{peer} left!") }));
//!         })
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = Config::load()?;
//!     App::with_config(config)
//!         .websocket("/api/ws/chat", chat())
//!         .listen()
//!         .await?
//!         .run()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! # Layout
//!
//! - [`ws`]: hooks, [`Peer`], [`Message`], [`Payload`], and the per-connection
//!   tasks with their bounded send queue.
//! - [`sse`]: [`EventStream`], h3's `createEventStream` with keep-alive,
//!   `Last-Event-ID`, a bounded queue and topic subscriptions.
//! - `pubsub`: the topic index, sharded by worker thread; a publish is framed
//!   once and shared by every subscriber's queue (and encoded once as an
//!   event for event streams), crossing to each other worker once.
//! - [`server`]: the [`App`] builder, our own accept loop over hyper, and the
//!   worker threads (one per core) that serve the connections; and
//!   [`Crosswire`], the same routes mounted in an axum app served by
//!   `axum::serve` (see its docs for what that mode costs).
//! - [`history`]: per-topic history, so a client that reconnects (by
//!   WebSocket or event stream) gets exactly what it missed, or is told it
//!   was lost.
//! - [`broker`]: scale-out across processes: the [`Broker`](broker::Broker)
//!   contract, the envelope, the in-process bus; Redis and NATS live in
//!   `crosswire-redis` and `crosswire-nats`.
//! - `origin`: the `Origin` check that keeps other sites' pages from
//!   opening WebSockets (and, opt-in, event streams) on this server.
//! - [`config`]: `crosswire.toml` and `CROSSWIRE_*` overrides, with defaults
//!   that protect a public server.
//! - `tls` (feature `tls`, off by default): `https://` and `wss://` on the
//!   same port with rustls (`ring`), HTTP/2 by ALPN for routes and event
//!   streams, certificates reloaded on `SIGHUP` or
//!   [`ServerHandle::reload_tls`]; see [`TlsConfig`] and [`TlsError`].
//!   WebSockets stay on HTTP/1.1: there is no RFC 8441 (WebSockets over
//!   HTTP/2).
//! - [`ServerHandle`]: publish and list peers from HTTP handlers.
//! - `metrics`: Prometheus counters and gauges (`[metrics] enabled`), per
//!   worker on the message paths, served at `GET /metrics`.
//! - `logging` (feature `logging`): `RUST_LOG` levels and text or JSON log
//!   lines (`CROSSWIRE_LOG_FORMAT=json`) for apps that want Crosswire's
//!   usual setup.
//! - [`under_dev_server`]: whether `crosswire dev` runs the app.
//! - [`include_routes!`]: the routes `crosswire-build` generates from the
//!   files of `src/server/routes` (`api/ws/chat.rs` serves `/api/ws/chat`).

#![deny(missing_docs)]

pub mod broker;
pub mod config;
mod dev_server;
mod error;
mod file_routes;
mod handle;
pub mod history;
#[cfg(feature = "logging")]
pub mod logging;
mod metrics;
mod origin;
mod pubsub;
pub mod server;
mod shared;
pub mod sse;
mod tls;
pub mod ws;

pub use config::{
    BrokerConfig, ClientIdentity, Compression, Config, ConfigError, HistoryConfig, MetricsConfig,
    OverflowPolicy, TlsConfig, UrlLogin,
};
pub use dev_server::{DEV_SERVER_VAR, under_dev_server};
pub use error::{CloseError, PushError, SendError, ServeError, WebSocketError};
pub use handle::{MissingServerHandle, ServerHandle};
pub use server::{App, Crosswire, Server, shutdown_signal};
pub use sse::{EventStream, SseEvent, create_event_stream};
pub use tls::TlsError;
pub use ws::{
    Accept, CloseInfo, HookOutput, Hooks, Message, Payload, Peer, UpgradeRequest, UpgradeResult,
    WebSocketHandler, hooks,
};

/// What the code generated by `crosswire-build` names; not a public API.
#[doc(hidden)]
pub use file_routes::generated as __private;

/// The close codes, re-exported from the codec.
pub use crosswire_proto::CloseCode;

/// A custom HTTP reason phrase; insert it into a rejection's extensions to
/// send, say, `401 Go Away` instead of `401 Unauthorized`.
pub use hyper::ext::ReasonPhrase;

/// Everything a handler file usually needs: `use crosswire::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Accept, App, CloseInfo, Config, Crosswire, EventStream, Message, Payload, Peer,
        ServerHandle, SseEvent, UpgradeRequest, UpgradeResult, WebSocketError, WebSocketHandler,
        create_event_stream, hooks,
    };
    /// `json!` builds the JSON values handlers send, as in the seed.
    pub use serde_json::json;
}
