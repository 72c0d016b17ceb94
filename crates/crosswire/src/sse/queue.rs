//! The bounded queue between an event stream's producers and its response body.
//!
//! Producers (the handler's `push`, topic publishes) append encoded events;
//! the one consumer, the response body, takes them when hyper asks for more.
//! The queue is bounded by bytes: `limit` is the most a client that stops
//! reading can make the server hold for it, and going past it closes the
//! stream instead of growing. The lock is held only to move chunks in or out,
//! never across an `.await`.
//!
//! Chunks are released to the body in order. `pause` holds new chunks back
//! (they still count against the budget); `flush`, `resume` and `close`
//! release everything held so far.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

/// Small events waiting together are joined into one chunk up to this size:
/// hyper frames every body chunk separately (chunked encoding) and writes a
/// bounded number of buffers per system call, so a burst of tiny events costs
/// one write instead of dozens. A lone chunk (the usual case, and the shared
/// bytes of a topic publish) is handed over without a copy.
const COALESCE_BYTES: usize = 16 * 1024;

/// What became of a pushed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// It is queued for the body.
    Queued,
    /// The stream is closed; the chunk was dropped.
    Closed,
    /// The chunk would have taken the queue past its budget: the queue was
    /// emptied and closed. The caller must finish the stream (outside any lock).
    Overflow,
}

/// What the body should do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// Write these bytes.
    Chunk(Bytes),
    /// Nothing is released yet: wait for [`SseQueue::readable`].
    Empty,
    /// The stream is over: end the response cleanly.
    End,
    /// The stream was aborted (overflow): drop the connection, since a clean
    /// end would still wait behind everything the client has not read.
    Abort,
}

#[derive(Debug, Default)]
struct State {
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    queued: usize,
    /// How many chunks at the front the body may take (the rest are held by
    /// `pause`).
    released: usize,
    paused: bool,
    /// `close` was called: nothing more is accepted, and the response ends
    /// once the body has taken what is queued.
    closing: bool,
    /// The response ends now, without what is queued (client gone, overflow).
    aborted: bool,
}

/// The bounded, pausable byte queue of one event stream.
#[derive(Debug)]
pub(crate) struct SseQueue {
    state: Mutex<State>,
    limit: usize,
    /// Woken when chunks are released or the stream ends. One waiter: the
    /// body. `notify_one` keeps a permit, so a push that lands between the
    /// body's `take` and its wait is not lost.
    readable: Notify,
    /// Woken (all waiters) whenever the queue becomes empty or is aborted.
    drained: Notify,
}

impl SseQueue {
    /// An empty queue holding at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limit,
            readable: Notify::new(),
            drained: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing in this module panics while holding the lock; if a panic
        // elsewhere poisoned it, the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The byte budget.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Appends encoded events.
    pub(crate) fn push(&self, chunk: Bytes) -> Pushed {
        let mut state = self.lock();
        if state.closing || state.aborted {
            return Pushed::Closed;
        }
        if chunk.is_empty() {
            return Pushed::Queued;
        }
        // One event larger than the whole budget is still accepted into an
        // empty queue, so that large events are not impossible to send.
        if state.queued > 0 && state.queued + chunk.len() > self.limit {
            Self::clear(&mut state);
            state.aborted = true;
            drop(state);
            self.readable.notify_one();
            self.drained.notify_waiters();
            return Pushed::Overflow;
        }
        state.queued += chunk.len();
        state.chunks.push_back(chunk);
        // The body waits only when nothing was released; if something was,
        // it is running or holds a permit, and a wake-up would be wasted.
        let wake = !state.paused && state.released == 0;
        if !state.paused {
            state.released = state.chunks.len();
        }
        drop(state);
        if wake {
            self.readable.notify_one();
        }
        Pushed::Queued
    }

    /// Holds pushed chunks back until `flush`, `resume` or `close`.
    pub(crate) fn pause(&self) {
        self.lock().paused = true;
    }

    /// Releases what is held and stops holding.
    pub(crate) fn resume(&self) {
        let mut state = self.lock();
        state.paused = false;
        self.release_all(state);
    }

    /// Releases what is held; later pushes are still held if paused.
    pub(crate) fn flush(&self) {
        let state = self.lock();
        self.release_all(state);
    }

    /// True while paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.lock().paused
    }

    fn release_all(&self, mut state: MutexGuard<'_, State>) {
        let wake = state.released < state.chunks.len();
        state.released = state.chunks.len();
        drop(state);
        if wake {
            self.readable.notify_one();
        }
    }

    /// Accepts nothing more and ends the response after everything queued,
    /// held chunks included. Returns false if it was already closed.
    pub(crate) fn close(&self) -> bool {
        self.close_with(Bytes::new())
    }

    /// Like `close`, with `last` written after everything queued. It is
    /// queued whatever the budget: it is small, and it is the last.
    pub(crate) fn close_with(&self, last: Bytes) -> bool {
        let mut state = self.lock();
        if state.closing || state.aborted {
            return false;
        }
        if !last.is_empty() {
            state.queued += last.len();
            state.chunks.push_back(last);
        }
        state.closing = true;
        state.released = state.chunks.len();
        drop(state);
        self.readable.notify_one();
        true
    }

    /// Drops everything queued and ends the response now.
    pub(crate) fn abort(&self) {
        let mut state = self.lock();
        Self::clear(&mut state);
        state.aborted = true;
        drop(state);
        self.readable.notify_one();
        self.drained.notify_waiters();
    }

    fn clear(state: &mut State) {
        state.chunks.clear();
        state.queued = 0;
        state.released = 0;
    }

    /// True once closed or aborted.
    pub(crate) fn is_closed(&self) -> bool {
        let state = self.lock();
        state.closing || state.aborted
    }

    /// Bytes queued and not yet taken by the body.
    pub(crate) fn buffered_amount(&self) -> usize {
        self.lock().queued
    }

    /// The next bytes for the body, joining small released chunks.
    pub(crate) fn take(&self) -> Take {
        let mut state = self.lock();
        if state.aborted {
            return Take::Abort;
        }
        if state.released == 0 {
            return if state.closing {
                Take::End
            } else {
                Take::Empty
            };
        }
        let Some(first) = state.chunks.pop_front() else {
            return Take::End;
        };
        state.released -= 1;
        let mut chunk = first;
        let next_fits = |state: &State, len: usize| {
            state.released > 0
                && state
                    .chunks
                    .front()
                    .is_some_and(|next| len + next.len() <= COALESCE_BYTES)
        };
        if next_fits(&state, chunk.len()) {
            let mut joined = BytesMut::with_capacity(COALESCE_BYTES);
            joined.extend_from_slice(&chunk);
            while next_fits(&state, joined.len()) {
                if let Some(next) = state.chunks.pop_front() {
                    state.released -= 1;
                    joined.extend_from_slice(&next);
                }
            }
            chunk = joined.freeze();
        }
        state.queued -= chunk.len();
        let drained = state.queued == 0;
        drop(state);
        if drained {
            self.drained.notify_waiters();
        }
        Take::Chunk(chunk)
    }

    /// Waits until chunks may have been released or the stream ended.
    pub(crate) async fn readable(&self) {
        self.readable.notified().await;
    }

    /// Waits until the body has taken everything queued (or the stream ended).
    pub(crate) async fn wait_for_drain(&self) {
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            // Register before checking, so a drain in between is not missed.
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.queued == 0 || state.aborted {
                    return;
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(len: usize) -> Bytes {
        Bytes::from(vec![b'a'; len])
    }

    #[test]
    fn going_past_the_budget_empties_and_closes_the_queue() {
        let queue = SseQueue::new(1000);
        assert_eq!(queue.push(chunk(600)), Pushed::Queued);
        assert_eq!(queue.push(chunk(600)), Pushed::Overflow);
        assert_eq!(queue.buffered_amount(), 0);
        assert!(queue.is_closed());
        assert_eq!(queue.push(chunk(1)), Pushed::Closed);
        assert_eq!(queue.take(), Take::Abort);
    }

    #[test]
    fn one_large_event_still_fits_an_empty_queue() {
        let queue = SseQueue::new(100);
        assert_eq!(queue.push(chunk(5000)), Pushed::Queued);
    }

    #[test]
    fn pause_holds_flush_releases_and_close_drains_then_ends() {
        let queue = SseQueue::new(1 << 20);
        queue.pause();
        queue.push(Bytes::from_static(b"a"));
        assert_eq!(queue.take(), Take::Empty);
        queue.flush();
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"a")));
        assert!(queue.is_paused());
        queue.push(Bytes::from_static(b"b"));
        assert_eq!(queue.take(), Take::Empty);
        assert!(queue.close());
        assert!(!queue.close());
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"b")));
        assert_eq!(queue.take(), Take::End);
    }

    #[test]
    fn small_chunks_are_joined_and_a_lone_chunk_is_not_copied() {
        let queue = SseQueue::new(1 << 20);
        let lone = chunk(10);
        queue.push(lone.clone());
        match queue.take() {
            Take::Chunk(taken) => assert_eq!(taken.as_ptr(), lone.as_ptr()),
            other => panic!("{other:?}"),
        }
        for _ in 0..3 {
            queue.push(chunk(10));
        }
        queue.push(chunk(COALESCE_BYTES));
        assert_eq!(queue.take(), Take::Chunk(chunk(30)));
        assert_eq!(queue.take(), Take::Chunk(chunk(COALESCE_BYTES)));
        assert_eq!(queue.buffered_amount(), 0);
    }

    #[tokio::test]
    async fn a_push_before_the_wait_is_not_lost_and_drain_follows_the_take() {
        let queue = SseQueue::new(1 << 20);
        assert_eq!(queue.take(), Take::Empty);
        queue.push(chunk(1));
        let patience = std::time::Duration::from_secs(1);
        tokio::time::timeout(patience, queue.readable())
            .await
            .unwrap();
        assert_eq!(queue.take(), Take::Chunk(chunk(1)));
        tokio::time::timeout(patience, queue.wait_for_drain())
            .await
            .unwrap();
    }
}
