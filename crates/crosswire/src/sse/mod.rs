//! Server-Sent Events: h3's `createEventStream` in Rust, with keep-alive,
//! resume and topics.
//!
//! An [`EventStream`] is created from a request, handed events with `push`,
//! and returned as the response with `send`. Unlike h3 it also notices a
//! client that disconnects (so `on_closed` runs and producers stop), keeps
//! idle connections alive through proxies, bounds what a slow client can make
//! the server hold, hands a reconnecting client's `Last-Event-ID` to the
//! handler, and can subscribe to the same topics as WebSocket peers.
//!
//! The seed's clock, a timestamp every second until the client leaves:
//!
//! ```no_run
//! use axum::extract::Request;
//! use axum::response::Response;
//! use axum::routing::get;
//! use crosswire::prelude::*;
//!
//! async fn sse(request: Request) -> Response {
//!     let stream = create_event_stream(&request);
//!     let clock = stream.clone();
//!     let ticker = tokio::spawn(async move {
//!         let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
//!         loop {
//!             every.tick().await;
//!             clock.push(format!("Message @ {:?}", std::time::SystemTime::now()));
//!         }
//!     });
//!     stream.on_closed(async move || ticker.abort());
//!     stream.send()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! App::new().route("/api/sse", get(sse)).listen().await?.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Topics: a stream that subscribes receives every text message published to
//! the topic, by a WebSocket peer's `publish` or by
//! [`ServerHandle::publish`](crate::ServerHandle::publish), as a `data:`
//! event. The event is encoded once per publish and shared by every stream.
//!
//! ```no_run
//! use crosswire::prelude::*;
//!
//! async fn chat_feed(stream: EventStream) -> EventStream {
//!     stream.subscribe("chat");
//!     stream
//! }
//! ```
//!
//! # Layout
//!
//! - `stream`: [`EventStream`], the handle, and [`create_event_stream`];
//! - `events`: [`IntoEvents`], what `push` accepts;
//! - `core`: what the handles, the body and the topic index share, and the
//!   single place a stream ends;
//! - `queue`: the bounded byte queue between producers and the body;
//! - `body`: the response, keep-alive and disconnect detection.
//!
//! The wire format itself is [`crosswire_proto::sse`].

mod body;
pub(crate) mod core;
mod events;
pub(crate) mod queue;
mod stream;

pub use crosswire_proto::sse::SseEvent;
pub use events::IntoEvents;
pub use stream::{EventStream, RequestHead, create_event_stream};
