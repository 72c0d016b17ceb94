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
//! never reorder two publishes of the topic; and before that, the inboxes
//! of those workers are caught up on what the publishing thread handed them
//! (`pubsub/hub/catch_up.rs`), so a history publish does not pass a plain one
//! its producer made first. Publishes to other topics take the usual path
//! after one check of the rules.

use std::sync::Arc;
use std::time::Instant;

use super::outcome::{Published, Recovery};
use super::position::StreamPosition;
use super::ring::Ring;
use super::store::TopicLog;
use crate::pubsub::Publication;
use crate::shared::Shared;
use crate::ws::Payload;
use crate::ws::outbox::OutFrame;

/// The position a recovering subscriber gave.
#[derive(Debug, Clone)]
pub(crate) enum Since {
    /// None: a first connection, nothing to recover.
    Nothing,
    /// The position of the last message it holds.
    At(StreamPosition),
    /// Something that is not a position (an `EventSource`'s `Last-Event-ID`
    /// set by other events): the client holds something we cannot place.
    Unreadable,
}

/// Where a recovering subscriber's messages go; called under the topic
/// log's lock, so implementations only queue.
pub(crate) trait ReplayTarget: Send {
    /// The subscriber's key in the topic index.
    fn key(&self) -> u64;
    /// Joins the topic; false if the subscriber already was a member (it
    /// then has the messages already and nothing is replayed) or is gone.
    fn join(&mut self) -> bool;
    /// Queues one missed message.
    fn replay(&mut self, publication: &Publication);
    /// Bytes `publication` would take in the subscriber's queue (nothing
    /// for one it would not queue).
    fn cost(&self, publication: &Publication) -> usize;
    /// Bytes the subscriber's queue can take before it overflows.
    fn room(&self) -> usize;
    /// Tells the subscriber its history is lost; `latest` is where the
    /// topic stands.
    fn lost(&mut self, latest: &StreamPosition);
    /// Called once no lock is held any more (an event stream that
    /// overflowed while replaying finishes here).
    fn done(&mut self) {}
}

/// What a recovery could do without waiting.
pub(crate) enum Attempt {
    /// Done: the subscriber is joined (or was a member already).
    Done(Recovery),
    /// The broker keeps this topic's history and the ring here cannot
    /// serve the position: the broker's log must be read first.
    Broker(Arc<TopicLog>),
}

/// Replays `ring` after `since` into a target that has just joined, or
/// tells it its history is lost. Returns whether it recovered and how many
/// messages it replayed.
pub(crate) fn replay_from(
    ring: &mut Ring,
    since: &Since,
    target: &mut dyn ReplayTarget,
    now: Instant,
) -> (bool, usize) {
    let mut replayed = 0;
    let recovered = match since {
        Since::Nothing => true,
        Since::At(position) if **position.shared_epoch() == **ring.epoch() => {
            match ring.after(position.offset(), now) {
                Ok(entries) => {
                    // A replay its queue cannot hold would overflow it (the
                    // stream ends, the peer is closed) before anything was
                    // sent, and the client would come back for the same
                    // replay forever: it is told its history is lost
                    // instead, and starts over from now.
                    let entries: Vec<_> = entries.collect();
                    let needed = entries
                        .iter()
                        .map(|entry| target.cost(&entry.publication))
                        .fold(0usize, usize::saturating_add);
                    if needed > target.room() {
                        false
                    } else {
                        for entry in entries {
                            target.replay(&entry.publication);
                            replayed += 1;
                        }
                        true
                    }
                }
                Err(_) => false,
            }
        }
        Since::At(_) | Since::Unreadable => false,
    };
    if !recovered {
        target.lost(&StreamPosition::new(Arc::clone(ring.epoch()), ring.top()));
    }
    (recovered, replayed)
}

impl Shared {
    /// Publishes to a history topic this node keeps: the payload is built
    /// from the position the publish gets (so it can carry it), kept, and
    /// queued for every local subscriber but `exclude`, in the topic's
    /// order.
    pub(crate) fn publish_logged(
        &self,
        log: &TopicLog,
        topic: &str,
        build: impl FnOnce(Option<&StreamPosition>) -> Payload,
        exclude: Option<u64>,
    ) -> Published {
        let now = Instant::now();
        let mut ring = log.lock();
        let position = StreamPosition::new(Arc::clone(ring.epoch()), ring.next_offset());
        let frame = OutFrame::from_payload(build(Some(&position)));
        self.forward(topic, &frame);
        let publication = Arc::new(Publication::positioned(frame, position.clone()));
        ring.push(Arc::clone(&publication), now);
        let delivered = self
            .topics
            .publish_ordered(topic, &publication, |key| Some(key) == exclude);
        drop(ring);
        let reached = delivered.queued;
        // Finishing a stream leaves its topics: never under the log's lock.
        delivered.finish_overflowed();
        self.count_published(reached);
        Published {
            reached,
            position: Some(position),
        }
    }

    /// Joins `target` to `topic`, replaying first what it missed after
    /// `since`, if that can be done without waiting. `None` when the topic
    /// keeps no history (the caller then subscribes the usual way).
    pub(crate) fn recover_now(
        &self,
        topic: &str,
        since: &Since,
        target: &mut dyn ReplayTarget,
    ) -> Option<Attempt> {
        let log = self.history.log(topic)?;
        let now = Instant::now();
        let mut ring = log.lock();
        if self.history.is_sequenced() {
            let servable = log.is_live(self.node().follow_generation())
                && match since {
                    Since::Nothing => true,
                    Since::At(position) => {
                        **position.shared_epoch() == **ring.epoch()
                            && ring.after(position.offset(), now).is_ok()
                    }
                    Since::Unreadable => false,
                };
            if !servable {
                drop(ring);
                return Some(Attempt::Broker(log));
            }
        }
        let latest = StreamPosition::new(Arc::clone(ring.epoch()), ring.top());
        if !target.join() {
            return Some(Attempt::Done(Recovery {
                recovered: true,
                replayed: 0,
                position: Some(latest),
            }));
        }
        let (recovered, replayed) = replay_from(&mut ring, since, target, now);
        drop(ring);
        target.done();
        tracing::debug!(target: "crosswire::history", topic, recovered, replayed, position = %latest, "subscribed with recovery");
        Some(Attempt::Done(Recovery {
            recovered,
            replayed,
            position: Some(latest),
        }))
    }

    /// Joins `target` to `topic`, replaying first what it missed after
    /// `since`, reading the broker's log when the topic's history is kept
    /// there and this node's copy cannot serve it. A topic that keeps no
    /// history is joined the usual way: recovered only if nothing was asked
    /// for, with no position.
    pub(crate) async fn recover(
        &self,
        topic: &str,
        since: Since,
        target: &mut dyn ReplayTarget,
    ) -> Recovery {
        match self.recover_now(topic, &since, target) {
            Some(Attempt::Done(recovery)) => recovery,
            Some(Attempt::Broker(log)) => {
                self.recover_through_broker(&log, topic, since, target)
                    .await
            }
            None => {
                let joined = target.join();
                Recovery {
                    recovered: joined && matches!(since, Since::Nothing),
                    replayed: 0,
                    position: None,
                }
            }
        }
    }
}
