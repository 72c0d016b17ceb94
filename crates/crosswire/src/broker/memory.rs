//! The in-process broker: several servers in one process, one topic space.
//!
//! A single server needs no broker at all (that is the default: its topic
//! index is the whole truth). [`MemoryBus`] joins several servers of one
//! process as if they were nodes on Redis or NATS: same envelopes, same
//! interest tracking, same "drop my own" rule. It is what the conformance
//! suite runs as its reference, and a way to shard one process's servers.
//!
//! Delivery is synchronous: a publish is decoded and queued on the other
//! nodes' subscribers before `publish` returns. That needs no buffer and keeps
//! per-publisher order trivially; it costs the publisher the other nodes'
//! fan-out, which is the price of being in one process.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::{Broker, BrokerLink};

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One node's state on the bus.
#[derive(Debug, Default)]
struct Node {
    link: OnceLock<BrokerLink>,
    topics: Mutex<HashSet<String>>,
}

/// A topic space shared by the servers of one process.
///
/// ```no_run
/// use crosswire::App;
/// use crosswire::broker::MemoryBus;
///
/// # async fn run() -> Result<(), crosswire::ServeError> {
/// let bus = MemoryBus::new();
/// let a = App::new().broker(bus.broker()).listen_on("127.0.0.1:0").await?;
/// let b = App::new().broker(bus.broker()).listen_on("127.0.0.1:0").await?;
/// // A publish on `a` reaches the subscribers on `b`.
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryBus {
    nodes: Arc<Mutex<Vec<Arc<Node>>>>,
}

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// A broker for one more server on this bus.
    pub fn broker(&self) -> MemoryBroker {
        let node = Arc::new(Node::default());
        lock(&self.nodes).push(Arc::clone(&node));
        MemoryBroker {
            bus: self.clone(),
            node,
        }
    }
}

/// One server's connection to a [`MemoryBus`].
#[derive(Debug)]
pub struct MemoryBroker {
    bus: MemoryBus,
    node: Arc<Node>,
}

impl Broker for MemoryBroker {
    fn start(&self, link: BrokerLink) {
        let _ = self.node.link.set(link);
    }

    fn publish(&self, topic: &str, envelope: Bytes) {
        // Collect first, deliver after: delivering takes the other nodes'
        // index locks, which must never be taken under the bus lock (a node
        // calls `subscribe` under its index lock).
        let targets: Vec<BrokerLink> = lock(&self.bus.nodes)
            .iter()
            .filter(|node| lock(&node.topics).contains(topic))
            .filter_map(|node| node.link.get().cloned())
            .collect();
        for link in targets {
            link.receive(&envelope);
        }
    }

    fn subscribe(&self, topic: &str) {
        lock(&self.node.topics).insert(topic.to_owned());
    }

    fn unsubscribe(&self, topic: &str) {
        lock(&self.node.topics).remove(topic);
    }

    fn stop(&self) {
        lock(&self.bus.nodes).retain(|node| !Arc::ptr_eq(node, &self.node));
    }
}
