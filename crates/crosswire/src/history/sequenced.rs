//! History kept by the broker: publishes that take their position from the
//! broker's log, and recoveries that read it.
//!
//! With a broker that implements [`BrokerHistory`], a publish on a history
//! topic is appended to the broker's log instead of being delivered at
//! once; the broker gives it the next offset and sends it back, positioned,
//! to every node subscribed to the topic, this one included
//! ([`Shared::deliver_positioned`]). So every node delivers the topic's
//! messages in one order with one set of positions, and a client can
//! recover on any node.
//!
//! Each node keeps a copy of the recent log in its ring, fed by those
//! deliveries. A recovery is served from that copy alone when it is known
//! to be complete: the ring was read back from the broker (after the
//! node's subscription was in effect) in the current follow generation, so
//! it has received every message since (see `NodeBroker::follow_generation`).
//! Otherwise the recovery reads the broker's log:
//!
//! 1. the subscriber joins the topic, *gated*: live messages skip it (one
//!    with no position to recover joins ungated and takes the live messages
//!    from its join on; only the topic's position is read for it);
//! 2. the node waits until its subscriptions are in effect
//!    ([`BrokerHistory::settled_for`]), so whatever is appended from then on
//!    reaches this node (if the broker does not confirm it in time, the
//!    subscriber is told its history is lost instead of being replayed);
//! 3. it reads the log after the client's offset;
//! 4. under the topic's lock, the ring is rebuilt from what was read plus
//!    what arrived live meanwhile, the subscriber is replayed from it, and
//!    its gate is removed. Every message delivered after that, under the
//!    same lock, is new to it: the ring drops an offset it already holds
//!    before delivering it, and a new epoch (the broker lost the topic's
//!    log) starts its offsets again, all of them after the replay.
//!
//! A publish's payload is built before its position exists. The builder is
//! given a stand-in position, `<node id>:0`, and every node replaces that
//! text in the payload with the real position when it delivers it: a
//! builder that writes the position into the payload (the chat example's
//! JSON `id`) gets the right one everywhere. The stand-in's offset, 0, is
//! not the real one: only its text form is replaced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use memchr::memmem;

use super::outcome::{Published, Recovery};
use super::position::StreamPosition;
use super::publish::{ReplayTarget, Since, replay_from};
use super::rules::Bounds;
use super::store::TopicLog;
use crate::broker::{BrokerHistory, BrokerStage, Envelope, NodeId};
use crate::pubsub::Publication;
use crate::shared::Shared;
use crate::ws::Payload;
use crate::ws::outbox::OutFrame;

/// Longest wait for the node's subscriptions to be in effect before the
/// log is read anyway. Unconfirmed, the subscriber is told its history is
/// lost: a broker that is down fails the read too, and one that answers
/// reads but not subscriptions cannot promise the messages after the read.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the broker's log to be read.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The stand-in position a builder gets on `node`, and its text.
fn stand_in(node: NodeId) -> StreamPosition {
    StreamPosition::new(node.to_string(), 0)
}

/// `payload` with every occurrence of `from` replaced by `to`.
fn replace_all(payload: &[u8], from: &[u8], to: &[u8]) -> Bytes {
    let mut found = memmem::find_iter(payload, from).peekable();
    if found.peek().is_none() {
        return Bytes::copy_from_slice(payload);
    }
    let mut out = Vec::with_capacity(payload.len() + to.len());
    let mut copied = 0;
    for at in found {
        out.extend_from_slice(&payload[copied..at]);
        out.extend_from_slice(to);
        copied = at + from.len();
    }
    out.extend_from_slice(&payload[copied..]);
    Bytes::from(out)
}

/// The publication an envelope positioned at `position` becomes: its
/// stand-in replaced, framed once. Replacing ASCII text in valid UTF-8
/// keeps it valid.
fn positioned(envelope: &Envelope<'_>, position: &StreamPosition) -> Publication {
    let payload = replace_all(
        envelope.payload,
        stand_in(envelope.origin).to_string().as_bytes(),
        position.to_string().as_bytes(),
    );
    Publication::positioned(OutFrame::new(envelope.opcode(), payload), position.clone())
}

/// Removes a subscriber's gate if its recovery stops half-way (its task
/// was dropped): it must not stay skipped.
struct GateGuard<'a> {
    log: &'a TopicLog,
    key: u64,
    armed: bool,
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.log.lock().ungate(self.key);
        }
    }
}

impl Shared {
    /// Appends a publish to the broker's log of `topic`; it reaches the
    /// subscribers (here too) when the broker sends it back positioned.
    pub(crate) fn publish_sequenced(
        &self,
        history: &dyn BrokerHistory,
        bounds: Bounds,
        topic: &str,
        build: impl FnOnce(Option<&StreamPosition>) -> Payload,
        exclude: Option<u64>,
    ) -> Published {
        let node = self.node().id();
        // Framed by each node on delivery, once its position is in it.
        let (payload, is_text) = build(Some(&stand_in(node))).into_parts();
        let envelope = Envelope::encode_excluding(node, topic, !is_text, &payload, exclude);
        history.append(topic, envelope, bounds);
        Published {
            reached: 0,
            position: None,
        }
    }

    /// A message the broker positioned at `epoch:offset` in its log: kept in
    /// the topic's ring and delivered to the local subscribers (but the
    /// publishing peer, when it was published here, and gated subscribers
    /// that are replayed it), unless it was delivered already. Returns the
    /// local deliveries.
    pub(crate) fn deliver_positioned(
        &self,
        epoch: &str,
        offset: u64,
        envelope: &Envelope<'_>,
    ) -> usize {
        let own = envelope.origin == self.node().id();
        let exclude = if own { envelope.exclude } else { None };
        let position = StreamPosition::new(epoch, offset);
        let publication = positioned(envelope, &position);
        let Some(log) = self.history.log(envelope.topic) else {
            // This node has no rule for the topic (its configuration differs
            // from the publisher's): deliver it as a plain remote publish.
            return self.deliver_remote(envelope.topic, publication.frame);
        };
        let publication = Arc::new(publication);
        let mut ring = log.lock();
        if !ring.push_at(epoch, offset, Arc::clone(&publication), Instant::now()) {
            return 0;
        }
        let gated = ring.has_gates();
        let delivered = self
            .topics
            .publish_ordered(envelope.topic, &publication, |key| {
                Some(key) == exclude || (gated && ring.skips(key))
            });
        drop(ring);
        let queued = delivered.queued;
        delivered.finish_overflowed();
        if own {
            self.count_published(queued);
        } else if let Some(metrics) = self.metrics() {
            metrics.remote_published(self.topics.current_worker(), queued);
        }
        queued
    }

    /// The slow path of a recovery on a topic the broker sequences (see the
    /// module docs): join gated, wait for the subscription, read the log,
    /// replay.
    pub(crate) async fn recover_through_broker(
        &self,
        log: &TopicLog,
        topic: &str,
        since: Since,
        target: &mut dyn ReplayTarget,
    ) -> Recovery {
        let key = target.key();
        let generation = self.node().follow_generation();
        // A subscriber with nothing to recover takes the live messages from
        // its join on: only its position is read. Any other is gated until
        // its replay is queued.
        let gated = !matches!(since, Since::Nothing);
        let epoch_at_join = {
            let mut ring = log.lock();
            if !target.join() {
                let latest = StreamPosition::new(Arc::clone(ring.epoch()), ring.top());
                return Recovery {
                    recovered: !gated,
                    replayed: 0,
                    position: Some(latest),
                };
            }
            if gated {
                ring.gate(key);
            }
            Arc::clone(ring.epoch())
        };
        let mut guard = GateGuard {
            log,
            key,
            armed: gated,
        };
        // Whether the broker confirmed this node's subscriptions: only then
        // does everything appended after the read reach this node.
        let mut in_effect = false;
        let page = match (self.node().history(), self.history.bounds(topic)) {
            (Some(history), Some(bounds)) => {
                let settled = history.settled_for(topic);
                in_effect = matches!(
                    tokio::time::timeout(SETTLE_TIMEOUT, settled).await,
                    Ok(true)
                );
                if !in_effect {
                    tracing::warn!(target: "crosswire::history", topic, "the broker did not confirm this node's subscriptions; reading its history anyway, recovery not promised");
                }
                let after = match &since {
                    Since::At(position) => position.offset(),
                    Since::Nothing | Since::Unreadable => u64::MAX,
                };
                match tokio::time::timeout(READ_TIMEOUT, history.read(topic, after, bounds)).await {
                    Ok(Ok(page)) => Some(page),
                    Ok(Err(error)) => {
                        self.report_history_error(topic, &error.to_string());
                        None
                    }
                    Err(_) => {
                        self.report_history_error(topic, "no answer from the broker");
                        None
                    }
                }
            }
            _ => None,
        };
        let now = Instant::now();
        let mut ring = log.lock();
        // The broker started a new epoch while the log was read, and the
        // page is of another one: the new epoch's first messages skipped
        // this subscriber and are not in the page. Told, not hidden.
        let epoch_now = Arc::clone(ring.epoch());
        let page = page.filter(|page| *epoch_now == *epoch_at_join || *epoch_now == *page.epoch);
        let read = match page {
            Some(page) => {
                let entries = page
                    .entries
                    .iter()
                    .filter(|(offset, _)| *offset > 0)
                    .filter_map(|(offset, bytes)| {
                        let envelope = Envelope::decode(bytes).ok()?;
                        let position = StreamPosition::new(page.epoch.as_str(), *offset);
                        Some((*offset, Arc::new(positioned(&envelope, &position))))
                    })
                    .collect();
                ring.rebuild(&page.epoch, page.top, entries, now);
                if in_effect {
                    log.set_live(generation);
                }
                true
            }
            None => false,
        };
        // Nothing can be promised when the log could not be read, nor when
        // the subscription was not confirmed: what was appended between the
        // read and the moment it takes effect may never reach this node. The
        // client is then told its history is lost rather than given a replay
        // with a possible hole after it.
        let promised = read && (in_effect || matches!(since, Since::Nothing));
        let unreadable = Since::Unreadable;
        let since = if promised { &since } else { &unreadable };
        let (recovered, replayed) = replay_from(&mut ring, since, target, now);
        let latest = StreamPosition::new(Arc::clone(ring.epoch()), ring.top());
        // Every live message from here on is past what was replayed: one at
        // or below the ring's latest offset is a duplicate, which `push_at`
        // drops before anyone gets it, and one of a new epoch follows the
        // replay too (its offsets start again, so a floor kept from this
        // epoch would hide its first messages).
        if gated {
            ring.ungate(key);
        }
        guard.armed = false;
        drop(ring);
        drop(guard);
        target.done();
        tracing::debug!(target: "crosswire::history", topic, recovered, replayed, position = %latest, "subscribed with recovery from the broker's history");
        Recovery {
            recovered,
            replayed,
            position: Some(latest),
        }
    }

    fn report_history_error(&self, topic: &str, error: &str) {
        if let Some(metrics) = self.metrics() {
            metrics.events.broker_error(BrokerStage::History);
        }
        tracing::warn!(target: "crosswire::broker", topic, "reading the history failed: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_is_replaced_wherever_it_appears() {
        let node = NodeId::random();
        let from = stand_in(node).to_string();
        let payload = format!(r#"{{"id":"{from}","again":"{from}","x":1}}"#);
        let out = replace_all(payload.as_bytes(), from.as_bytes(), b"e1:42");
        assert_eq!(&out[..], br#"{"id":"e1:42","again":"e1:42","x":1}"#);
        assert_eq!(&replace_all(b"none", b"xx", b"y")[..], b"none");
    }
}
