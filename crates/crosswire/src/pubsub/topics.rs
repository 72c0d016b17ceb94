//! The topic index: topic name → subscribers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::ws::outbox::{OutFrame, Outbox, Pushed};

/// One subscriber: the peer's key and its send queue.
#[derive(Debug)]
struct Member {
    key: u64,
    outbox: Arc<Outbox>,
}

/// The subscribers of one topic. A `Vec` keeps iteration tight for fan-out;
/// `index` makes unsubscribing O(1) with `swap_remove` (delivery order across
/// subscribers carries no meaning, only order per connection does).
#[derive(Debug, Default)]
struct Members {
    list: Vec<Member>,
    index: HashMap<u64, usize>,
}

/// Every topic of the server and its subscribers.
#[derive(Debug, Default)]
pub(crate) struct TopicHub {
    topics: RwLock<HashMap<Arc<str>, Members>>,
}

impl TopicHub {
    /// Adds a subscriber; returns false if it was already subscribed.
    pub(crate) fn subscribe(&self, topic: &str, key: u64, outbox: &Arc<Outbox>) -> bool {
        let mut topics = self
            .topics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let members = topics.entry(Arc::from(topic)).or_default();
        if members.index.contains_key(&key) {
            return false;
        }
        members.index.insert(key, members.list.len());
        members.list.push(Member {
            key,
            outbox: Arc::clone(outbox),
        });
        true
    }

    /// Removes a subscriber; returns false if it was not subscribed. An empty
    /// topic is removed so that topic names chosen by clients cannot pile up.
    pub(crate) fn unsubscribe(&self, topic: &str, key: u64) -> bool {
        let mut topics = self
            .topics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(members) = topics.get_mut(topic) else {
            return false;
        };
        let Some(position) = members.index.remove(&key) else {
            return false;
        };
        members.list.swap_remove(position);
        if let Some(moved) = members.list.get(position) {
            members.index.insert(moved.key, position);
        }
        if members.list.is_empty() {
            topics.remove(topic);
        }
        true
    }

    /// Queues `frame` for every subscriber of `topic` except `exclude`, and
    /// returns how many queues accepted it.
    pub(crate) fn publish(&self, topic: &str, frame: &OutFrame, exclude: Option<u64>) -> usize {
        let topics = self
            .topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(members) = topics.get(topic) else {
            return 0;
        };
        let mut delivered = 0;
        for member in &members.list {
            if Some(member.key) == exclude {
                continue;
            }
            if member.outbox.push(frame.clone()) == Pushed::Queued {
                delivered += 1;
            }
        }
        delivered
    }

    /// Number of subscribers of `topic`.
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(topic)
            .map_or(0, |m| m.list.len())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::config::OverflowPolicy;

    fn outbox() -> Arc<Outbox> {
        Arc::new(Outbox::new(1 << 20, OverflowPolicy::Close))
    }

    #[test]
    fn publish_skips_the_excluded_key_and_reaches_the_rest_once() {
        let hub = TopicHub::default();
        let (a, b, c) = (outbox(), outbox(), outbox());
        assert!(hub.subscribe("chat", 1, &a));
        assert!(!hub.subscribe("chat", 1, &a));
        hub.subscribe("chat", 2, &b);
        hub.subscribe("chat", 3, &c);
        let frame = OutFrame::new(OpCode::Text, Bytes::from_static(b"hi"));
        assert_eq!(hub.publish("chat", &frame, Some(1)), 2);
        assert_eq!(a.buffered_amount(), 0);
        assert_eq!(b.buffered_amount(), frame.wire_len());
        assert_eq!(c.buffered_amount(), frame.wire_len());
    }

    #[test]
    fn unsubscribe_keeps_the_index_consistent_and_drops_empty_topics() {
        let hub = TopicHub::default();
        let boxes: Vec<_> = (0..5).map(|_| outbox()).collect();
        for (key, b) in boxes.iter().enumerate() {
            hub.subscribe("t", key as u64, b);
        }
        assert!(hub.unsubscribe("t", 0));
        assert!(!hub.unsubscribe("t", 0));
        assert!(hub.unsubscribe("t", 3));
        let frame = OutFrame::new(OpCode::Text, Bytes::from_static(b"x"));
        assert_eq!(hub.publish("t", &frame, None), 3);
        for key in [1, 2, 4] {
            assert!(hub.unsubscribe("t", key));
        }
        assert_eq!(hub.subscriber_count("t"), 0);
        assert!(hub.topics.read().unwrap().is_empty());
    }
}
