//! The reader and the writer of one connection, driven by one task.
//!
//! A connection used to be two tasks, one per direction. An idle connection
//! then paid for two task cells (tokio aligns each to 128 bytes and adds
//! about 100 bytes of header and trailer around the future), a join handle,
//! a second copy of the span and a second reference to the socket. One task
//! that polls both halves costs one cell.
//!
//! Polling both halves on every wake-up would make a publish to an idle peer
//! (a wake-up for its writer) also poll its reader, which re-registers with
//! the socket and the send queue under their locks for nothing. So the
//! reader gets a waker of its own ([`ReaderWake`]): it is polled only when
//! something it waits on woke it. The writer uses the task's waker and is
//! polled on every wake-up; when the reader wakes the task (a message came
//! in and its hook queued a reply) the writer runs in the same turn, right
//! after the hook, instead of in a second task.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_util::task::{ArcWake, AtomicWaker, waker_ref};

use crate::server::TaskGuard;
use crate::shared::Shared;

/// The reader's waker: records that the reader has work, then wakes the
/// connection's task.
#[derive(Debug)]
pub(crate) struct ReaderWake {
    /// Set by a wake-up of the reader, cleared before the reader is polled.
    woken: AtomicBool,
    /// The connection's task, as of its last poll.
    task: AtomicWaker,
    /// The server whose publishes the reader's hooks make are held for the
    /// length of each reader poll (see `pubsub/held.rs`). Kept here, in a
    /// block the connection allocates anyway, rather than in the task's
    /// future, whose every byte each idle connection pays for.
    holds_for: Option<Arc<Shared>>,
    /// The writer returned; it is not polled again. (Here rather than in
    /// the connection's future, for the same reason as `holds_for`.)
    writer_done: AtomicBool,
    /// The connection's span, entered on every poll; `None` when disabled.
    /// (Here for the same reason: inline in the task, as `Instrumented`
    /// keeps it, it cost every idle connection 40 bytes.)
    span: Option<Box<tracing::Span>>,
    /// Counts the connection as live for the server until [`Duplex`] is
    /// dropped, which takes it: this block itself can outlive the
    /// connection, in a waker someone kept.
    guard: Mutex<Option<TaskGuard>>,
}

impl ArcWake for ReaderWake {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::Release);
        arc_self.task.wake();
    }
}

/// Both halves of a connection; see the module docs.
#[derive(Debug)]
pub(crate) struct Duplex {
    /// Lent to the reader as its waker on each poll (`waker_ref`: no
    /// `Waker` kept here, and no reference count moved per poll).
    wake: Arc<ReaderWake>,
}

impl Duplex {
    /// A pair whose reader is polled on its first turn.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_wake(None, tracing::Span::none(), None)
    }

    /// The pair of a connection: its reader's publishes to `shared`'s
    /// topics are held for the length of each reader poll and delivered
    /// together when it ends, both halves run in `span`, and `guard` is
    /// kept until the pair is dropped.
    pub(crate) fn for_connection(
        shared: Arc<Shared>,
        span: tracing::Span,
        guard: TaskGuard,
    ) -> Self {
        Self::with_wake(Some(shared), span, Some(guard))
    }

    fn with_wake(
        holds_for: Option<Arc<Shared>>,
        span: tracing::Span,
        guard: Option<TaskGuard>,
    ) -> Self {
        let wake = Arc::new(ReaderWake {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
            holds_for,
            writer_done: AtomicBool::new(false),
            span: (!span.is_disabled()).then(|| Box::new(span)),
            guard: Mutex::new(guard),
        });
        Self { wake }
    }

    /// The connection's span, if enabled.
    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.wake.span.as_deref()
    }

    /// What parks the connection once its task ends (see `park.rs`).
    pub(crate) fn parker(&self) -> Parker {
        Parker(Arc::clone(&self.wake))
    }

    /// The reader is polled on the task's next turn (a parked connection's
    /// new task starts with it).
    pub(crate) fn wake_reader(&self) {
        self.wake.woken.store(true, Ordering::Release);
    }

    /// Whether the writer has returned.
    pub(crate) fn writer_done(&self) -> bool {
        self.wake.writer_done.load(Ordering::Relaxed)
    }

    /// Polls `writer` whenever the task wakes and `reader` when it was
    /// woken, until `reader` is done; `writer` may end first and is then
    /// left alone.
    pub(crate) fn run<'a, R, W>(
        &'a mut self,
        mut reader: Pin<&'a mut R>,
        mut writer: Pin<&'a mut W>,
    ) -> impl Future<Output = R::Output> + 'a
    where
        R: Future,
        W: Future<Output = ()>,
    {
        std::future::poll_fn(move |cx| {
            let _entered = self.wake.span.as_deref().map(tracing::Span::enter);
            // Registered before the flag is read, so a wake-up in between
            // wakes this task again rather than being lost.
            self.wake.task.register(cx.waker());
            if self.wake.woken.swap(false, Ordering::AcqRel) {
                let waker = waker_ref(&self.wake);
                let mut reader_cx = Context::from_waker(&waker);
                // Delivered when dropped, before the writer runs.
                let held = self.wake.holds_for.as_ref();
                let _held = held.and_then(|shared| shared.topics.hold_publishes());
                if let Poll::Ready(output) = reader.as_mut().poll(&mut reader_cx) {
                    return Poll::Ready(output);
                }
            }
            // After the reader, so a reply its hook queued goes out now.
            if !self.writer_done() && writer.as_mut().poll(cx).is_ready() {
                self.wake.writer_done.store(true, Ordering::Relaxed);
            }
            Poll::Pending
        })
    }
}

/// Parks a connection; see [`Duplex::parker`].
pub(crate) struct Parker(Arc<ReaderWake>);

impl Parker {
    /// From now on, the wake-ups that would have woken the ended task wake
    /// `resume` instead. Returns whether one came since the reader was last
    /// polled, or `writer_wanted` (registering the waker the writer waits
    /// with) is ready: then the caller wakes `resume`.
    pub(crate) fn park(
        self,
        resume: &Waker,
        writer_wanted: impl FnOnce(&mut Context<'_>) -> Poll<()>,
    ) -> bool {
        let wake = self.0;
        // In place of the ended task's waker, which would keep its cell
        // allocated; the reader's own waker wakes it.
        wake.task.register(resume);
        let waker = waker_ref(&wake);
        let frames_came = writer_wanted(&mut Context::from_waker(&waker)).is_ready();
        // A wake-up between the reader's last poll and the registration
        // above went to the ended task: it is seen here.
        frames_came || wake.woken.load(Ordering::Acquire)
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        let guard = self
            .wake
            .guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        drop(guard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_reader_is_polled_only_when_its_own_waker_fired() {
        use std::sync::atomic::AtomicUsize;
        let polls = AtomicUsize::new(0);
        let gate = Arc::new(tokio::sync::Notify::new());
        let writer_gate = Arc::new(tokio::sync::Notify::new());
        let reader = std::pin::pin!(async {
            polls.fetch_add(1, Ordering::Relaxed);
            // Counts each poll: a future that is pending until notified.
            let mut notified = std::pin::pin!(gate.notified());
            std::future::poll_fn(|cx| {
                polls.fetch_add(1, Ordering::Relaxed);
                notified.as_mut().poll(cx)
            })
            .await;
            7
        });
        let writer_turns = AtomicUsize::new(0);
        let writer = std::pin::pin!(async {
            loop {
                writer_turns.fetch_add(1, Ordering::Relaxed);
                writer_gate.notified().await;
            }
        });
        let mut duplex = Duplex::new();
        let run = duplex.run(reader, writer);
        let waker_side = async {
            // Wake the writer three times: the reader is not polled again.
            for _ in 0..3 {
                tokio::task::yield_now().await;
                writer_gate.notify_one();
                tokio::task::yield_now().await;
            }
            let before = polls.load(Ordering::Relaxed);
            gate.notify_one();
            before
        };
        let (output, polls_before_wake) = tokio::join!(run, waker_side);
        assert_eq!(output, 7);
        assert_eq!(polls_before_wake, 2, "first turn only: entry and one poll");
        assert!(writer_turns.load(Ordering::Relaxed) >= 4);
        assert!(!duplex.writer_done());
    }
}
