//! A wake-up with exactly one waiter, which keeps a permit.
//!
//! The send queue wakes the writer when frames arrive and the reader when a
//! close starts or the queue drained; each has one waiter. tokio's `Notify`
//! serves any number of waiters, so each wait on it is a future carrying an
//! intrusive list node (80 bytes), and that future is stored in the
//! connection's task for as long as the connection is idle. This one stores
//! the waiter's waker in the signal instead (with the permit, 32 bytes) and
//! its wait is a poll of two atomics.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// A single-waiter wake-up; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    /// Set by `notify`, taken by the wait it ends: a notify that comes before
    /// the wait is not lost, as with `Notify::notify_one`.
    permit: AtomicBool,
    /// The waiter, as of its last poll.
    waker: AtomicWaker,
}

impl Signal {
    /// Wakes the waiter, or ends its next wait at once.
    pub(crate) fn notify(&self) {
        self.permit.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Ready once `notify` was called since the last wait ended.
    pub(crate) fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.permit.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // A notify between the first check and the registration found no
        // waker to wake: its permit is seen here.
        if self.permit.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// Drops the waiter's waker: the waiter is gone.
    pub(crate) fn forget(&self) {
        drop(self.waker.take());
    }

    /// Waits until `notify` was called since the last wait ended.
    #[cfg(test)]
    pub(crate) fn wait(&self) -> impl std::future::Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_wait(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_notify_before_the_wait_is_kept_and_used_once() {
        let signal = Signal::default();
        signal.notify();
        signal.notify();
        signal.wait().await;
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(signal.poll_wait(&mut cx).is_pending());
        signal.notify();
        assert!(signal.poll_wait(&mut cx).is_ready());
    }

    #[tokio::test]
    async fn a_notify_wakes_a_waiting_task() {
        let signal = std::sync::Arc::new(Signal::default());
        let waiter = tokio::spawn({
            let signal = std::sync::Arc::clone(&signal);
            async move { signal.wait().await }
        });
        tokio::task::yield_now().await;
        signal.notify();
        waiter.await.expect("the waiter ends");
    }
}
