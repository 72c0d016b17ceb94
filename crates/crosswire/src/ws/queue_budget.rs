//! One budget for what every WebSocket send queue of a server holds.
//!
//! Each peer's queue is bounded (`send_queue_bytes`), but that alone lets the
//! worst case grow as peers × queue size: ten thousand peers that subscribe
//! to a busy topic and never read hold ten gigabytes at the 1 MiB default.
//! So the queues of a server also share one budget (`[server]
//! max_queued_bytes`). When a queue's growth spends it, one task per server
//! ranks the queues by how far behind they are and closes them with 1008
//! from the top until what they hold is back under nine tenths of the
//! budget. Behind means first how long a peer's writer has been waiting to
//! finish the batch it took (seconds for a peer that stopped reading, a
//! moment for one that reads, however much it was sent), then how many bytes
//! it holds: the peers furthest behind go first, and a peer that keeps up is
//! closed only if closing every peer further behind was not enough. Between the spending push and that pass, memory
//! can overshoot; past twice the budget a growing queue that holds more than
//! its share (the budget divided by the number of queues) is closed at once,
//! which bounds the overshoot even when the pass is slow to run.
//!
//! A queue closed for the budget stops counting at once, even though the
//! batch its writer holds (which may be partly on the wire) is freed only
//! when the connection ends, within `close_timeout`.
//!
//! What is counted is memory, not messages: the capacity of the buffers
//! small frames are copied into, counted when a queue takes or grows one and
//! released when the writer has written it or the queue is dropped. A queue
//! grows a buffer rarely (it doubles), so the counter is touched a few
//! times per burst, not once per push; and each worker has its own part of
//! the budget (its share of the limit, on its own cache line), so workers
//! never write a common counter. Large frames are queued by
//! reference and shared by every queue they were published to; they are not
//! counted here, only against each peer's own limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::shared::Shared;

/// One worker's part of the budget, on a cache line of its own: the queues
/// of a worker count against it from that worker's thread only, so two
/// workers never write the same line (the budget must not become the one
/// shared counter every core fights over).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Share {
    /// Bytes of send buffers held by this worker's queues.
    held: AtomicUsize,
    /// This worker's queues counting against the budget.
    queues: AtomicUsize,
    /// The most `held` has been (for metrics); written only when `take`
    /// passes it, which is rare once a server has warmed up.
    high_water: AtomicUsize,
}

/// The budget of a server's send queues, split evenly between its workers
/// (connections are spread evenly over them).
#[derive(Debug)]
pub(crate) struct QueueBudget {
    /// Most bytes all queues may hold; 0 for no budget.
    limit: usize,
    /// `limit` divided between the shares.
    share_limit: usize,
    shares: Box<[Share]>,
    /// Peers closed because the budget was spent.
    closed: AtomicU64,
    /// Wakes the pass that closes the queues furthest behind.
    spent: Notify,
    /// The server's counters, if on: every queue that counts against the
    /// budget counts its traffic there too (see `Outbox::with_budget`).
    metrics: Option<Arc<Metrics>>,
}

/// Where a queue's growth left the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Within the budget (or there is none).
    Within,
    /// Spent: the pass that closes the queues furthest behind is woken.
    Spent,
    /// Past twice the budget: a growing queue past its share must close now.
    Overrun,
}

impl QueueBudget {
    /// A budget of `limit` bytes (0: none, only counted) for `workers`
    /// workers.
    pub(crate) fn new(limit: usize, workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            limit,
            share_limit: limit / workers,
            shares: (0..workers).map(|_| Share::default()).collect(),
            closed: AtomicU64::new(0),
            spent: Notify::new(),
            metrics: None,
        }
    }

    /// The same budget, handing `metrics` to the queues that join it.
    pub(crate) fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The server's counters, if on.
    pub(crate) fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    /// The most bytes each worker's queues have held.
    pub(crate) fn high_water(&self) -> Vec<usize> {
        self.shares
            .iter()
            .map(|share| share.high_water.load(Ordering::Relaxed))
            .collect()
    }

    /// The configured limit (0: none).
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    fn share(&self, worker: usize) -> &Share {
        // Workers are numbered from 0; the fallback keeps a bad index from
        // becoming a panic.
        self.shares.get(worker).unwrap_or(&self.shares[0])
    }

    /// A queue of `worker` starts counting against the budget.
    pub(crate) fn join(&self, worker: usize) {
        self.share(worker).queues.fetch_add(1, Ordering::Relaxed);
    }

    /// A queue of `worker` stops counting, releasing what it still held.
    pub(crate) fn leave(&self, worker: usize, held: usize) {
        self.release(worker, held);
        self.share(worker).queues.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts `bytes` more on `worker`'s share, and says where that leaves it.
    pub(crate) fn take(&self, worker: usize, bytes: usize) -> Standing {
        let share = self.share(worker);
        let held = share.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if held > share.high_water.load(Ordering::Relaxed) {
            share.high_water.fetch_max(held, Ordering::Relaxed);
        }
        if self.limit == 0 || held <= self.share_limit {
            return Standing::Within;
        }
        self.spent.notify_one();
        if held > self.share_limit.saturating_mul(2) {
            Standing::Overrun
        } else {
            Standing::Spent
        }
    }

    /// Counts `bytes` less on `worker`'s share.
    pub(crate) fn release(&self, worker: usize, bytes: usize) {
        if bytes != 0 {
            self.share(worker).held.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// The part of `worker`'s share one of its queues may hold before it is
    /// the one closed when the budget is overrun.
    pub(crate) fn fair_share(&self, worker: usize) -> usize {
        self.share_limit / self.share(worker).queues.load(Ordering::Relaxed).max(1)
    }

    /// Records a peer closed for the budget.
    pub(crate) fn count_close(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes held by `worker`'s queues now.
    fn held_on(&self, worker: usize) -> usize {
        self.share(worker).held.load(Ordering::Relaxed)
    }

    /// Bytes held by all queues now.
    pub(crate) fn held(&self) -> usize {
        (0..self.shares.len())
            .map(|worker| self.held_on(worker))
            .sum()
    }

    /// Peers closed so far because the budget was spent.
    pub(crate) fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }
}

/// Closes the queues furthest behind whenever the budget is spent, until
/// the task is dropped.
pub(crate) async fn run(shared: Arc<Shared>) {
    let budget = Arc::clone(&shared.queue_budget);
    if budget.limit == 0 {
        return;
    }
    loop {
        budget.spent.notified().await;
        close_furthest_behind(&shared, &budget);
    }
}

/// One pass: on every worker whose share is spent, ranks that worker's
/// queues by how far behind they are and closes from the top until the
/// share is back under nine tenths.
fn close_furthest_behind(shared: &Shared, budget: &QueueBudget) {
    let target = budget.share_limit - budget.share_limit / 10;
    let mut held: Vec<usize> = (0..budget.shares.len())
        .map(|worker| budget.held_on(worker))
        .collect();
    if held.iter().all(|&held| held <= target) {
        return;
    }
    let mut ranked: Vec<_> = shared
        .peers()
        .into_iter()
        .filter(|peer| {
            held.get(peer.outbox().budget_worker())
                .is_some_and(|&h| h > target)
        })
        .filter_map(|peer| Some((peer.outbox().behind()?, peer)))
        .collect();
    // Furthest behind first.
    ranked.sort_unstable_by_key(|(behind, _)| std::cmp::Reverse(*behind));
    let mut closed = 0usize;
    for (behind, peer) in ranked {
        let worker = peer.outbox().budget_worker();
        let Some(held) = held.get_mut(worker) else {
            continue;
        };
        if *held <= target {
            continue;
        }
        if peer.outbox().close_for_budget(budget.limit) {
            closed += 1;
            *held = held.saturating_sub(behind.freeable);
        }
    }
    if closed > 0 {
        tracing::warn!(
            target: "crosswire::ws",
            closed,
            limit = budget.limit,
            held = budget.held(),
            "[server] max_queued_bytes spent: closed the peers furthest behind with 1008"
        );
    }
}

/// What the server's send queues hold against their shared budget
/// ([`ServerHandle::send_queue_stats`](crate::ServerHandle::send_queue_stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SendQueueStats {
    /// Bytes of copy buffers all WebSocket send queues hold now.
    pub held_bytes: usize,
    /// The budget (`[server] max_queued_bytes`); 0 when there is none.
    pub limit_bytes: usize,
    /// Peers closed with 1008 because the budget was spent.
    pub closed: u64,
}

impl QueueBudget {
    /// The counters, for the server handle.
    pub(crate) fn stats(&self) -> SendQueueStats {
        SendQueueStats {
            held_bytes: self.held(),
            limit_bytes: self.limit,
            closed: self.closed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_past_its_limit_and_shared_fairly() {
        let budget = QueueBudget::new(1000, 1);
        for _ in 0..4 {
            budget.join(0);
        }
        assert_eq!(budget.fair_share(0), 250);
        assert_eq!(budget.take(0, 600), Standing::Within);
        assert_eq!(budget.take(0, 400), Standing::Within);
        assert_eq!(budget.take(0, 1), Standing::Spent);
        assert_eq!(budget.take(0, 1000), Standing::Overrun);
        budget.release(0, 1000);
        budget.release(0, 501);
        assert_eq!(budget.held(), 500);
        budget.leave(0, 500);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.fair_share(0), 333);
    }

    #[test]
    fn each_worker_has_its_part_of_the_budget() {
        let budget = QueueBudget::new(1000, 2);
        assert_eq!(budget.take(0, 500), Standing::Within);
        assert_eq!(budget.take(1, 400), Standing::Within);
        assert_eq!(budget.take(0, 1), Standing::Spent);
        assert_eq!(budget.take(1, 100), Standing::Within);
        assert_eq!(budget.held(), 1001);
        assert_eq!(budget.high_water(), vec![501, 500]);
        budget.release(0, 501);
        assert_eq!(
            budget.high_water(),
            vec![501, 500],
            "a high-water mark stays"
        );
    }

    #[test]
    fn no_limit_only_counts() {
        let budget = QueueBudget::new(0, 1);
        assert_eq!(budget.take(0, usize::MAX / 2), Standing::Within);
        assert_eq!(budget.held(), usize::MAX / 2);
    }
}
