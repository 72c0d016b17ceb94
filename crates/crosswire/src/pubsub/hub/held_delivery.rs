//! Delivery of the publishes a connection's poll held (see `../held.rs`):
//! the hub's side, which knows the workers, their topics and their inboxes.

use std::sync::Arc;

use crosswire_proto::OpCode;

use super::{Delivered, TopicHub, reach_elsewhere};
use crate::pubsub::held::{self, Held};
use crate::pubsub::inbox::Handoff;
use crate::pubsub::publication::{Publication, Shipment, ShippedItems};
use crate::sse::core::{Ended, StreamCore};
use crate::ws::outbox::OutFrame;

impl TopicHub {
    /// Holds the local deliveries of what the calling thread publishes until
    /// the returned guard drops, then delivers them in runs (see `held.rs`).
    /// `None` off the workers, or when an outer guard already holds.
    pub(crate) fn hold_publishes(&self) -> Option<HeldUntilDrop<'_>> {
        let worker = self.current_worker()?;
        held::open(self.id, worker).then(|| HeldUntilDrop { hub: self })
    }

    /// Delivers what the calling thread holds, before something that must
    /// come after it.
    pub(crate) fn deliver_held(&self) {
        while let Some((worker, mut held)) = held::take(self.id) {
            let overflowed = self.deliver_held_publishes(worker, &mut held);
            held::reuse(held);
            // The caller may hold a stream's locks: finished when the poll
            // ends (see `held.rs`).
            for stream in held::finish_later(overflowed) {
                stream.finish(Ended::Overflow);
            }
        }
    }

    /// Delivers what the calling thread holds if a send to the subscriber
    /// `key` could otherwise overtake it.
    pub(crate) fn deliver_held_before_send(&self, key: u64) {
        if held::must_deliver_before(self.id, Some(key)) {
            self.deliver_held();
        }
    }

    /// Delivers held publishes in order, each run of publishes to one topic
    /// together: to this worker's subscribers directly, and to other
    /// workers' as one shipment per run. Then drops them (on the worker that
    /// made them).
    /// Returns the event streams the delivery overflowed, for the caller to
    /// finish once it holds no lock.
    #[must_use]
    fn deliver_held_publishes(&self, worker: usize, held: &mut Held) -> Vec<Arc<StreamCore>> {
        let mut delivered = Delivered::default();
        {
            let topics = self.shard(worker).lock();
            let whole = held.runs.len() == 1;
            let mut start = 0;
            for (topic, len) in held.runs.drain(..) {
                let range = start..start + len;
                start += len;
                let local = topics.get(&*topic);
                // The interest is the local entry's; without one (its last
                // subscriber here was removed from another thread meanwhile)
                // the node's says who else still listens.
                let interest = match local {
                    Some(local) => Some(Arc::clone(&local.interest)),
                    None if self.shards.len() > 1 => self.interest.get(&topic),
                    None => None,
                };
                let elsewhere = self.shards.len() > 1
                    && interest
                        .as_ref()
                        .is_some_and(|interest| reach_elsewhere(interest, worker, true) > 0);
                let Some(run) = held.publications.get_mut(range) else {
                    continue;
                };
                if !elsewhere {
                    if let Some(local) = local {
                        let run = run
                            .iter()
                            .map(|(publication, exclude)| (publication, *exclude));
                        local.members.deliver_run(run, &mut delivered);
                    }
                    continue;
                }
                // Shipped: moved out whole when it is all that was held,
                // one by one otherwise.
                let items = match whole {
                    // The next poll likely holds as many: room for them, so
                    // it does not grow a vector from nothing again.
                    true => std::mem::replace(&mut held.publications, Vec::with_capacity(len)),
                    false => run.iter_mut().map(take_publication).collect(),
                };
                let shipment =
                    Arc::new(Shipment::new(topic, ShippedItems::Run(items), Some(worker)));
                if let Some(interest) = &interest {
                    for (other, _) in interest.workers().filter(|(other, _)| *other != worker) {
                        let _ = self.hand_off(other, Handoff::Publish(Arc::clone(&shipment)));
                    }
                }
                if let Some(local) = local {
                    let run = shipment
                        .items()
                        .iter()
                        .map(|(publication, exclude)| (publication, *exclude));
                    local.members.deliver_run(run, &mut delivered);
                }
            }
        }
        held.publications.clear();
        delivered.overflowed
    }
}

/// Moves a held publication out, leaving an empty one in its place.
fn take_publication(held: &mut (Publication, Option<u64>)) -> (Publication, Option<u64>) {
    let empty = Publication::new(OutFrame::new(OpCode::Text, bytes::Bytes::new()));
    (std::mem::replace(&mut held.0, empty), held.1)
}

/// Holds the calling thread's local deliveries until dropped; see
/// [`TopicHub::hold_publishes`].
pub(crate) struct HeldUntilDrop<'a> {
    hub: &'a TopicHub,
}

impl Drop for HeldUntilDrop<'_> {
    fn drop(&mut self) {
        let (held, mut overflowed) = held::close(self.hub.id);
        if let Some((worker, mut held)) = held {
            overflowed.extend(self.hub.deliver_held_publishes(worker, &mut held));
            held::reuse(held);
        }
        for stream in overflowed {
            stream.finish(Ended::Overflow);
        }
    }
}
