//! Crosswire: real-time web servers in Rust — WebSocket handlers with
//! `upgrade` / `open` / `message` / `close` / `error` hooks, peers that publish
//! to topics, and server-wide publish from any HTTP handler, on its own
//! RFC 6455 codec ([`crosswire_proto`]).
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
//! - `pubsub`: the topic index; a publish is framed once and shared by every
//!   subscriber's queue.
//! - [`server`]: the [`App`] builder and our own accept loop over hyper, so an
//!   upgraded socket is split into owned halves.
//! - [`config`]: `crosswire.toml` and `CROSSWIRE_*` overrides, with defaults
//!   that protect a public server.
//! - [`ServerHandle`]: publish and list peers from HTTP handlers.

#![deny(missing_docs)]

pub mod config;
mod error;
mod handle;
mod pubsub;
pub mod server;
mod shared;
pub mod ws;

pub use config::{Config, ConfigError, OverflowPolicy};
pub use error::{CloseError, SendError, ServeError, WebSocketError};
pub use handle::{MissingServerHandle, ServerHandle};
pub use server::{App, Server};
pub use ws::{
    Accept, CloseInfo, HookOutput, Hooks, Message, Payload, Peer, UpgradeRequest, UpgradeResult,
    WebSocketHandler, hooks,
};

/// The close codes, re-exported from the codec.
pub use crosswire_proto::CloseCode;

/// A custom HTTP reason phrase; insert it into a rejection's extensions to
/// send, say, `401 Go Away` instead of `401 Unauthorized`.
pub use hyper::ext::ReasonPhrase;

/// Everything a handler file usually needs: `use crosswire::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Accept, App, CloseInfo, Config, Message, Payload, Peer, ServerHandle, UpgradeRequest,
        UpgradeResult, WebSocketError, WebSocketHandler, hooks,
    };
    /// `json!` builds the JSON values handlers send, as in the seed.
    pub use serde_json::json;
}
