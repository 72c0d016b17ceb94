//! Building and running a server: the [`App`] builder, our own accept loop,
//! and the routing of each request to a WebSocket handler or to axum.
//!
//! The accept loop drives `hyper::server::conn::http1` directly (rather than
//! `axum::serve`) so that an upgraded connection can be taken back as the
//! original `TcpStream` and shared by its reader and writer tasks (or, with
//! `[server.tls]`, as the TLS stream, split between them; see `secure`). A
//! plain connection whose first read is a whole `GET` request head, a
//! WebSocket upgrade or an event stream, skips hyper altogether (`direct`).
//!
//! A server runs `[server] workers` worker threads, one current-thread
//! runtime each (thread-per-core): the accept loop hands every connection to
//! the worker with the fewest live connections, and the connection stays
//! there for its whole life. With one worker, connections are served on the
//! runtime that runs the server. The `pubsub` module says how a publish
//! reaches subscribers on other workers.
//!
//! [`Crosswire`] is the other way in: mounted in an axum app that someone
//! else serves, with the same hooks, limits and shutdown, on that app's
//! runtime and its upgraded streams (the `mount` module says what that
//! costs).

mod accept;
mod acceptor;
mod admission;
pub(crate) use admission::Refusal;
mod affinity;
mod app;
mod background;
mod bind;
mod body_stall;
pub(crate) mod bounded_writes;
mod corking;
mod direct;
mod direct_response;
mod drain;
mod handshake_rate;
#[cfg(test)]
mod idle_footprint_tests;
mod listener;
mod log_every;
mod memory;
mod metered;
mod mount;
#[cfg(feature = "tls")]
mod open_streams;
mod per_address;
mod priority;
#[cfg(feature = "tls")]
mod secure;
mod service;
mod stall;
#[cfg(test)]
mod test_sockets;
mod tracker;
pub(crate) use tracker::TaskGuard;
mod upgrade;
mod workers;
mod write_batch;

pub use app::App;
pub use listener::{Server, shutdown_signal};
pub use mount::{Crosswire, CrosswireBuilder, CrosswireLayer, CrosswireService};
