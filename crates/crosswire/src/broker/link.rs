//! The node's side of a broker: what a broker may call back into.
//!
//! A broker gets one [`BrokerLink`] when its server starts. Through it the
//! broker hands over what it read from the engine ([`BrokerLink::receive`]),
//! asks which topics to resubscribe after a reconnect
//! ([`BrokerLink::interest`]) and reports failures ([`BrokerLink::report`]).
//! The link holds the server weakly: a broker task that outlives its server
//! finds [`BrokerLink::is_closed`] true and stops.

use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::envelope::{Envelope, NodeId};
use super::error::{BrokerError, BrokerStage};
use crate::shared::Shared;
use crate::ws::outbox::OutFrame;

/// The app's `on_broker_error` callback.
pub(crate) type ErrorCallback = Arc<dyn Fn(&BrokerError) + Send + Sync>;

/// What [`BrokerLink::receive`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Received {
    /// Delivered to this many local subscribers (possibly none: the last one
    /// may just have left).
    Delivered(usize),
    /// This node published it; dropped.
    Own,
    /// Not a valid envelope; dropped, logged and reported (stage `decode`).
    Malformed,
    /// The server has stopped; dropped.
    Closed,
}

/// A handle on the node a broker serves. Cheap to clone.
#[derive(Clone)]
pub struct BrokerLink {
    node: NodeId,
    shared: Weak<Shared>,
    on_error: Option<ErrorCallback>,
}

impl BrokerLink {
    pub(crate) fn new(node: NodeId, shared: Weak<Shared>, on_error: Option<ErrorCallback>) -> Self {
        Self {
            node,
            shared,
            on_error,
        }
    }

    /// This node's id, as written in the envelopes it publishes.
    pub fn node_id(&self) -> NodeId {
        self.node
    }

    /// Delivers what one broker message carries (an envelope, or a batch of
    /// them) to every local subscriber of its topic (none excluded), each
    /// publish framed once for all of them, in order, and never forwarded
    /// back to the broker. Drops the node's own publishes and refuses a
    /// message any part of which does not decode. Never waits.
    pub fn receive(&self, bytes: &[u8]) -> Received {
        if let Some(positioned) = super::decode_positioned(bytes) {
            return match positioned {
                Ok(message) => {
                    self.receive_positioned(message.epoch, message.offset, message.envelope)
                }
                Err(_) => {
                    self.report(BrokerError::new(
                        BrokerStage::Decode,
                        format_args!(
                            "dropped a positioned message of {} bytes: bad head",
                            bytes.len()
                        ),
                    ));
                    Received::Malformed
                }
            };
        }
        let envelopes = match Envelope::decode_all(bytes) {
            Ok(envelopes) => envelopes,
            Err(error) => {
                self.report(BrokerError::new(
                    BrokerStage::Decode,
                    format_args!("dropped a message of {} bytes: {error}", bytes.len()),
                ));
                return Received::Malformed;
            }
        };
        // A batch is from one node (decoding checked it).
        if envelopes.first().is_some_and(|e| e.origin == self.node) {
            return Received::Own;
        }
        let Some(shared) = self.shared.upgrade() else {
            return Received::Closed;
        };
        let mut delivered = 0;
        for envelope in envelopes {
            let frame = OutFrame::new(envelope.opcode(), Bytes::copy_from_slice(envelope.payload));
            delivered += shared.deliver_remote(envelope.topic, frame);
        }
        Received::Delivered(delivered)
    }

    /// Delivers one envelope of a topic whose history the broker keeps, at
    /// the position `epoch:offset` the broker gave it in its log (see
    /// [`BrokerHistory`](super::BrokerHistory)), to every local subscriber,
    /// this node's own publishes included (but the peer that published
    /// it). A message already delivered (an offset at or below the latest
    /// received, same epoch) is skipped. Never waits.
    pub fn receive_positioned(&self, epoch: &str, offset: u64, envelope: &[u8]) -> Received {
        let envelope = match Envelope::decode(envelope) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.report(BrokerError::new(
                    BrokerStage::Decode,
                    format_args!(
                        "dropped a positioned message of {} bytes: {error}",
                        envelope.len()
                    ),
                ));
                return Received::Malformed;
            }
        };
        let Some(shared) = self.shared.upgrade() else {
            return Received::Closed;
        };
        Received::Delivered(shared.deliver_positioned(epoch, offset, &envelope))
    }

    /// The bounds of `topic`'s history by this node's `[[history]]` rules;
    /// `None` when it keeps none.
    pub fn history_bounds(&self, topic: &str) -> Option<super::HistoryBounds> {
        self.shared
            .upgrade()
            .and_then(|shared| shared.history.bounds(topic))
    }

    /// Every topic with at least one local subscriber (WebSocket peer or
    /// event stream): what to subscribe to after a reconnect.
    pub fn interest(&self) -> Vec<String> {
        self.shared
            .upgrade()
            .map(|shared| shared.topics.topics())
            .unwrap_or_default()
    }

    /// Logs a broker failure (target `crosswire::broker`) and hands it to the
    /// app's `on_broker_error` callback. A panicking callback is logged and
    /// does not stop the broker.
    pub fn report(&self, error: BrokerError) {
        if let Some(metrics) = self.shared.upgrade().as_deref().and_then(Shared::metrics) {
            metrics.events.broker_error(error.stage());
        }
        tracing::warn!(
            target: "crosswire::broker",
            node = %self.node,
            stage = %error.stage(),
            "{}",
            error.message()
        );
        if let Some(callback) = &self.on_error {
            let call = std::panic::AssertUnwindSafe(|| callback(&error));
            if std::panic::catch_unwind(call).is_err() {
                tracing::error!(target: "crosswire::broker", node = %self.node, "the on_broker_error callback panicked");
            }
        }
    }

    /// Like [`BrokerLink::report`], from a task of its own when called
    /// inside a tokio runtime: for failures noticed on the publish path (a
    /// full outgoing buffer), where the app's callback must not run inside
    /// the hook that published.
    pub fn report_soon(&self, error: BrokerError) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let link = self.clone();
                runtime.spawn(async move { link.report(error) });
            }
            Err(_) => self.report(error),
        }
    }

    /// Tells the node whether the broker is connected, for its metrics
    /// (`crosswire_broker_connected`): an engine calls it with `false` when
    /// it loses its connection and `true` once it is back (and resubscribed).
    /// A broker starts out connected.
    /// A lost connection also means this node may have missed messages,
    /// so its copies of the broker's history are read again before they
    /// serve a recovery.
    pub fn set_connected(&self, connected: bool) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if !connected {
            shared.node().lost_follow();
        }
        if let Some(metrics) = shared.metrics() {
            metrics.events.broker_connected(connected);
        }
    }

    /// True once the server this link serves is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.strong_count() == 0
    }
}

impl std::fmt::Debug for BrokerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerLink")
            .field("node", &self.node)
            .field("closed", &self.is_closed())
            .finish()
    }
}
