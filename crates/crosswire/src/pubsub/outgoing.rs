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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use super::inbox::{Handoff, Inbox};

/// Hand-overs staged by one worker.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// One queue per destination worker. Only the owning worker's thread
    /// takes this lock, so it is never contended.
    staged: Mutex<Vec<VecDeque<Handoff>>>,
    /// A flush is scheduled: staging more needs no wake-up.
    scheduled: AtomicBool,
    /// Wakes the flushing task (on the same thread: a local run-queue push).
    wake: Notify,
}

impl Outgoing {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            staged: Mutex::new((0..workers).map(|_| VecDeque::new()).collect()),
            scheduled: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<VecDeque<Handoff>>> {
        self.staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stages `item` for worker `to`.
    pub(crate) fn stage(&self, to: usize, item: Handoff) {
        if let Some(queue) = self.lock().get_mut(to) {
            queue.push_back(item);
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
            if !queue.is_empty() {
                inbox.push_batch(queue);
            }
        }
    }

    /// Staged items per destination, for tests.
    #[cfg(test)]
    pub(crate) fn staged_for_test(&self) -> Vec<usize> {
        self.lock().iter().map(VecDeque::len).collect()
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
                    std::mem::swap(queue, batch);
                }
            }
            for (batch, inbox) in batches.iter_mut().zip(inboxes) {
                if !batch.is_empty() {
                    inbox.push_batch(batch);
                }
            }
        }
    }
}
