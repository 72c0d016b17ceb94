//! A worker's hand-overs to other workers, held until the end of its turn.
//!
//! A reader that takes a hundred messages from one socket read and publishes
//! each of them would otherwise hand them to another worker one by one, and
//! that worker, quick to pick each up, would deliver and write them one at a
//! time: a hundred writes per subscriber where one would do. So hand-overs
//! made on a worker are staged per destination, and a task of the same worker
//! moves each destination's whole batch into its inbox once the task that
//! staged them yields: one lock and at most one wake-up per destination per
//! turn, and the receiving worker delivers the batch in one go, so its
//! writers cork as the sending worker's do. Staging keeps the order of one
//! producer's hand-overs, since every hand-over from a worker is staged.
//!
//! A task that publishes or sends in a loop without yielding would otherwise
//! stage without bound, so a destination's staging is moved into its inbox
//! at once when it reaches [`FLUSH_BYTES`] or [`FLUSH_ITEMS`]: the inbox's
//! budget then applies (see `inbox.rs`), as a full send queue's does on one
//! worker. Order is kept, since the early flush is the same move in the same
//! order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::inbox::{Handoff, Inbox, KEEP_BATCH_CAPACITY};

/// Staged bytes (frames, as the inbox counts them) that move a
/// destination's staging into its inbox before the turn ends.
pub(crate) const FLUSH_BYTES: usize = 4 << 20;

/// Staged hand-overs that do the same, whatever they weigh.
pub(crate) const FLUSH_ITEMS: usize = 4096;

/// What one worker has staged for one destination.
#[derive(Debug, Default)]
struct Staged {
    items: VecDeque<Handoff>,
    /// Weight of `items`, as the inbox counts it.
    bytes: usize,
}

impl Staged {
    /// Moves every item into `inbox`, in order, keeping the room.
    fn hand_to(&mut self, inbox: &Inbox) {
        if !self.items.is_empty() {
            inbox.push_batch(&mut self.items);
        }
        self.bytes = 0;
    }

    /// Swaps the items out into `batch` (which must be empty).
    fn swap_out(&mut self, batch: &mut VecDeque<Handoff>) {
        std::mem::swap(&mut self.items, batch);
        self.bytes = 0;
    }
}

/// Hand-overs staged by one worker.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// One queue per destination worker. Only the owning worker's thread
    /// takes this lock, so it is never contended.
    staged: Mutex<Vec<Staged>>,
    /// A flush is scheduled: staging more needs no wake-up.
    scheduled: AtomicBool,
    /// Wakes the flushing task (on the same thread: a local run-queue push).
    wake: Notify,
}

impl Outgoing {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            staged: Mutex::new((0..workers).map(|_| Staged::default()).collect()),
            scheduled: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Staged>> {
        self.staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stages `item` for worker `to`, moving what is staged for it into its
    /// inbox (one of `inboxes`) at once when that reaches a flush bound.
    pub(crate) fn stage(&self, to: usize, item: Handoff, inboxes: &[Inbox]) {
        {
            let mut staged = self.lock();
            let Some(queue) = staged.get_mut(to) else {
                return;
            };
            queue.bytes += item.weight();
            queue.items.push_back(item);
            // The room stays: a task that fills it once will likely again
            // (the end of the turn gives back what a burst grew).
            if (queue.bytes >= FLUSH_BYTES || queue.items.len() >= FLUSH_ITEMS)
                && let Some(inbox) = inboxes.get(to)
            {
                queue.hand_to(inbox);
            }
        }
        // Only this worker's thread stages and flushes, so a plain load
        // spares the read-modify-write while a flush is already due.
        if !self.scheduled.load(Ordering::Relaxed) && !self.scheduled.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Moves what is staged into the inboxes now, from the owning worker's
    /// thread: the end of an HTTP request flushes what its handler published,
    /// so that the publish reaches every worker's inbox before the response
    /// leaves, and whatever the client (or anyone it tells) does next comes
    /// after it.
    pub(crate) fn flush_now(&self, inboxes: &[Inbox]) {
        let mut staged = self.lock();
        for (queue, inbox) in staged.iter_mut().zip(inboxes) {
            queue.hand_to(inbox);
            keep_small(&mut queue.items);
        }
    }

    /// Staged items per destination, for tests.
    #[cfg(test)]
    pub(crate) fn staged_for_test(&self) -> Vec<usize> {
        self.lock().iter().map(|queue| queue.items.len()).collect()
    }

    /// Moves staged batches into their inboxes whenever something was staged,
    /// forever. Runs as one task on the owning worker.
    pub(crate) async fn run(&self, inboxes: &[Inbox]) {
        let mut batches: Vec<VecDeque<Handoff>> =
            (0..inboxes.len()).map(|_| VecDeque::new()).collect();
        loop {
            self.wake.notified().await;
            // Cleared before taking, so a hand-over staged after the take
            // schedules another flush.
            self.scheduled.store(false, Ordering::Release);
            {
                let mut staged = self.lock();
                for (queue, batch) in staged.iter_mut().zip(batches.iter_mut()) {
                    queue.swap_out(batch);
                }
            }
            for (batch, inbox) in batches.iter_mut().zip(inboxes) {
                if !batch.is_empty() {
                    inbox.push_batch(batch);
                }
                keep_small(batch);
            }
        }
    }
}

/// Gives back the room of an emptied queue that a burst made large.
fn keep_small(items: &mut VecDeque<Handoff>) {
    if items.capacity() > KEEP_BATCH_CAPACITY {
        *items = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::config::OverflowPolicy;
    use crate::ws::outbox::{OutFrame, Outbox};

    fn send(outbox: &Arc<Outbox>, len: usize) -> Handoff {
        Handoff::Send(
            Arc::clone(outbox),
            OutFrame::new(OpCode::Binary, Bytes::from(vec![0; len])),
        )
    }

    #[test]
    fn a_destination_past_a_flush_bound_is_moved_into_its_inbox_at_once_in_order() {
        let inboxes = [Inbox::default(), Inbox::default()];
        let outgoing = Outgoing::new(2);
        let outbox = Arc::new(Outbox::new(1 << 30, OverflowPolicy::Close));
        // Under both bounds: held for the end of the turn.
        outgoing.stage(1, send(&outbox, 1000), &inboxes);
        assert_eq!(outgoing.staged_for_test(), [0, 1]);
        assert_eq!(inboxes[1].lock_items_for_test(), 0);
        // Past the byte bound: everything staged for worker 1 moves, in order.
        outgoing.stage(1, send(&outbox, FLUSH_BYTES), &inboxes);
        assert_eq!(outgoing.staged_for_test(), [0, 0]);
        assert_eq!(inboxes[1].lock_items_for_test(), 2);
        // Past the item bound, however small the items.
        for _ in 0..FLUSH_ITEMS - 1 {
            outgoing.stage(1, send(&outbox, 1), &inboxes);
        }
        assert_eq!(outgoing.staged_for_test(), [0, FLUSH_ITEMS - 1]);
        outgoing.stage(1, send(&outbox, 1), &inboxes);
        assert_eq!(outgoing.staged_for_test(), [0, 0]);
        assert_eq!(inboxes[1].lock_items_for_test(), 2 + FLUSH_ITEMS);
        assert_eq!(inboxes[0].lock_items_for_test(), 0);
    }
}
