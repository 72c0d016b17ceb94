//! Counts the server's live connection tasks, per worker: shutdown waits for
//! them all, and the accept loop gives each new connection to the worker
//! with the fewest. With `[server] max_connections_per_ip`, it also counts
//! them per remote address (`per_address.rs`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use super::per_address::{NO_SLOT, PerAddress};

/// Counts live tasks; each holds a [`TaskGuard`].
#[derive(Debug)]
pub(crate) struct Tracker {
    live: AtomicUsize,
    /// Live tasks of each worker.
    per_worker: Box<[AtomicUsize]>,
    /// Where the search for the least loaded worker starts, so that ties
    /// are spread round-robin instead of all landing on the first worker.
    rotation: AtomicUsize,
    idle: Notify,
    /// Open connections per address, when limited.
    per_address: Option<PerAddress>,
}

/// Held by one task; dropping it marks the task finished.
#[derive(Debug)]
pub(crate) struct TaskGuard {
    tracker: Arc<Tracker>,
    worker: u32,
    /// Its address's slot in the per-address count, or [`NO_SLOT`].
    address: u32,
}

impl Tracker {
    /// A tracker for `workers` workers (at least one).
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            live: AtomicUsize::new(0),
            per_worker: (0..workers.max(1)).map(|_| AtomicUsize::new(0)).collect(),
            rotation: AtomicUsize::new(0),
            idle: Notify::new(),
            per_address: None,
        }
    }

    /// Also counts connections per remote address, up to `limit` each (0:
    /// no limit); see [`TaskGuard::claim_address`].
    pub(crate) fn with_limit_per_address(mut self, limit: u32) -> Self {
        self.per_address = PerAddress::new(limit);
        self
    }

    /// The per-address limit, if there is one.
    pub(crate) fn limit_per_address(&self) -> Option<u32> {
        self.per_address.as_ref().map(PerAddress::limit)
    }

    /// Registers a task of `worker`.
    pub(crate) fn guard(self: &Arc<Self>, worker: usize) -> TaskGuard {
        self.live.fetch_add(1, Ordering::AcqRel);
        if let Some(count) = self.per_worker.get(worker) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        TaskGuard {
            tracker: Arc::clone(self),
            // Workers are threads: far fewer than `u32::MAX`.
            worker: u32::try_from(worker).unwrap_or(u32::MAX),
            address: NO_SLOT,
        }
    }

    /// Registers a task of `worker` unless `max` are live already. The
    /// check and the count are one atomic step, so tasks admitted at once
    /// from several threads never go past `max`.
    pub(crate) fn guard_within(self: &Arc<Self>, worker: usize, max: usize) -> Option<TaskGuard> {
        let admitted = self
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live < max).then_some(live + 1)
            })
            .is_ok();
        if !admitted {
            return None;
        }
        if let Some(count) = self.per_worker.get(worker) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        Some(TaskGuard {
            tracker: Arc::clone(self),
            worker: u32::try_from(worker).unwrap_or(u32::MAX),
            address: NO_SLOT,
        })
    }

    /// Live tasks, all workers together: one per open connection (its HTTP
    /// task, then its WebSocket task once upgraded: the guard moves).
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// The worker with the fewest live tasks.
    pub(crate) fn least_loaded(&self) -> usize {
        let workers = self.per_worker.len();
        let start = self.rotation.fetch_add(1, Ordering::Relaxed) % workers;
        (0..workers)
            .map(|offset| (start + offset) % workers)
            .min_by_key(|&worker| self.per_worker[worker].load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Waits until no task is live.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.live.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The guard of one connection, shared by its HTTP task and its requests:
/// an upgrade takes it into the WebSocket task, so a connection counts once
/// for `max_connections` whether it is still HTTP or already upgraded.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSlot(Arc<Slot>);

#[derive(Debug)]
struct Slot {
    guard: std::sync::Mutex<Option<TaskGuard>>,
    /// An upgrade took the guard: from now on the connection is a
    /// WebSocket's (see `corking.rs`).
    upgraded: AtomicBool,
}

impl ConnectionSlot {
    pub(crate) fn new(guard: TaskGuard) -> Self {
        Self(Arc::new(Slot {
            guard: std::sync::Mutex::new(Some(guard)),
            upgraded: AtomicBool::new(false),
        }))
    }

    /// The guard, if no upgrade has taken it yet.
    pub(crate) fn take(&self) -> Option<TaskGuard> {
        let guard = self
            .0
            .guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if guard.is_some() {
            self.0.upgraded.store(true, Ordering::Release);
        }
        guard
    }

    /// Whether an upgrade took the guard.
    pub(crate) fn is_upgraded(&self) -> bool {
        self.0.upgraded.load(Ordering::Acquire)
    }
}

impl TaskGuard {
    /// The worker the task runs on.
    #[cfg(feature = "tls")]
    pub(crate) fn worker(&self) -> usize {
        self.worker as usize
    }

    /// Counts this connection against its remote address's limit; false
    /// (and not counted) if the address is at the limit already. Always
    /// true without a limit, and for an unknown address (`0.0.0.0`, which
    /// a mounted app without connect info reports for everyone).
    pub(crate) fn claim_address(&mut self, address: IpAddr) -> bool {
        let Some(per_address) = &self.tracker.per_address else {
            return true;
        };
        if self.address != NO_SLOT || address.is_unspecified() {
            return true;
        }
        match per_address.claim(address) {
            Some(slot) => {
                self.address = slot;
                true
            }
            None => false,
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Some(count) = self.tracker.per_worker.get(self.worker as usize) {
            count.fetch_sub(1, Ordering::Relaxed);
        }
        if self.address != NO_SLOT
            && let Some(per_address) = &self.tracker.per_address
        {
            per_address.release(self.address);
        }
        if self.tracker.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.tracker.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_admitted_from_many_threads_at_once_stay_within_the_bound() {
        let tracker = Arc::new(Tracker::new(2));
        let guards = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let (tracker, guards) = (&tracker, &guards);
                scope.spawn(move || {
                    for _ in 0..1000 {
                        if let Some(guard) = tracker.guard_within(thread % 2, 50) {
                            guards.lock().unwrap().push(guard);
                        }
                    }
                });
            }
        });
        assert_eq!(guards.lock().unwrap().len(), 50);
        assert_eq!(tracker.live(), 50);
        drop(guards);
        assert_eq!(tracker.live(), 0);
    }

    #[test]
    fn new_work_goes_to_the_worker_with_the_fewest_tasks() {
        let tracker = Arc::new(Tracker::new(3));
        let mut guards = Vec::new();
        for _ in 0..9 {
            let worker = tracker.least_loaded();
            guards.push(tracker.guard(worker));
        }
        let counts: Vec<_> = tracker
            .per_worker
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [3, 3, 3]);
        guards.retain(|g| g.worker != 1);
        assert_eq!(tracker.least_loaded(), 1);
    }
}
