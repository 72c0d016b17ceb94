//! Which workers have subscribers of which topic: the node's interest.
//!
//! Each topic with a subscriber anywhere in the process has one
//! [`TopicInterest`]: a subscriber count per worker. A worker's topic entry
//! keeps an `Arc` of it, so a publish reads the other workers' counts with
//! plain atomic loads and never touches the node-wide map, whose lock is taken
//! only when a topic appears on or disappears from a worker (rare next to
//! publishing) and by publishers on threads that have no entry for the topic.
//!
//! Who writes what: worker `w`'s count changes only under worker `w`'s shard
//! lock; its 0 → 1 step (a new entry on that worker) and the removal of a
//! topic whose counts are all zero happen under this map's write lock, so a
//! topic is never removed while a worker is joining it. The map is also the
//! node's answer to "which topics do we listen to", which a broker needs to
//! subscribe and, after a reconnect, to subscribe again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::broker::node::NodeBroker;

/// The two kinds of subscriber, counted apart because binary messages reach
/// only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A WebSocket peer.
    Peer,
    /// An event stream.
    Stream,
}

/// Subscribers of one worker, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Count {
    pub(crate) peers: usize,
    pub(crate) streams: usize,
}

impl Count {
    pub(crate) fn total(self) -> usize {
        self.peers + self.streams
    }
}

/// Subscriber counts of one topic, one pair per worker.
#[derive(Debug)]
pub(crate) struct TopicInterest {
    peers: Box<[AtomicU32]>,
    streams: Box<[AtomicU32]>,
}

impl TopicInterest {
    fn new(workers: usize) -> Self {
        Self {
            peers: (0..workers).map(|_| AtomicU32::new(0)).collect(),
            streams: (0..workers).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    fn slot(&self, worker: usize, kind: Kind) -> Option<&AtomicU32> {
        match kind {
            Kind::Peer => self.peers.get(worker),
            Kind::Stream => self.streams.get(worker),
        }
    }

    /// Subscribers of the topic on `worker`.
    pub(crate) fn count(&self, worker: usize) -> Count {
        let load =
            |slot: Option<&AtomicU32>| slot.map_or(0, |n| n.load(Ordering::Acquire) as usize);
        Count {
            peers: load(self.peers.get(worker)),
            streams: load(self.streams.get(worker)),
        }
    }

    /// Subscribers on every worker.
    pub(crate) fn total(&self) -> usize {
        (0..self.peers.len()).map(|w| self.count(w).total()).sum()
    }

    /// Workers, each with its count, that have subscribers.
    pub(crate) fn workers(&self) -> impl Iterator<Item = (usize, Count)> + '_ {
        (0..self.peers.len()).filter_map(|w| {
            let count = self.count(w);
            (count.total() > 0).then_some((w, count))
        })
    }

    /// One more subscriber on `worker`. Called under that worker's shard lock.
    pub(crate) fn add(&self, worker: usize, kind: Kind) {
        if let Some(count) = self.slot(worker, kind) {
            count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// One subscriber fewer on `worker`. Called under that worker's shard lock.
    pub(crate) fn sub(&self, worker: usize, kind: Kind) {
        if let Some(count) = self.slot(worker, kind) {
            count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Every topic that has a subscriber somewhere in the process.
#[derive(Debug)]
pub(crate) struct InterestMap {
    workers: usize,
    /// Told, under the write lock, when a topic appears in or leaves the
    /// map, so a broker sees interest changes in the order they happened.
    node: Arc<NodeBroker>,
    topics: RwLock<HashMap<Arc<str>, Arc<TopicInterest>>>,
}

/// What joining a topic on a worker did at the node level.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) interest: Arc<TopicInterest>,
    /// The topic had no subscriber anywhere in the process before.
    pub(crate) first_on_node: bool,
}

impl InterestMap {
    pub(crate) fn new(workers: usize, node: Arc<NodeBroker>) -> Self {
        Self {
            workers,
            node,
            topics: RwLock::new(HashMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Arc<str>, Arc<TopicInterest>>> {
        // Only counts and map entries move under this lock; a panic elsewhere
        // cannot leave them half-written.
        self.topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Arc<str>, Arc<TopicInterest>>> {
        self.topics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first subscriber of `topic` on `worker` arrived: count it, creating
    /// the topic's entry if the process had none.
    pub(crate) fn join(&self, topic: &str, worker: usize, kind: Kind) -> Joined {
        let mut topics = self.write();
        let (interest, first_on_node) = match topics.get(topic) {
            Some(interest) => (Arc::clone(interest), false),
            None => {
                let interest = Arc::new(TopicInterest::new(self.workers));
                topics.insert(Arc::from(topic), Arc::clone(&interest));
                self.node.interest(topic, true);
                (interest, true)
            }
        };
        interest.add(worker, kind);
        Joined {
            interest,
            first_on_node,
        }
    }

    /// The last subscriber of `topic` on some worker left (its count is
    /// already zero). Removes the topic if no worker has a subscriber, and
    /// returns true if it did: the process no longer listens to it.
    pub(crate) fn left(&self, topic: &str, interest: &Arc<TopicInterest>) -> bool {
        let mut topics = self.write();
        let ours = topics
            .get(topic)
            .is_some_and(|current| Arc::ptr_eq(current, interest));
        if ours && interest.total() == 0 {
            topics.remove(topic);
            self.node.interest(topic, false);
            return true;
        }
        false
    }

    /// The interest in `topic`, for a publisher with no entry of its own.
    pub(crate) fn get(&self, topic: &str) -> Option<Arc<TopicInterest>> {
        self.read().get(topic).cloned()
    }

    /// Every topic with a subscriber somewhere in the process.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.read().keys().map(|topic| topic.to_string()).collect()
    }

    /// Number of topics with a subscriber.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_lives_while_any_worker_counts_a_subscriber() {
        let map = InterestMap::new(3, Arc::default());
        let a = map.join("t", 0, Kind::Peer);
        assert!(a.first_on_node);
        let b = map.join("t", 2, Kind::Stream);
        assert!(!b.first_on_node);
        assert!(Arc::ptr_eq(&a.interest, &b.interest));
        let peer = Count {
            peers: 1,
            streams: 0,
        };
        let stream = Count {
            peers: 0,
            streams: 1,
        };
        assert_eq!(
            a.interest.workers().collect::<Vec<_>>(),
            [(0, peer), (2, stream)]
        );
        a.interest.sub(0, Kind::Peer);
        assert!(!map.left("t", &a.interest), "worker 2 still listens");
        assert_eq!(map.topics(), ["t"]);
        b.interest.sub(2, Kind::Stream);
        assert!(map.left("t", &b.interest));
        assert_eq!(map.len(), 0);
        // A stale interest never removes a newer entry of the same name.
        let c = map.join("t", 1, Kind::Peer);
        assert!(c.first_on_node);
        assert!(!map.left("t", &a.interest));
        assert_eq!(map.len(), 1);
    }
}
