//! The bounded queue between an event stream's producers and its response body.
//!
//! Producers (the handler's `push`, topic publishes) append encoded events;
//! the one consumer, the response body, takes them when the connection asks for more.
//! The queue is bounded by bytes: `limit` is the most a client that stops
//! reading can make the server hold for it, and going past it closes the
//! stream instead of growing. The lock is held only to move chunks in or out,
//! never across an `.await`.
//!
//! Chunks are released to the body in order. `pause` holds new chunks back
//! (they still count against the budget); `flush`, `resume` and `close`
//! release everything held so far.
//!
//! Events pushed while nothing is held are encoded straight into an open
//! tail buffer, which the body takes whole: a producer that pushes event
//! after event allocates nothing per event, and the body gets one chunk for
//! the lot without a copy. Whether the stream ended and how much is queued
//! are mirrored in atomics, so a producer's checks between pushes take no
//! lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

/// Small events waiting together are joined into one chunk up to this size:
/// the writer frames every body chunk separately (chunked encoding) and
/// writes a bounded number of bytes per system call, so a burst of tiny events costs
/// one write instead of dozens. A lone chunk (the usual case, and the shared
/// bytes of a topic publish) is handed over without a copy.
const COALESCE_BYTES: usize = 16 * 1024;

/// Shared chunks up to this size are copied into an open tail that holds
/// events already, rather than queued on their own (the body would join
/// them anyway); a lone one is queued as it is, uncopied.
const COPY_INTO_TAIL: usize = 1024;

/// The open tail grows by blocks of this size (whenever it has less than
/// `TAIL_SPARE` bytes free), not by the length of each event.
const TAIL_BLOCK: usize = 4096;
const TAIL_SPARE: usize = 512;

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
    /// Released bytes after every chunk of `chunks`, still open for more
    /// (only while nothing is held: a held push closes it into `chunks`
    /// first, so order is kept).
    tail: BytesMut,
    /// Bytes in `chunks` and `tail`.
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
    /// `closing || aborted`, readable without the lock.
    ended: AtomicBool,
    /// `queued`, readable without the lock.
    queued: AtomicUsize,
}

impl SseQueue {
    /// An empty queue holding at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limit,
            readable: Notify::new(),
            drained: Notify::new(),
            ended: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
        }
    }

    /// Publishes `state`'s byte count and end to the atomics (called with
    /// the lock held, after every change).
    fn mirror(&self, state: &State) {
        self.queued.store(state.queued, Ordering::Release);
        self.ended
            .store(state.closing || state.aborted, Ordering::Release);
    }

    /// Moves the open tail into `chunks`, released.
    fn seal(state: &mut State) {
        if !state.tail.is_empty() {
            let sealed = state.tail.split().freeze();
            state.chunks.push_back(sealed);
            state.released += 1;
        }
    }

    /// True when a push may go into the open tail.
    fn tail_open(state: &State) -> bool {
        !state.paused && state.released == state.chunks.len()
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
        if chunk.len() <= COPY_INTO_TAIL && !state.tail.is_empty() && Self::tail_open(&state) {
            // Joined to the events before it, as the body would join them.
            drop(state);
            return self.push_with(|out| out.extend_from_slice(&chunk));
        }
        if state.queued > 0 && state.queued + chunk.len() > self.limit {
            return self.overflow(state);
        }
        Self::seal(&mut state);
        state.queued += chunk.len();
        state.chunks.push_back(chunk);
        // The body waits only when nothing was released; if something was,
        // it is running or holds a permit, and a wake-up would be wasted.
        let wake = !state.paused && state.released == 0;
        if !state.paused {
            state.released = state.chunks.len();
        }
        self.mirror(&state);
        drop(state);
        if wake {
            self.readable.notify_one();
        }
        Pushed::Queued
    }

    /// Appends the events `encode` writes, encoded straight into the queue
    /// (into the open tail when nothing is held).
    pub(crate) fn push_with(&self, encode: impl FnOnce(&mut BytesMut)) -> Pushed {
        let mut state = self.lock();
        if state.closing || state.aborted {
            return Pushed::Closed;
        }
        if !Self::tail_open(&state) {
            // Held: a chunk of its own, after the tail.
            Self::seal(&mut state);
            let mut out = BytesMut::new();
            encode(&mut out);
            if out.is_empty() {
                return Pushed::Queued;
            }
            if state.queued > 0 && state.queued + out.len() > self.limit {
                return self.overflow(state);
            }
            state.queued += out.len();
            state.chunks.push_back(out.freeze());
            self.mirror(&state);
            return Pushed::Queued;
        }
        if state.tail.len() >= COALESCE_BYTES {
            // Full enough for one body chunk: the next events start another.
            Self::seal(&mut state);
        }
        if state.tail.capacity() - state.tail.len() < TAIL_SPARE {
            state.tail.reserve(TAIL_BLOCK);
        }
        let before = state.tail.len();
        encode(&mut state.tail);
        let added = state.tail.len() - before;
        if added == 0 {
            return Pushed::Queued;
        }
        // One event larger than the whole budget is still accepted into an
        // empty queue, so that large events are not impossible to send.
        if state.queued > 0 && state.queued + added > self.limit {
            state.tail.truncate(before);
            return self.overflow(state);
        }
        let wake = state.queued == 0;
        state.queued += added;
        self.mirror(&state);
        drop(state);
        if wake {
            self.readable.notify_one();
        }
        Pushed::Queued
    }

    /// Empties and closes the queue after a push that would have gone past
    /// the budget.
    fn overflow(&self, state: MutexGuard<'_, State>) -> Pushed {
        self.abort_locked(state);
        Pushed::Overflow
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
        // The tail is open only while everything is released: nothing to do
        // for it.
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
        Self::seal(&mut state);
        if !last.is_empty() {
            state.queued += last.len();
            state.chunks.push_back(last);
        }
        state.closing = true;
        state.released = state.chunks.len();
        self.mirror(&state);
        drop(state);
        self.readable.notify_one();
        true
    }

    /// Drops everything queued and ends the response now.
    pub(crate) fn abort(&self) {
        self.abort_locked(self.lock());
    }

    /// Drops everything queued and ends the response, under `state`.
    fn abort_locked(&self, mut state: MutexGuard<'_, State>) {
        Self::clear(&mut state);
        state.aborted = true;
        self.mirror(&state);
        drop(state);
        self.readable.notify_one();
        self.drained.notify_waiters();
    }

    fn clear(state: &mut State) {
        state.chunks.clear();
        state.tail = BytesMut::new();
        state.queued = 0;
        state.released = 0;
    }

    /// True once closed or aborted.
    pub(crate) fn is_closed(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Bytes queued and not yet taken by the body.
    pub(crate) fn buffered_amount(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// The next bytes for the body, joining small released chunks.
    pub(crate) fn take(&self) -> Take {
        let mut state = self.lock();
        if state.aborted {
            return Take::Abort;
        }
        // The tail follows every chunk and is released: take it last.
        if state.released == 0 && !state.tail.is_empty() {
            // The block goes with it, so that an idle stream holds none: whole
            // when mostly filled, else as an exact copy (a writer that keeps
            // chunks a while, HTTP/2's, then holds their bytes, not a block
            // for each of a run of small events).
            let tail = if state.tail.len() >= state.tail.capacity() / 2 {
                std::mem::take(&mut state.tail).freeze()
            } else {
                let copy = Bytes::copy_from_slice(&state.tail);
                state.tail = BytesMut::new();
                copy
            };
            return self.taken(state, tail);
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
        self.taken(state, chunk)
    }

    /// Accounts for `chunk` leaving the queue for the body.
    fn taken(&self, mut state: MutexGuard<'_, State>, chunk: Bytes) -> Take {
        state.queued -= chunk.len();
        self.mirror(&state);
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

    #[test]
    fn pushed_events_share_one_tail_chunk_and_keep_their_order() {
        let queue = SseQueue::new(1 << 20);
        queue.push_with(|out| out.extend_from_slice(b"a"));
        queue.push(Bytes::from_static(b"b"));
        queue.push_with(|out| out.extend_from_slice(b"c"));
        assert_eq!(queue.buffered_amount(), 3);
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"abc")));
        // A lone shared chunk, then events: the chunk as it is, then the rest.
        let lone = Bytes::from(vec![b's'; 3]);
        queue.push(lone.clone());
        queue.push_with(|out| out.extend_from_slice(b"t"));
        match queue.take() {
            Take::Chunk(taken) => assert_eq!(taken.as_ptr(), lone.as_ptr()),
            other => panic!("{other:?}"),
        }
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"t")));
        assert_eq!(queue.buffered_amount(), 0);
        // A large shared chunk closes the tail first.
        queue.push_with(|out| out.extend_from_slice(b"d"));
        queue.push(chunk(2000));
        queue.push_with(|out| out.extend_from_slice(b"e"));
        let mut taken = Vec::new();
        while let Take::Chunk(chunk) = queue.take() {
            taken.extend_from_slice(&chunk);
        }
        assert_eq!(taken.len(), 2002);
        assert_eq!((taken[0], taken[1], taken[2001]), (b'd', b'a', b'e'));
        // Paused: held behind the tail, released by a flush.
        queue.push_with(|out| out.extend_from_slice(b"f"));
        queue.pause();
        queue.push_with(|out| out.extend_from_slice(b"g"));
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"f")));
        assert_eq!(queue.take(), Take::Empty);
        queue.flush();
        assert_eq!(queue.take(), Take::Chunk(Bytes::from_static(b"g")));
    }

    #[test]
    fn the_tail_is_bounded_by_the_budget_too() {
        let queue = SseQueue::new(100);
        assert_eq!(
            queue.push_with(|out| out.extend_from_slice(&[b'x'; 60])),
            Pushed::Queued
        );
        assert_eq!(
            queue.push_with(|out| out.extend_from_slice(&[b'y'; 60])),
            Pushed::Overflow
        );
        assert!(queue.is_closed());
        assert_eq!(queue.buffered_amount(), 0);
        assert_eq!(queue.take(), Take::Abort);
    }
}
