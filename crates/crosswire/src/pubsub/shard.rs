//! One worker's topic index: the subscribers that live on that worker.
//!
//! A subscriber is indexed on the worker that runs its connection, so a
//! publish delivers to it from its own thread: its queue's lock and its
//! writer's wake-up stay on one core. The lock here is taken by that worker
//! for every publish and delivery, and by other threads only to subscribe or
//! unsubscribe one of this worker's connections, so it is almost never
//! contended and its cache line stays put.
//!
//! Lock order: a shard's lock, then the node's interest map, then a worker's
//! inbox. Nothing awaits under any of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::interest::{InterestMap, TopicInterest};
use super::members::{Members, Subscriber};

/// A topic's subscribers on this worker and the topic's node-wide interest.
#[derive(Debug)]
pub(crate) struct LocalTopic {
    pub(crate) members: Members,
    pub(crate) interest: Arc<TopicInterest>,
}

/// The topics of one worker.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    topics: Mutex<HashMap<Arc<str>, LocalTopic>>,
}

/// What a subscribe changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Joined {
    /// The key was already subscribed.
    Already,
    /// Subscribed; `first_on_node` when no subscriber of the topic existed
    /// anywhere in the process before. `name` is the index's own copy of the
    /// topic's name, which a subscriber can keep instead of a copy of its own.
    Yes { first_on_node: bool, name: Arc<str> },
}

/// What an unsubscribe changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Left {
    /// The key was not subscribed.
    NotSubscribed,
    /// Unsubscribed; `last_on_node` when the topic has no subscriber left
    /// anywhere in the process.
    Yes { last_on_node: bool },
}

impl Shard {
    pub(crate) fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, LocalTopic>> {
        // Only moves of members and counts happen under this lock; a panic
        // elsewhere cannot leave them half-done.
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a subscriber living on `worker` (this shard's worker).
    pub(crate) fn insert(
        &self,
        worker: usize,
        node: &InterestMap,
        topic: &str,
        key: u64,
        subscriber: Subscriber,
    ) -> Joined {
        let kind = subscriber.kind();
        let mut topics = self.lock();
        if let Some(local) = topics.get_mut(topic) {
            if !local.members.insert(key, subscriber) {
                return Joined::Already;
            }
            local.interest.add(worker, kind);
            let name = topics
                .get_key_value(topic)
                .map_or_else(|| Arc::from(topic), |(name, _)| Arc::clone(name));
            return Joined::Yes {
                first_on_node: false,
                name,
            };
        }
        let joined = node.join(topic, worker, kind);
        let mut members = Members::default();
        members.insert(key, subscriber);
        let name: Arc<str> = Arc::from(topic);
        topics.insert(
            Arc::clone(&name),
            LocalTopic {
                members,
                interest: joined.interest,
            },
        );
        Joined::Yes {
            first_on_node: joined.first_on_node,
            name,
        }
    }

    /// Removes a subscriber. A topic left without subscribers is removed, so
    /// topic names chosen by clients cannot pile up.
    pub(crate) fn remove(&self, worker: usize, node: &InterestMap, topic: &str, key: u64) -> Left {
        let mut topics = self.lock();
        let Some(local) = topics.get_mut(topic) else {
            return Left::NotSubscribed;
        };
        let Some(kind) = local.members.remove(key) else {
            return Left::NotSubscribed;
        };
        local.interest.sub(worker, kind);
        if !local.members.is_empty() {
            return Left::Yes {
                last_on_node: false,
            };
        }
        let Some(local) = topics.remove(topic) else {
            return Left::Yes {
                last_on_node: false,
            };
        };
        let last_on_node = node.left(topic, &local.interest);
        Left::Yes { last_on_node }
    }

    /// Number of topics with a subscriber on this worker.
    #[cfg(test)]
    pub(crate) fn topic_count(&self) -> usize {
        self.lock().len()
    }
}
