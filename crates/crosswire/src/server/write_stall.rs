//! How long a write through a poll-based stream may wait for the client to
//! take any byte: the `[sse] send_timeout` of the responses hyper writes
//! (see `corking.rs`; the responses the server writes itself are bounded in
//! `write_batch.rs`). The limit is on a write making no progress, so a
//! client that reads at all, however slowly, is not cut.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// The limit on a write that waits for the client, and its timer while one
/// waits (made only then, in a box: most writes are taken at once).
pub(crate) struct WriteStall {
    /// `None`: no limit.
    limit: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl WriteStall {
    /// A limit of `limit` (`Duration::ZERO`: none).
    pub(crate) fn new(limit: Duration) -> Self {
        Self {
            limit: (!limit.is_zero()).then_some(limit),
            timer: None,
        }
    }

    /// Passes on a write's outcome; a write still pending once the limit
    /// has passed since the last one that went through fails instead.
    pub(crate) fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if outcome.is_ready() {
            self.timer = None;
            return outcome;
        }
        let Some(limit) = self.limit else {
            return outcome;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer = None;
                tracing::debug!(
                    target: "crosswire::server",
                    limit = "[sse] send_timeout",
                    "the client took nothing of a response for too long: connection closed"
                );
                Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn pending() -> Poll<std::io::Result<usize>> {
        Poll::Pending
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_pending_past_the_limit_fails_and_progress_restarts_the_clock() {
        let limit = Duration::from_millis(100);
        let mut stall = WriteStall::new(limit);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(stall.check(&mut cx, pending()).is_pending());
        tokio::time::sleep(limit * 2 / 3).await;
        assert!(stall.check(&mut cx, pending()).is_pending());
        // A write that went through: the next wait starts from zero.
        assert!(matches!(
            stall.check(&mut cx, Poll::Ready(Ok(5))),
            Poll::Ready(Ok(5))
        ));
        assert!(stall.check(&mut cx, pending()).is_pending());
        tokio::time::sleep(limit * 2 / 3).await;
        assert!(stall.check(&mut cx, pending()).is_pending());
        tokio::time::sleep(limit / 2).await;
        match stall.check(&mut cx, pending()) {
            Poll::Ready(Err(error)) => assert_eq!(error.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("not timed out: {other:?}"),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn without_a_limit_a_write_may_wait_for_ever() {
        let mut stall = WriteStall::new(Duration::ZERO);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(stall.check(&mut cx, pending()).is_pending());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(stall.check(&mut cx, pending()).is_pending());
        assert!(stall.timer.is_none());
    }
}
