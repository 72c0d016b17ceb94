//! The node's end of the broker seam, used by the publish path and the
//! topic index: forward a local publish, follow local interest.
//!
//! With no broker (the default) every call is a branch on `None`, so a single
//! node pays nothing for scale-out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::envelope::{Envelope, NodeId};
use super::{Broker, BrokerHistory};
use crate::ws::outbox::OutFrame;

/// This process's broker, if any, and its node id.
#[derive(Debug)]
pub(crate) struct NodeBroker {
    id: NodeId,
    broker: Option<Arc<dyn Broker>>,
    /// Grows each time this node may have stopped receiving some topic (a
    /// topic lost its last local subscriber, or the broker's connection
    /// dropped): a copy of the broker's history made live before that is
    /// no longer known to be complete.
    follow_generation: AtomicU64,
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
            follow_generation: AtomicU64::new(0),
        }
    }

    /// The broker's history, when it keeps `[[history]]` topics.
    pub(crate) fn history(&self) -> Option<&dyn BrokerHistory> {
        self.broker.as_deref().and_then(|broker| broker.history())
    }

    /// See `follow_generation`.
    pub(crate) fn follow_generation(&self) -> u64 {
        self.follow_generation.load(Ordering::Acquire)
    }

    /// This node may have missed messages of some topic.
    pub(crate) fn lost_follow(&self) {
        self.follow_generation.fetch_add(1, Ordering::AcqRel);
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
                self.lost_follow();
                broker.unsubscribe(topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::broker::{BrokerLink, Envelope};
    use crate::config::OverflowPolicy;
    use crate::pubsub::TopicHub;
    use crate::sse::core::StreamCore;
    use crate::ws::outbox::Outbox;

    /// Records every call, in order.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Broker for Recorder {
        fn start(&self, _link: BrokerLink) {}
        fn publish(&self, topic: &str, envelope: Bytes) {
            let decoded = Envelope::decode(&envelope).unwrap();
            assert_eq!(decoded.topic, topic);
            let text = String::from_utf8_lossy(decoded.payload);
            self.0
                .lock()
                .unwrap()
                .push(format!("publish {topic} {text}"));
        }
        fn subscribe(&self, topic: &str) {
            self.0.lock().unwrap().push(format!("subscribe {topic}"));
        }
        fn unsubscribe(&self, topic: &str) {
            self.0.lock().unwrap().push(format!("unsubscribe {topic}"));
        }
    }

    #[test]
    fn the_broker_hears_of_a_topics_first_and_last_subscriber_only() {
        let recorder = Arc::new(Recorder::default());
        let broker: Arc<dyn Broker> = recorder.clone();
        let hub = TopicHub::new(1, Arc::new(NodeBroker::new(Some(broker))));
        let outbox = Arc::new(Outbox::new(1 << 20, OverflowPolicy::Close));
        let stream = Arc::new(StreamCore::new(None, 1 << 20));
        hub.subscribe("chat", 0, 1, &outbox);
        hub.subscribe("chat", 0, 1, &outbox);
        hub.subscribe_stream("chat", 0, 2, &stream);
        hub.subscribe("other", 0, 1, &outbox);
        hub.unsubscribe("chat", 0, 1);
        let mut interest = hub.topics();
        interest.sort();
        assert_eq!(interest, ["chat", "other"]);
        hub.unsubscribe("chat", 0, 2);
        hub.unsubscribe("chat", 0, 2);
        assert_eq!(hub.topics(), ["other"]);
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["subscribe chat", "subscribe other", "unsubscribe chat"]
        );
    }

    #[test]
    fn a_local_publish_is_forwarded_once_and_a_remote_one_never() {
        let recorder = Arc::new(Recorder::default());
        let broker: Arc<dyn Broker> = recorder.clone();
        let shared = crate::shared::Shared::new(
            crate::config::WebSocketConfig::default(),
            crate::config::SseConfig::default(),
            1,
            Some(broker),
            0,
            1001,
            &crate::config::MetricsConfig::default(),
        );
        let outbox = Arc::new(Outbox::new(1 << 20, OverflowPolicy::Close));
        shared.topics.subscribe("chat", 0, 1, &outbox);
        assert_eq!(shared.publish("chat", "local".into(), None), 1);
        let frame = OutFrame::new(OpCode::Text, Bytes::from_static(b"remote"));
        assert_eq!(shared.deliver_remote("chat", frame), 1);
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["subscribe chat", "publish chat local"]
        );
    }
}
