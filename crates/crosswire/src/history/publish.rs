//! The two paths of a history topic: a publish that gets its position, and
//! a subscribe that first replays what the subscriber missed.
//!
//! Both run under the topic log's lock, which is what makes recovery exact
//! without any de-duplication at the seam: a publish assigns its offset,
//! appends it and queues it for every local subscriber (on every worker)
//! before the lock is let go, and a recovering subscriber is joined and
//! replayed under the same lock. So each publish is, for that subscriber,
//! either entirely before the join (kept in the history, replayed if it is
//! after the subscriber's position) or entirely after it (delivered live),
//! never both and never neither; and every subscriber's queue receives the
//! topic's messages in offset order.
//!
//! The cost is paid by history topics only: their publishes queue directly
//! on the subscribers of other workers (taking those workers' shard locks)
//! instead of handing one shipment to each worker, so a worker's inbox can
//! never reorder two publishes of the topic. Publishes to other topics take
//! the usual path after one check of the rules.

use std::sync::Arc;
use std::time::Instant;

use super::outcome::{Published, Recovery};
use super::position::StreamPosition;
use super::store::TopicLog;
use crate::pubsub::Publication;
use crate::shared::Shared;
use crate::sse::core::Ended;
use crate::ws::Payload;
use crate::ws::outbox::OutFrame;

/// The position a recovering subscriber gave.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Since<'a> {
    /// None: a first connection, nothing to recover.
    Nothing,
    /// The position of the last message it holds.
    At(&'a StreamPosition),
    /// Something that is not a position (an `EventSource`'s `Last-Event-ID`
    /// set by other events): the client holds something we cannot place.
    Unreadable,
}

/// Where a recovering subscriber's messages go; called under the topic
/// log's lock, so implementations only queue.
pub(crate) trait ReplayTarget {
    /// Joins the topic; false if the subscriber already was a member (it
    /// then has the messages already and nothing is replayed).
    fn join(&mut self) -> bool;
    /// Queues one missed message.
    fn replay(&mut self, publication: &Publication);
    /// Tells the subscriber its history is lost; `latest` is where the
    /// topic stands.
    fn lost(&mut self, latest: &StreamPosition);
}

impl Shared {
    /// Publishes to a history topic: the payload is built from the position
    /// the publish gets (so it can carry it), kept, and queued for every
    /// local subscriber but `exclude`, in the topic's order.
    pub(crate) fn publish_logged(
        &self,
        log: &TopicLog,
        topic: &str,
        build: impl FnOnce(Option<&StreamPosition>) -> Payload,
        exclude: Option<u64>,
    ) -> Published {
        let now = Instant::now();
        let mut ring = log.lock();
        let position = StreamPosition::new(Arc::clone(log.epoch()), ring.next_offset());
        let frame = OutFrame::from_payload(build(Some(&position)));
        self.forward(topic, &frame);
        let publication = Arc::new(Publication::positioned(frame, position.clone()));
        ring.push(Arc::clone(&publication), now);
        let delivered = self.topics.publish_ordered(topic, &publication, exclude);
        drop(ring);
        // Finishing a stream leaves its topics: never under the log's lock.
        for stream in delivered.overflowed {
            stream.finish(Ended::Overflow);
        }
        self.count_published(delivered.queued);
        Published {
            reached: delivered.queued,
            position: Some(position),
        }
    }

    /// Joins `target` to `topic`, replaying first what it missed after
    /// `since`. `None` when the topic keeps no history (the caller then
    /// subscribes the usual way).
    pub(crate) fn recover(
        &self,
        topic: &str,
        since: Since<'_>,
        target: &mut dyn ReplayTarget,
    ) -> Option<Recovery> {
        let log = self.history.log(topic)?;
        let now = Instant::now();
        let mut ring = log.lock();
        let latest = StreamPosition::new(Arc::clone(log.epoch()), ring.top());
        if !target.join() {
            return Some(Recovery {
                recovered: true,
                replayed: 0,
                position: Some(latest),
            });
        }
        let mut replayed = 0;
        let recovered = match since {
            Since::Nothing => true,
            Since::At(position) if position.shared_epoch() == log.epoch() => {
                match ring.after(position.offset(), now) {
                    Ok(entries) => {
                        for entry in entries {
                            target.replay(&entry.publication);
                            replayed += 1;
                        }
                        true
                    }
                    Err(_) => false,
                }
            }
            Since::At(_) | Since::Unreadable => false,
        };
        if !recovered {
            target.lost(&latest);
        }
        drop(ring);
        tracing::debug!(target: "crosswire::history", topic, recovered, replayed, position = %latest, "subscribed with recovery");
        Some(Recovery {
            recovered,
            replayed,
            position: Some(latest),
        })
    }
}
