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
//! grows a buffer rarely (it doubles), so the shared counter is touched a
//! few times per burst, not once per push. Large frames are queued by
//! reference and shared by every queue they were published to; they are not
//! counted here, only against each peer's own limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::shared::Shared;

/// The shared budget of a server's send queues.
#[derive(Debug, Default)]
pub(crate) struct QueueBudget {
    /// Most bytes all queues may hold; 0 for no budget.
    limit: usize,
    /// Bytes of send buffers held by all queues.
    held: AtomicUsize,
    /// Queues counting against the budget.
    queues: AtomicUsize,
    /// Peers closed because the budget was spent.
    closed: AtomicU64,
    /// Wakes the pass that closes the queues furthest behind.
    spent: Notify,
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
    /// A budget of `limit` bytes (0: none, only counted).
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The configured limit (0: none).
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A queue starts counting against the budget.
    pub(crate) fn join(&self) {
        self.queues.fetch_add(1, Ordering::Relaxed);
    }

    /// A queue stops counting, releasing what it still held.
    pub(crate) fn leave(&self, held: usize) {
        self.release(held);
        self.queues.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts `bytes` more, and says where that leaves the budget.
    pub(crate) fn take(&self, bytes: usize) -> Standing {
        let held = self.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.limit == 0 || held <= self.limit {
            return Standing::Within;
        }
        self.spent.notify_one();
        if held > self.limit.saturating_mul(2) {
            Standing::Overrun
        } else {
            Standing::Spent
        }
    }

    /// Counts `bytes` less.
    pub(crate) fn release(&self, bytes: usize) {
        if bytes != 0 {
            self.held.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// The share of the budget one queue may hold before it is the one
    /// closed when the budget is spent.
    pub(crate) fn fair_share(&self) -> usize {
        self.limit / self.queues.load(Ordering::Relaxed).max(1)
    }

    /// Records a peer closed for the budget.
    pub(crate) fn count_close(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }

    /// Bytes held by all queues now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
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

/// One pass: ranks the queues by bytes behind and closes from the top until
/// the budget is back under nine tenths of its limit.
fn close_furthest_behind(shared: &Shared, budget: &QueueBudget) {
    let target = budget.limit - budget.limit / 10;
    let mut held = budget.held();
    if held <= target {
        return;
    }
    let mut ranked: Vec<_> = shared
        .peers()
        .into_iter()
        .filter_map(|peer| Some((peer.outbox().behind()?, peer)))
        .collect();
    // Furthest behind first.
    ranked.sort_unstable_by_key(|(behind, _)| std::cmp::Reverse(*behind));
    let mut closed = 0usize;
    for (behind, peer) in ranked {
        if held <= target {
            break;
        }
        if peer.outbox().close_for_budget(budget.limit) {
            closed += 1;
            held = held.saturating_sub(behind.freeable);
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
        let budget = QueueBudget::new(1000);
        for _ in 0..4 {
            budget.join();
        }
        assert_eq!(budget.fair_share(), 250);
        assert_eq!(budget.take(600), Standing::Within);
        assert_eq!(budget.take(400), Standing::Within);
        assert_eq!(budget.take(1), Standing::Spent);
        assert_eq!(budget.take(1000), Standing::Overrun);
        budget.release(1000);
        budget.release(501);
        assert_eq!(budget.held(), 500);
        budget.leave(500);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.fair_share(), 333);
    }

    #[test]
    fn no_limit_only_counts() {
        let budget = QueueBudget::new(0);
        assert_eq!(budget.take(usize::MAX / 2), Standing::Within);
        assert_eq!(budget.held(), usize::MAX / 2);
    }
}
