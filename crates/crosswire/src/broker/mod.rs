//! Scale-out: topics shared by several server processes through a broker
//! (Redis, NATS, or anything that can carry bytes on named channels).
//!
//! A broker carries publishes between *nodes* (server processes). Each node
//! keeps its own topic index and its own peers; the broker only moves one
//! [`Envelope`] per publish (or one batch of a run of publishes to the same
//! channel, [`Envelope::encode_batch`]) to the nodes that have a subscriber
//! for its topic.
//! With no broker configured (the default) a server is a single node and
//! nothing here runs. The engines live in their own crates,
//! `crosswire-redis` and `crosswire-nats`, so the default build pulls in no
//! client library; [`MemoryBus`] joins servers inside one process.
//!
//! # The contract
//!
//! What every [`Broker`] and the node around it guarantee, and what an engine
//! written outside this workspace (Postgres `LISTEN/NOTIFY`, say) must keep:
//!
//! - A publish (`Peer::publish`, `ServerHandle::publish`, which event streams
//!   subscribed to a topic receive too) MUST reach the local subscribers at
//!   once, before and regardless of the broker, and is then handed to
//!   [`Broker::publish`] as one envelope.
//! - [`Broker::publish`], [`Broker::subscribe`] and [`Broker::unsubscribe`]
//!   MUST NOT block or wait on the network: they run on the publish path and
//!   under the topic index's lock. Push to a bounded buffer
//!   ([`OutgoingBuffer`], [`InterestChanges`]) and let a background task talk
//!   to the engine.
//! - A node MUST receive every remote publish for a topic that any of its
//!   WebSocket peers or event streams is subscribed to, exactly once while
//!   the broker is up, and hand it to [`BrokerLink::receive`], which delivers
//!   it to every local subscriber, framed once for all of them, and never
//!   sends it back to the broker.
//! - A node MUST NOT deliver its own publishes a second time: envelopes carry
//!   the origin [`NodeId`] and `receive` drops its own. The sender of a
//!   `Peer::publish` is excluded on its node and is on no other.
//! - Text MUST stay text and binary stay binary (JSON is text).
//! - Interest follows subscriptions: [`Broker::subscribe`] is called when a
//!   topic gets its first local subscriber and [`Broker::unsubscribe`] when
//!   it loses its last. A broker MUST NOT subscribe to a wildcard to receive
//!   everything; traffic for topics nobody here listens to must not arrive.
//! - Order: messages from one publisher on one topic MUST arrive in publish
//!   order on every node. One connection per direction is the simple way; an
//!   engine may join consecutive envelopes of one channel into a batch, which
//!   [`BrokerLink::receive`] delivers in order.
//! - Faults: a broker MUST reconnect by itself and, after a reconnect,
//!   resubscribe to every topic of [`BrokerLink::interest`]. While the engine
//!   is unreachable or slow, publishes wait in a bounded buffer and past it
//!   are dropped and counted ([`BrokerStats::dropped`]). Failures go to
//!   [`BrokerLink::report`] (logged, then the app's `on_broker_error`) with
//!   their [`BrokerStage`]; they MUST NOT panic, close peers or block a hook.
//!   A message that does not decode is dropped and reported, never delivered
//!   in part.
//! - Delivery across nodes is **at-most-once**, like Redis pub/sub and NATS
//!   core: a publish made while a node is disconnected from the broker, or
//!   sitting in a write the broker never acknowledged when its connection
//!   died, is lost for the other nodes. It is never resent (a resend could
//!   arrive twice or out of order). Local delivery never depends on it.
//! - `peers()` is local: [`ServerHandle::peers`](crate::ServerHandle::peers)
//!   and `Peer::peers` list this node's peers only, and
//!   `subscriber_count` counts this node's subscribers.
//!
//! # Writing a broker
//!
//! ```
//! use bytes::Bytes;
//! use crosswire::broker::{Broker, BrokerLink};
//!
//! /// Loops every publish back to its own node: useless, but complete.
//! #[derive(Debug, Default)]
//! struct Loopback(std::sync::OnceLock<BrokerLink>);
//!
//! impl Broker for Loopback {
//!     fn start(&self, link: BrokerLink) {
//!         let _ = self.0.set(link);
//!     }
//!     fn publish(&self, _topic: &str, envelope: Bytes) {
//!         if let Some(link) = self.0.get() {
//!             link.receive(&envelope); // dropped: our own node id
//!         }
//!     }
//!     fn subscribe(&self, _topic: &str) {}
//!     fn unsubscribe(&self, _topic: &str) {}
//! }
//!
//! let app = crosswire::App::new().broker(Loopback::default());
//! ```

mod envelope;
mod error;
mod history;
mod interest;
pub(crate) mod link;
mod memory;
pub(crate) mod node;
mod outgoing;

use bytes::Bytes;

pub use envelope::{Envelope, EnvelopeError, NodeId};
pub use error::{BrokerConfigError, BrokerError, BrokerStage};
pub(crate) use history::decode_positioned;
pub use history::{BrokerHistory, HistoryBounds, HistoryFuture, HistoryPage, encode_positioned};
pub use interest::InterestChanges;
pub use link::{BrokerLink, Received};
pub use memory::{MemoryBroker, MemoryBus};
pub use outgoing::{OutgoingBuffer, Pushed};

/// Carries publishes between server processes. See the [module
/// docs](self) for the contract every implementation keeps.
pub trait Broker: Send + Sync + std::fmt::Debug + 'static {
    /// Called once when the server is built, inside its tokio runtime: keep
    /// the link and spawn the background tasks. MUST NOT block.
    fn start(&self, link: BrokerLink);

    /// Sends one encoded [`Envelope`] to the other nodes subscribed to
    /// `topic`. MUST NOT block; buffer (bounded) and return.
    fn publish(&self, topic: &str, envelope: Bytes);

    /// `topic` got its first local subscriber: start receiving it. MUST NOT
    /// block (it runs under the topic index's lock).
    fn subscribe(&self, topic: &str);

    /// `topic` lost its last local subscriber: stop receiving it. MUST NOT
    /// block.
    fn unsubscribe(&self, topic: &str);

    /// The server stopped: end the background tasks. Default: nothing.
    fn stop(&self) {}

    /// Counters for monitoring. Default: zeros.
    fn stats(&self) -> BrokerStats {
        BrokerStats::default()
    }

    /// The history this broker keeps, when it sequences `[[history]]`
    /// topics across nodes (see [`BrokerHistory`]). Default: `None`, and
    /// each node keeps its own history.
    fn history(&self) -> Option<&dyn BrokerHistory> {
        None
    }
}

/// A broker chosen at run time (by the URL's scheme, say) is a boxed one.
impl Broker for Box<dyn Broker> {
    fn start(&self, link: BrokerLink) {
        (**self).start(link);
    }
    fn publish(&self, topic: &str, envelope: Bytes) {
        (**self).publish(topic, envelope);
    }
    fn subscribe(&self, topic: &str) {
        (**self).subscribe(topic);
    }
    fn unsubscribe(&self, topic: &str) {
        (**self).unsubscribe(topic);
    }
    fn stop(&self) {
        (**self).stop();
    }
    fn history(&self) -> Option<&dyn BrokerHistory> {
        (**self).history()
    }
    fn stats(&self) -> BrokerStats {
        (**self).stats()
    }
}

/// A broker's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerStats {
    /// Publishes dropped because the outgoing buffer was full.
    pub dropped: u64,
    /// Bytes of publishes waiting to be sent.
    pub buffered_bytes: usize,
}

impl BrokerStats {
    /// Counters with the given values.
    pub fn new(dropped: u64, buffered_bytes: usize) -> Self {
        Self {
            dropped,
            buffered_bytes,
        }
    }
}
