//! The node's end of the broker seam, used by the publish path and the
//! topic index: forward a local publish, follow local interest.
//!
//! With no broker (the default) every call is a branch on `None`, so a single
//! node pays nothing for scale-out.

use std::sync::Arc;

use super::Broker;
use super::envelope::{Envelope, NodeId};
use crate::ws::outbox::OutFrame;

/// This process's broker, if any, and its node id.
#[derive(Debug)]
pub(crate) struct NodeBroker {
    id: NodeId,
    broker: Option<Arc<dyn Broker>>,
}

impl Default for NodeBroker {
    fn default() -> Self {
        Self::new(None)
    }
}

impl NodeBroker {
    pub(crate) fn new(broker: Option<Arc<dyn Broker>>) -> Self {
        Self {
            id: NodeId::random(),
            broker,
        }
    }

    pub(crate) fn id(&self) -> NodeId {
        self.id
    }

    pub(crate) fn broker(&self) -> Option<&Arc<dyn Broker>> {
        self.broker.as_ref()
    }

    /// Hands one local publish to the broker for the other nodes. Never waits.
    pub(crate) fn forward(&self, topic: &str, frame: &OutFrame) {
        if let Some(broker) = &self.broker {
            let envelope = Envelope::encode(self.id, topic, !frame.is_text(), frame.payload());
            broker.publish(topic, envelope);
        }
    }

    /// The first local subscriber of `topic` arrived (`true`) or its last one
    /// left (`false`). Called under the topic index's write lock, so that
    /// changes reach the broker in the order the index saw them.
    pub(crate) fn interest(&self, topic: &str, subscribed: bool) {
        if let Some(broker) = &self.broker {
            if subscribed {
                broker.subscribe(topic);
            } else {
                broker.unsubscribe(topic);
            }
        }
    }
}
