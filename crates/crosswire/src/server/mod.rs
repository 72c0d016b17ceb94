//! Building and running a server: the [`App`] builder, our own accept loop,
//! and the routing of each request to a WebSocket handler or to axum.
//!
//! The accept loop drives `hyper::server::conn::http1` directly (rather than
//! `axum::serve`) so that an upgraded connection can be taken back as the
//! original `TcpStream` and split into owned read and write halves, one per
//! task.

mod accept;
mod app;
mod bind;
mod listener;
mod priority;
mod service;
mod tracker;
mod upgrade;
mod workers;

pub use app::App;
pub use listener::{Server, shutdown_signal};
