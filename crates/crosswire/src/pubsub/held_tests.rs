//! Held publishes meeting event streams, history and large bursts.

use std::sync::Arc;

use bytes::Bytes;
use crosswire_proto::OpCode;

use super::held;
use crate::config::OverflowPolicy;
use crate::config::{MetricsConfig, SseConfig, WebSocketConfig};
use crate::shared::Shared;
use crate::sse::core::StreamCore;
use crate::ws::outbox::{OutFrame, Outbox};

fn server() -> Arc<Shared> {
    Arc::new(Shared::new(
        WebSocketConfig::default(),
        SseConfig::default(),
        1,
        None,
        64 << 20,
        1001,
        &MetricsConfig::default(),
    ))
}

fn text(len: usize) -> OutFrame {
    OutFrame::new(OpCode::Text, Bytes::from(vec![b'x'; len]))
}

#[test]
fn a_stream_overflowed_by_held_publishes_is_finished_when_the_hold_ends() {
    let shared = server();
    let stream = Arc::new(StreamCore::new(Some(Arc::clone(&shared)), 100));
    let hub = &shared.topics;
    assert!(hub.subscribe_stream("t", 0, stream.key(), &stream));
    {
        let _held = hub.hold_publishes();
        for _ in 0..3 {
            hub.publish("t", text(80), None);
        }
        // Leaving another topic takes the stream's own lock, then delivers
        // what is held: the overflow must not finish the stream under it.
        stream.unsubscribe("other");
        assert!(!stream.is_finished(), "finished when the hold ends");
    }
    assert!(stream.is_finished());
}

#[test]
fn a_poll_that_publishes_without_end_delivers_early() {
    let shared = server();
    let hub = &shared.topics;
    let outbox = Arc::new(Outbox::new(1 << 30, OverflowPolicy::Close));
    hub.subscribe("t", 0, 1, &outbox);
    let _held = hub.hold_publishes();
    for _ in 0..held::HOLD_AT_MOST {
        hub.publish("t", text(10), None);
    }
    assert!(
        outbox.buffered_amount() >= held::HOLD_AT_MOST * 12,
        "delivered once the hold was full"
    );
    assert!(!held::is_full());
}
