//! The topic index: topic name → subscribers.
//!
//! A subscriber is a WebSocket peer's send queue or an event stream. A publish
//! carries one prepared WebSocket frame; the event stream form of the same
//! message (its text as `data:` lines) is encoded at most once per publish,
//! on the first event stream met, and shared by all of them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use crosswire_proto::sse::encode_data;

use crate::broker::node::NodeBroker;
use crate::sse::core::{Ended, StreamCore};
use crate::sse::queue::Pushed as StreamPushed;
use crate::ws::outbox::{OutFrame, Outbox, Pushed};

/// Where a subscriber's messages go.
#[derive(Debug)]
enum Subscriber {
    /// A peer's send queue: gets the prepared frame.
    WebSocket(Arc<Outbox>),
    /// An event stream: gets the message as a `data:` event.
    EventStream(Arc<StreamCore>),
}

/// One subscriber: its key (peer or stream) and where messages go.
#[derive(Debug)]
struct Member {
    key: u64,
    subscriber: Subscriber,
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
    /// Told when a topic gets its first subscriber or loses its last one
    /// (node-level interest, for the broker).
    node: Arc<NodeBroker>,
}

impl TopicHub {
    /// An index that reports interest changes to `node`'s broker.
    pub(crate) fn new(node: Arc<NodeBroker>) -> Self {
        Self {
            topics: RwLock::default(),
            node,
        }
    }

    /// Adds a peer; returns false if it was already subscribed.
    pub(crate) fn subscribe(&self, topic: &str, key: u64, outbox: &Arc<Outbox>) -> bool {
        self.insert(topic, key, Subscriber::WebSocket(Arc::clone(outbox)))
    }

    /// Adds an event stream; returns false if it was already subscribed.
    pub(crate) fn subscribe_stream(&self, topic: &str, key: u64, stream: &Arc<StreamCore>) -> bool {
        self.insert(topic, key, Subscriber::EventStream(Arc::clone(stream)))
    }

    fn insert(&self, topic: &str, key: u64, subscriber: Subscriber) -> bool {
        let mut topics = self
            .topics
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let members = topics.entry(Arc::from(topic)).or_insert_with(|| {
            self.node.interest(topic, true);
            Members::default()
        });
        if members.index.contains_key(&key) {
            return false;
        }
        members.index.insert(key, members.list.len());
        members.list.push(Member { key, subscriber });
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
            self.node.interest(topic, false);
        }
        true
    }

    /// Queues `frame` for every subscriber of `topic` except `exclude`, and
    /// returns how many queues accepted it. Event streams get the text of a
    /// text frame as one `data:` event; binary frames have no event form and
    /// skip them.
    pub(crate) fn publish(&self, topic: &str, frame: &OutFrame, exclude: Option<u64>) -> usize {
        let topics = self
            .topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(members) = topics.get(topic) else {
            return 0;
        };
        let mut delivered = 0;
        // Built on the first event stream met, then shared.
        let mut event: Option<Option<Bytes>> = None;
        // Streams the publish overflowed; they are finished after the read
        // lock is released, because finishing leaves topics (a write lock).
        let mut overflowed = Vec::new();
        for member in &members.list {
            if Some(member.key) == exclude {
                continue;
            }
            let queued = match &member.subscriber {
                Subscriber::WebSocket(outbox) => outbox.push(frame) == Pushed::Queued,
                Subscriber::EventStream(stream) => {
                    let Some(event) = event.get_or_insert_with(|| event_form(frame)) else {
                        continue;
                    };
                    match stream.queue.push(event.clone()) {
                        StreamPushed::Queued => true,
                        StreamPushed::Closed => false,
                        StreamPushed::Overflow => {
                            overflowed.push(Arc::clone(stream));
                            false
                        }
                    }
                }
            };
            delivered += usize::from(queued);
        }
        drop(topics);
        for stream in overflowed {
            stream.finish(Ended::Overflow);
        }
        delivered
    }

    /// Every topic with at least one subscriber: the node's interest, which a
    /// broker resubscribes to after a reconnect.
    pub(crate) fn topic_names(&self) -> Vec<String> {
        self.topics
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .map(|topic| topic.to_string())
            .collect()
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

/// The event stream form of a frame: its text as `data:` lines, or `None`
/// for a binary frame.
fn event_form(frame: &OutFrame) -> Option<Bytes> {
    if !frame.is_text() {
        return None;
    }
    // Text frames are built from Rust strings, so this only fails on a bug.
    let text = std::str::from_utf8(frame.payload()).ok()?;
    Some(encode_data(text))
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
    fn event_streams_share_one_encoded_event_per_publish() {
        let hub = TopicHub::default();
        let ws = outbox();
        let streams: Vec<_> = (0..3)
            .map(|_| Arc::new(StreamCore::new(None, 1 << 20)))
            .collect();
        hub.subscribe("t", 1, &ws);
        for (key, stream) in streams.iter().enumerate() {
            assert!(hub.subscribe_stream("t", 10 + key as u64, stream));
        }
        let frame = OutFrame::new(OpCode::Text, Bytes::from_static(b"a\nb"));
        assert_eq!(hub.publish("t", &frame, None), 4);
        assert_eq!(ws.buffered_amount(), frame.wire_len());
        let taken: Vec<Bytes> = streams
            .iter()
            .map(|stream| match stream.queue.take() {
                crate::sse::queue::Take::Chunk(bytes) => bytes,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(&taken[0][..], b"data: a\ndata: b\n\n");
        for bytes in &taken {
            assert_eq!(bytes.as_ptr(), taken[0].as_ptr(), "encoded once, shared");
        }
        let binary = OutFrame::new(OpCode::Binary, Bytes::from_static(b"\x00"));
        assert_eq!(hub.publish("t", &binary, None), 1);
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
