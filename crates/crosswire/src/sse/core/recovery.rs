//! An event stream's side of history: joining a topic after replaying what
//! the client missed, or telling it the history is lost.

use std::sync::Arc;

use crosswire_proto::sse::{SseEvent, encode_event};

use super::{Ended, StreamCore, lock};
use crate::history::{Attempt, Recovery, ReplayTarget, Since, StreamPosition};
use crate::pubsub::Publication;
use crate::sse::queue::Pushed;

/// Replays into the stream's queue and joins the topic, under the topic
/// log's lock. An overflow is remembered and the stream finished once no
/// lock is held (finishing leaves topics).
struct Target {
    core: Arc<StreamCore>,
    topic: Arc<str>,
    joined: bool,
    overflowed: bool,
}

impl Target {
    fn queue(&mut self, chunk: bytes::Bytes) {
        if self.core.queue.push(chunk) == Pushed::Overflow {
            self.overflowed = true;
        }
    }
}

impl ReplayTarget for Target {
    fn key(&self) -> u64 {
        self.core.key
    }

    fn join(&mut self) -> bool {
        // Under the stream's own topic list, which orders it with `finish`
        // (that takes the list before leaving the topics).
        let mut topics = lock(&self.core.topics);
        let Some(server) = self.core.server().filter(|_| topics.is_open()) else {
            return false;
        };
        self.joined =
            server
                .topics
                .subscribe_stream(&self.topic, self.core.home, self.core.key, &self.core);
        if self.joined {
            topics.push(Arc::clone(&self.topic));
        }
        self.joined
    }

    fn replay(&mut self, publication: &Publication) {
        // Binary messages have no event-stream form.
        if let Some(event) = publication.event() {
            self.queue(event.clone());
        }
    }

    fn cost(&self, publication: &Publication) -> usize {
        publication.event().map_or(0, bytes::Bytes::len)
    }

    fn room(&self) -> usize {
        let queue = &self.core.queue;
        queue.limit().saturating_sub(queue.buffered_amount())
    }

    fn lost(&mut self, latest: &StreamPosition) {
        self.queue(recovery_event(latest));
    }

    fn done(&mut self) {
        if std::mem::take(&mut self.overflowed) {
            self.core.finish(Ended::Overflow);
        }
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
    fn target(self: &Arc<Self>, topic: &str) -> Target {
        Target {
            core: Arc::clone(self),
            topic: Arc::from(topic),
            joined: false,
            overflowed: false,
        }
    }

    /// Joins `topic`, first queuing what the client missed after `since`
    /// when the topic keeps history (an `event: recovery` when that is not
    /// possible). When that needs the broker's log, it is read by a task of
    /// its own, and the stream's events for the topic start once it is.
    pub(crate) fn subscribe_recovering(self: &Arc<Self>, topic: &str, since: Since) {
        let Some(server) = self.server() else {
            return;
        };
        // Before any lock (this stream's topic list, the topic's log): what
        // this thread published before does not reach the stream.
        self.catch_up_home();
        let mut target = self.target(topic);
        match server.recover_now(topic, &since, &mut target) {
            None => {
                target.join();
            }
            Some(Attempt::Done(_)) => {}
            Some(Attempt::Broker(log)) => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let server = Arc::clone(server);
                    let topic = topic.to_owned();
                    runtime.spawn(async move {
                        let _ = server
                            .recover_through_broker(&log, &topic, since, &mut target)
                            .await;
                    });
                }
                // Called from a thread of the app's own, outside any runtime:
                // nothing can read the broker's log there. The stream joins
                // now and, if it had a position, is told its history could
                // not be recovered, under the log's lock so no live event
                // comes before that.
                Err(_) => {
                    let ring = log.lock();
                    let latest = StreamPosition::new(Arc::clone(ring.epoch()), ring.top());
                    if target.join() && !matches!(since, Since::Nothing) {
                        target.lost(&latest);
                    }
                    drop(ring);
                    target.done();
                }
            },
        }
    }

    /// Joins `topic` as [`subscribe_recovering`](Self::subscribe_recovering)
    /// does, and says what it did once it is done.
    pub(crate) async fn subscribe_recovering_now(
        self: &Arc<Self>,
        topic: &str,
        since: Since,
    ) -> Recovery {
        let Some(server) = self.server() else {
            return Recovery {
                recovered: false,
                replayed: 0,
                position: None,
            };
        };
        self.catch_up_home();
        let mut target = self.target(topic);
        server.recover(topic, since, &mut target).await
    }
}
