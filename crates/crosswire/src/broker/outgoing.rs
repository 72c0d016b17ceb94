//! The outgoing buffer: publishes waiting for a broker connection.
//!
//! The publish path must never wait for the network, so a broker's
//! [`publish`](super::Broker::publish) only pushes here and a background task
//! drains the buffer in batches (a Redis pipeline, a run of NATS publishes).
//! While the broker is slow, stopped or unreachable the buffer fills up to its
//! byte budget (`[broker] buffer_bytes`, 16 MiB by default); past it new
//! publishes are dropped and counted, so memory stays bounded whatever the
//! broker does. Publishes already in the buffer keep their order.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// What became of a pushed publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// It waits in the buffer for the drain task.
    Queued,
    /// The buffer is over its budget; the publish was dropped and counted.
    /// `first` is true for the first drop since the buffer last drained, so
    /// a broker can report an overflow once instead of once per message.
    Dropped {
        /// The first drop of this overflow.
        first: bool,
    },
}

#[derive(Debug)]
struct State<T> {
    queue: VecDeque<(T, usize)>,
    bytes: usize,
    /// Set by the first drop, cleared when the drain task takes a batch.
    overflowing: bool,
}

/// A byte-bounded FIFO of publishes for one broker connection: many
/// producers (every publish), one consumer (the broker's drain task).
#[derive(Debug)]
pub struct OutgoingBuffer<T> {
    state: Mutex<State<T>>,
    limit: usize,
    dropped: AtomicU64,
    /// Wakes the drain task; `notify_one` keeps a permit when it is busy, so
    /// a push between its check and its wait is never missed.
    ready: Notify,
}

impl<T> OutgoingBuffer<T> {
    /// An empty buffer that holds at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                overflowing: false,
            }),
            limit,
            dropped: AtomicU64::new(0),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `item`, which costs `bytes` of the budget. Never waits.
    pub fn push(&self, item: T, bytes: usize) -> Pushed {
        let mut state = self.lock();
        if state.bytes.saturating_add(bytes) > self.limit {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            let first = !state.overflowing;
            state.overflowing = true;
            return Pushed::Dropped { first };
        }
        state.bytes += bytes;
        state.queue.push_back((item, bytes));
        drop(state);
        self.ready.notify_one();
        Pushed::Queued
    }

    /// Waits until something is queued, then moves up to `max_items` items
    /// (and roughly `max_bytes`, at least one item) into `batch`, in order.
    pub async fn next_batch(&self, batch: &mut Vec<T>, max_items: usize, max_bytes: usize) {
        loop {
            if self.take_batch(batch, max_items, max_bytes) {
                return;
            }
            self.ready.notified().await;
        }
    }

    /// Moves what is queued (up to the limits) into `batch` without waiting;
    /// false if nothing was queued.
    pub fn take_batch(&self, batch: &mut Vec<T>, max_items: usize, max_bytes: usize) -> bool {
        let mut state = self.lock();
        if state.queue.is_empty() {
            return false;
        }
        let mut taken = 0usize;
        while batch.len() < max_items.max(1) {
            if taken > 0 && taken >= max_bytes {
                break;
            }
            let Some((item, bytes)) = state.queue.pop_front() else {
                break;
            };
            state.bytes -= bytes;
            taken += bytes;
            batch.push(item);
        }
        state.overflowing = false;
        true
    }

    /// Publishes dropped because the buffer was full, since it was created.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Bytes waiting in the buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The byte budget.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_keeps_order_drops_past_its_budget_and_counts() {
        let buffer = OutgoingBuffer::new(10);
        assert_eq!(buffer.push(1, 4), Pushed::Queued);
        assert_eq!(buffer.push(2, 4), Pushed::Queued);
        assert_eq!(buffer.push(3, 4), Pushed::Dropped { first: true });
        assert_eq!(buffer.push(4, 4), Pushed::Dropped { first: false });
        assert_eq!(buffer.dropped(), 2);
        assert_eq!(buffer.buffered_bytes(), 8);
        let mut batch = Vec::new();
        assert!(buffer.take_batch(&mut batch, 1, usize::MAX));
        assert_eq!(batch, [1]);
        assert_eq!(buffer.push(5, 2), Pushed::Queued);
        assert_eq!(buffer.push(6, 9), Pushed::Dropped { first: true });
        assert!(buffer.take_batch(&mut batch, 10, 4));
        assert_eq!(batch, [1, 2]);
        assert!(buffer.take_batch(&mut batch, 10, 100));
        assert_eq!(batch, [1, 2, 5]);
        assert!(!buffer.take_batch(&mut batch, 10, 100));
        assert_eq!(buffer.buffered_bytes(), 0);
    }

    #[tokio::test]
    async fn next_batch_wakes_on_a_push() {
        let buffer = std::sync::Arc::new(OutgoingBuffer::new(100));
        let producer = std::sync::Arc::clone(&buffer);
        let task = tokio::spawn(async move {
            let mut batch = Vec::new();
            producer.next_batch(&mut batch, 10, 100).await;
            batch
        });
        tokio::task::yield_now().await;
        buffer.push("a", 1);
        assert_eq!(task.await.unwrap(), ["a"]);
    }
}
