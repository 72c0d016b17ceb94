//! WebSocket handlers, peers and connections.
//!
//! - `hooks`: the [`WebSocketHandler`] trait and the [`hooks()`] closure builder;
//! - `peer`, `message`, `payload`: [`Peer`], [`Message`] and [`Payload`], what
//!   hooks work with;
//! - `request`, `accept`: the upgrade hook's input and answer;
//! - `out_frame`, `outbox`, `writer`, `connection`, `duplex`: a frame ready
//!   for the wire, the send queue, and the one task of a connection with its
//!   writing and reading halves;
//! - `deflate`: permessage-deflate as agreed with one peer.

mod accept;
mod batch_cursor;
mod buffer_pool;
mod close_info;
mod connection;
pub(crate) mod deflate;
mod dispatch;
mod duplex;
mod hooks;
pub(crate) mod keepalive;
#[cfg(unix)]
mod lot;
mod message;
mod out_frame;
pub(crate) mod outbox;
mod park;
mod payload;
mod peer;
mod peer_id;
pub(crate) mod queue_budget;
pub(crate) mod rate;
mod request;
mod signal;
mod transport;
mod writer;

pub use accept::{Accept, UpgradeResult};
pub use close_info::CloseInfo;
pub use hooks::{HookOutput, Hooks, WebSocketHandler, hooks};
pub use message::Message;
pub use payload::Payload;
pub use peer::Peer;
pub use queue_budget::SendQueueStats;
pub use rate::RateLimitStats;
pub use request::UpgradeRequest;

pub(crate) use connection::{read_settling, serve_connection};
pub(crate) use dispatch::{DynHandler, dyn_handler, guarded};
#[cfg(unix)]
pub(crate) use lot::LotSlot;
pub(crate) use outbox::Outbox;
#[cfg(feature = "tls")]
pub(crate) use transport::TlsStream;
pub(crate) use transport::Transport;

/// Sizes of a connection's parts, for the test that pins them.
#[cfg(test)]
pub(crate) mod footprint {
    pub(crate) use super::connection::reader_size;
    pub(crate) use super::duplex::ReaderWake;
    pub(crate) use super::park::parked_size;
    pub(crate) use super::writer::writer_future_size;
}
