//! Which worker thread of which server the calling code runs on.
//!
//! A server with several workers runs each on its own thread with its own
//! current-thread runtime, and a connection never leaves the worker that
//! accepted it. Publishing and sending need to know whether the caller sits
//! on the worker that owns a subscriber (deliver directly) or elsewhere (hand
//! the work over). A thread-local answers that in a nanosecond; it is keyed by
//! the hub's id because tests and some apps run several servers in one
//! process.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    /// `(hub id, worker index)` of the worker this thread runs, if any.
    static CURRENT: Cell<Option<(u64, usize)>> = const { Cell::new(None) };
}

/// Source of hub ids; never reused within a process.
static NEXT_HUB: AtomicU64 = AtomicU64::new(1);

/// A fresh hub id.
pub(crate) fn next_hub_id() -> u64 {
    NEXT_HUB.fetch_add(1, Ordering::Relaxed)
}

/// Marks the calling thread as worker `worker` of hub `hub`, for its life.
pub(crate) fn enter(hub: u64, worker: usize) {
    CURRENT.with(|current| current.set(Some((hub, worker))));
}

/// The worker of hub `hub` the calling thread runs, if it is one.
pub(crate) fn current(hub: u64) -> Option<usize> {
    CURRENT.with(|current| match current.get() {
        Some((id, worker)) if id == hub => Some(worker),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_a_worker_only_of_the_hub_it_entered() {
        let (a, b) = (next_hub_id(), next_hub_id());
        std::thread::spawn(move || {
            assert_eq!(current(a), None);
            enter(a, 3);
            assert_eq!(current(a), Some(3));
            assert_eq!(current(b), None);
        })
        .join()
        .unwrap();
        assert_eq!(current(a), None, "other threads are not affected");
    }
}
