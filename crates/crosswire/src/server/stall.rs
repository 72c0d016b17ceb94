//! How long something a client drives may stay pending without progress:
//! a request body that stops coming (`[server] body_read_timeout`,
//! `body_stall.rs`) and a response the client stops taking (`[sse]
//! send_timeout`, for the writes the server makes itself in
//! `write_batch.rs`, and those hyper makes through `bounded_writes.rs`, on
//! the plain socket and on the one under TLS). The limit is on a wait with
//! no progress at all, so a client that sends or reads anything, however
//! slowly, is never cut; the timer is made only when a poll has to wait,
//! in a box, so what a connection holds between waits does not carry one.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// A limit on waiting without progress, and its timer while a wait lasts.
pub(crate) struct Stall {
    /// `None`: no limit.
    limit: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Stall {
    /// A limit of `limit` (`Duration::ZERO`: none).
    pub(crate) fn new(limit: Duration) -> Self {
        Self {
            limit: (!limit.is_zero()).then_some(limit),
            timer: None,
        }
    }

    /// The limit (`Duration::ZERO` for none).
    pub(crate) fn limit(&self) -> Duration {
        self.limit.unwrap_or_default()
    }

    /// To be called after each poll of what the limit guards, with whether
    /// that poll made progress: ready once polls have found none for the
    /// whole limit (waking `cx` then), pending otherwise.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>, progressed: bool) -> Poll<()> {
        let Some(limit) = self.limit.filter(|_| !progressed) else {
            self.timer = None;
            return Poll::Pending;
        };
        // `sleep` saturates a limit too large for the clock.
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        let expired = timer.as_mut().poll(cx);
        if expired.is_ready() {
            self.timer = None;
        }
        expired
    }
}

/// [`Stall`] on the writes of a response: a write still pending once the
/// limit has passed since the last one that went through fails.
pub(crate) struct WriteStall(Stall);

impl WriteStall {
    /// A limit of `limit` (`Duration::ZERO`: none).
    pub(crate) fn new(limit: Duration) -> Self {
        Self(Stall::new(limit))
    }

    /// Passes on a write's outcome, or a `TimedOut` error once the write
    /// has waited for the limit.
    pub(crate) fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if self.0.poll_expired(cx, outcome.is_ready()).is_pending() {
            return outcome;
        }
        tracing::debug!(
            target: "crosswire::server",
            limit = "[sse] send_timeout",
            "the client took nothing of a response for too long: connection closed"
        );
        Poll::Ready(Err(std::io::ErrorKind::TimedOut.into()))
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
        assert!(stall.0.timer.is_none());
    }
}
