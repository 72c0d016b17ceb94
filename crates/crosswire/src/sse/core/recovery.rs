//! An event stream's side of history: joining a topic after replaying what
//! the client missed, or telling it the history is lost.

use std::sync::Arc;

use crosswire_proto::sse::{SseEvent, encode_event};

use super::{Ended, StreamCore, lock};
use crate::history::{Recovery, ReplayTarget, Since, StreamPosition};
use crate::pubsub::Publication;
use crate::sse::queue::Pushed;

/// Replays into the stream's queue and joins the topic, under the topic
/// log's lock. An overflow is remembered and the stream finished once no
/// lock is held (finishing leaves topics).
struct Target<'a> {
    core: &'a Arc<StreamCore>,
    topic: &'a str,
    joined: bool,
    overflowed: bool,
}

impl Target<'_> {
    fn queue(&mut self, chunk: bytes::Bytes) {
        if self.core.queue.push(chunk) == Pushed::Overflow {
            self.overflowed = true;
        }
    }
}

impl ReplayTarget for Target<'_> {
    fn join(&mut self) -> bool {
        if let Some(server) = self.core.server() {
            self.joined = server.topics.subscribe_stream(
                self.topic,
                self.core.home,
                self.core.key,
                self.core,
            );
        }
        self.joined
    }

    fn replay(&mut self, publication: &Publication) {
        // Binary messages have no event-stream form.
        if let Some(event) = publication.event() {
            self.queue(event.clone());
        }
    }

    fn lost(&mut self, latest: &StreamPosition) {
        self.queue(recovery_event(latest));
    }
}

/// `event: recovery`: the history after the client's position is gone.
/// Its id is the topic's latest position, so the browser's next reconnect
/// asks only for what follows the state the client reloads.
pub(crate) fn recovery_event(latest: &StreamPosition) -> bytes::Bytes {
    let data = serde_json::json!({
        "recovered": false,
        "epoch": latest.epoch(),
        "offset": latest.offset(),
    });
    encode_event(
        &SseEvent::new()
            .event("recovery")
            .id(latest.to_string())
            .data(data.to_string()),
    )
}

impl StreamCore {
    /// Joins `topic`, first queuing what the client missed after `since`
    /// when the topic keeps history (an `event: recovery` when that is not
    /// possible).
    pub(crate) fn subscribe_recovering(
        self: &Arc<Self>,
        topic: &str,
        since: Since<'_>,
    ) -> Recovery {
        let not_joined = Recovery {
            recovered: false,
            replayed: 0,
            position: None,
        };
        let Some(server) = self.server() else {
            return not_joined;
        };
        // Subscribing under our own lock orders it with `finish`, which takes
        // the list before leaving the topics.
        let mut topics = lock(&self.topics);
        let Some(list) = topics.as_mut() else {
            return not_joined;
        };
        let mut target = Target {
            core: self,
            topic,
            joined: false,
            overflowed: false,
        };
        let recovery = match server.recover(topic, since, &mut target) {
            Some(recovery) => recovery,
            None => {
                target.join();
                Recovery {
                    recovered: matches!(since, Since::Nothing),
                    replayed: 0,
                    position: None,
                }
            }
        };
        if target.joined {
            list.push(Arc::from(topic));
        }
        let overflowed = target.overflowed;
        drop(topics);
        if overflowed {
            self.finish(Ended::Overflow);
        }
        recovery
    }
}
