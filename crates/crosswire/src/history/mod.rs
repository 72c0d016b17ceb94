//! History and recovery: a client that reconnects gets exactly what it
//! missed, in order, then the live messages, with no gap and no duplicate.
//!
//! Networks drop: a phone changes cells, a laptop sleeps, a server restarts
//! in a rolling deploy. Without history a reconnecting client has silently
//! lost every message published while it was away. With a `[[history]]`
//! rule for a topic, every publish on it gets a [`StreamPosition`]
//! (`<epoch>:<offset>`, the offset one more per publish) and is kept, within
//! the rule's `size`, `ttl` and `max_bytes`, in a ring per topic.
//!
//! - **Event streams** subscribed to a history topic get `id: <epoch>:<offset>`
//!   on each of its events. A browser's `EventSource` that reconnects sends
//!   the last one as `Last-Event-ID`, and
//!   [`EventStream::subscribe`](crate::EventStream::subscribe) replays what
//!   follows it before going live. When that is no longer possible (another
//!   epoch: the history was lost; or a gap larger than what is kept) the
//!   stream first sends
//!   `event: recovery` with `data: {"recovered":false,"epoch":"…","offset":N}`
//!   and `id: <epoch>:<N>` (the topic's latest position): the client should
//!   reload its state.
//! - **WebSocket peers** join with
//!   [`Peer::subscribe_with_recovery`](crate::Peer::subscribe_with_recovery),
//!   given the position the client last saw (the app chooses how the client
//!   sends it; the chat example uses `?since=<epoch>:<offset>`), and learn
//!   from the returned [`Recovery`] whether nothing was lost. A WebSocket
//!   message carries no id of its own, so the app puts the position in the
//!   message: [`Peer::publish_with`](crate::Peer::publish_with) and
//!   [`ServerHandle::publish_with`](crate::ServerHandle::publish_with) build
//!   the payload from the position the publish gets.
//!
//! ```no_run
//! use crosswire::history::StreamPosition;
//! use crosswire::prelude::*;
//!
//! fn chat() -> impl WebSocketHandler {
//!     hooks()
//!         .open(|peer: Peer| async move {
//!             // ws://host/chat?since=<epoch>:<offset>
//!             let since: Option<StreamPosition> = peer
//!                 .request()
//!                 .query()
//!                 .and_then(|q| q.strip_prefix("since="))
//!                 .and_then(|p| p.parse().ok());
//!             let recovery = peer.subscribe_with_recovery("chat", since.as_ref()).await;
//!             if !recovery.recovered() {
//!                 peer.send(json!({ "reset": true, "id": recovery.position() }));
//!             }
//!         })
//!         .message(|peer: Peer, message: Message| async move {
//!             // Everyone, the sender too, gets the message with its
//!             // position, in the topic's order.
//!             peer.publish_with_echo("chat", |id| {
//!                 json!({ "id": id, "message": message.text() })
//!             });
//!         })
//! }
//! ```
//!
//! # Order and the seam
//!
//! Offsets follow the order every local subscriber receives the messages
//! in, on every worker: a topic's publish is positioned, kept and queued
//! under one lock, and a recovering subscriber is replayed and joined under
//! the same lock (see `publish.rs`), so the replay ends exactly where the
//! live messages begin. A history publish is queued on every subscriber at
//! once rather than through the workers' inboxes; it first has the inboxes
//! it could overtake carried out (`pubsub/hub/catch_up.rs`), so a `send` or
//! plain publish its producer handed to another worker just before still
//! arrives first.
//!
//! # Memory
//!
//! A kept entry shares the publish's payload with the live delivery (no
//! copy) and counts twice its frame plus a fixed overhead against
//! `max_bytes` (the second time for the event-stream form it may grow). The
//! README gives the measured figure per topic.
//!
//! # Across nodes
//!
//! With a broker that keeps history (Redis, NATS JetStream: see
//! [`BrokerHistory`](crate::broker::BrokerHistory)), the broker orders and
//! positions a history topic's publishes and keeps its log, so positions
//! agree on every node and a client recovers on any of them (see
//! `sequenced.rs`). A publish then reaches the subscribers, its own node's
//! too, once the broker has sent it back: [`Published`] reports no
//! position and no local delivery, and a `publish_with` builder is given a
//! stand-in position whose text every node replaces in the payload.
//! Recovery may then read the broker's log, which is why
//! `subscribe_with_recovery` is `async`.
//!
//! With a broker that keeps none (the default for an engine written
//! elsewhere), history is kept by each node for its own publishes:
//! messages from other nodes are not kept, and a client that reconnects to
//! another node is told its history is lost (another epoch), never given a
//! wrong replay.

mod outcome;
mod position;
mod publish;
mod ring;
mod rules;
mod sequenced;
mod store;

pub use outcome::{Published, Recovery};
pub use position::{ParsePositionError, StreamPosition};
pub(crate) use publish::{Attempt, ReplayTarget, Since};
pub(crate) use store::HistoryStore;
