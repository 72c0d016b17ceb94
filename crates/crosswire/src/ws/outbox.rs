//! The bounded send queue of one peer, and the frames that go through it.
//!
//! Every producer (the peer's own hooks, any other peer's `publish`, server
//! publishes from HTTP handlers) pushes an [`OutFrame`] here; exactly one
//! writer per connection takes everything queued in one batch and writes it
//! with one vectored write. An `OutFrame` holds a frame header built once and a
//! shared [`Bytes`] payload, so a publish is serialized and framed once for all
//! its subscribers.
//!
//! How a frame is queued depends on its size. A small frame (at most
//! [`INLINE_MAX`] bytes on the wire, which is most chat traffic) is copied into
//! the tail of a contiguous buffer: copying 80 bytes costs less than the two
//! atomic reference-count updates a shared `Bytes` needs, and the kernel then
//! copies one large slice instead of thousands of tiny ones (measured: per-slice
//! overhead in `writev` was a third of the server's time with tiny frames). A
//! larger frame is queued by reference, so a big payload published to ten
//! thousand peers is never copied.
//!
//! A peer that negotiated permessage-deflate takes a data frame's compressed
//! form instead (see [`super::deflate`]): with `shared` compression the form
//! is built once per frame, by the first such push, and shared like the
//! plain one; with a per-peer context it is compressed under this queue's
//! lock, so the client inflates messages in the order they were queued.
//! Pushes to other peers take exactly the plain path they always took.
//!
//! The queue is bounded by bytes, not by count: `limit` is the most a slow
//! reader can make the server hold for it. What happens past it is the
//! [`OverflowPolicy`]. The buffers of copied frames also count against the
//! server's budget for all queues (see [`super::queue_budget`]). The lock is a
//! plain mutex held only to move frames in or out, never across an `.await`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use crosswire_proto::deflate::{Deflater, InflateParams};
use crosswire_proto::{CloseFrame, FrameHeader, OpCode};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::deflate::PeerDeflate;
pub(crate) use super::out_frame::{OutFrame, Wire};
use super::park::Parking;
use super::queue_budget::{QueueBudget, Standing};
use super::signal::Signal;
use crate::config::OverflowPolicy;
use crate::error::WebSocketError;
use crate::metrics::{Metrics, WorkerCounters};
use crate::pubsub::INBOX_BYTES;

/// What became of a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// It is queued for the writer.
    Queued,
    /// The connection is closing or closed; the frame was dropped.
    Closed,
    /// The budget was exceeded; the policy was applied (peer closed, or the
    /// frame dropped).
    Overflow,
}

/// What [`Outbox::admit`] did with one frame, under the lock.
enum Admitted {
    Queued,
    /// The queue is closing or closed.
    Closed,
    /// Over the limit under [`OverflowPolicy::DropMessage`].
    Dropped,
    /// Over a limit that closes the peer: with 1008, this cause and reason.
    CloseFor(WebSocketError, &'static str),
}

/// What the writer should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Batch {
    /// Frames were moved into the batch. Nothing is accepted after a close
    /// frame, so if the batch holds one it is the last (see
    /// [`Chunk::is_close`]).
    Frames,
    /// Drop the connection without writing anything more.
    Terminate,
}

/// How far a peer is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Behind {
    /// How long its writer has been waiting to finish the batch it took:
    /// long for a peer that stopped reading, short for one that reads.
    pub(crate) waiting: Duration,
    /// Bytes queued and being written.
    pub(crate) bytes: usize,
    /// What closing it takes off the server's budget.
    pub(crate) freeable: usize,
}

/// The close reason of a peer closed for the server's budget.
const BUDGET_REASON: &str = "server send budget exceeded";

/// Frames up to this many bytes on the wire are copied into a contiguous
/// buffer; larger ones are queued by reference.
pub(crate) const INLINE_MAX: usize = 1024;

/// Whether the plain frame of a `payload_len`-byte message is copied into
/// each queue (and counted there) rather than shared.
pub(crate) fn copies_frame_of(payload_len: usize) -> bool {
    FrameHeader::new(OpCode::Text, payload_len).as_bytes().len() + payload_len <= INLINE_MAX
}

/// Largest contiguous buffer of small frames; past it a new one starts, so a
/// burst never needs one huge reallocation.
const INLINE_CHUNK: usize = 64 * 1024;

/// A run of queued bytes.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Small frames, copied back to back.
    Inline(Vec<u8>),
    /// One large frame, shared with every other queue it was published to.
    Shared(Wire),
    /// Several frames as they go on the wire, shared with every other queue
    /// the same run of publishes went to, and the bytes of it that count
    /// against the server's budget (its small frames', which a queue would
    /// otherwise have copied).
    Framed(Bytes, usize),
}

impl Chunk {
    /// True for the close frame (queued by reference, as a shared frame).
    pub(crate) fn is_close(&self) -> bool {
        const CLOSE: u8 = 0x8;
        matches!(self, Chunk::Shared(frame) if frame.header().first().is_some_and(|b| b & 0x0f == CLOSE))
    }

    /// Bytes this chunk puts on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        match self {
            Chunk::Inline(bytes) => bytes.len(),
            Chunk::Shared(frame) => frame.wire_len(),
            Chunk::Framed(bytes, _) => bytes.len(),
        }
    }

    /// The bytes this chunk puts on the wire, as they lie in memory: one
    /// run, or a shared frame's header and payload.
    pub(crate) fn parts(&self) -> [&[u8]; 2] {
        match self {
            Chunk::Inline(bytes) => [bytes, &[]],
            Chunk::Framed(bytes, _) => [bytes, &[]],
            Chunk::Shared(frame) => [frame.header(), frame.payload()],
        }
    }

    /// Appends the bytes this chunk puts on the wire.
    #[cfg(test)]
    pub(crate) fn append_to(&self, out: &mut Vec<u8>) {
        for part in self.parts() {
            out.extend_from_slice(part);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The buffer small frames are being appended to. Kept here rather than
    /// at the back of `chunks` so that a push touches only this struct and
    /// the buffer's tail: with thousands of peers, each push is a cache miss
    /// per line it touches.
    tail: Vec<u8>,
    /// Completed runs of small frames and large shared frames, in order;
    /// `tail` comes after all of them.
    chunks: VecDeque<Chunk>,
    /// Bytes in `chunks` and `tail`.
    queued: usize,
    /// Bytes the writer took and has not finished writing.
    in_flight: usize,
    /// Capacity of the copy buffers in `chunks` and `tail`, as counted
    /// against the server's budget.
    queued_capacity: usize,
    /// The part of `queued_capacity` that is `tail`'s.
    tail_capacity: usize,
    /// Capacity of the copy buffers the writer took and has not given back.
    in_flight_capacity: usize,
    /// Data messages in `chunks` and `tail`, and in the writer's batch: a
    /// plain count under the lock already held, so the writer can count a
    /// whole batch's messages for the metrics at once.
    queued_messages: u32,
    in_flight_messages: u32,
    /// When the writer took the batch it is still writing (see [`Clock`]),
    /// zero when it holds none: how long this peer has kept the server
    /// waiting.
    in_flight_since: Clock,
    /// The queue went past its high-water mark (half the limit) and has not
    /// yet come back under its low-water mark (an eighth).
    backpressured: bool,
    /// It came back: the reader runs the `drain` hook.
    drain_due: bool,
    /// A close frame is queued or written: nothing more is accepted.
    closing: bool,
    /// The connection is to be dropped with no further writes.
    terminated: bool,
    /// The rest of the handshake's response at the front of the queue, or
    /// in the writer's batch, until written (see [`Outbox::preface`]). Not
    /// counted in `queued`: not a message, and not what `buffered_amount`
    /// means.
    preface: Preface,
    /// How the server closed, once it started a close with a code or for
    /// a failure: boxed, so an open connection keeps a pointer instead.
    server_close: Option<Box<ServerClose>>,
    /// The compression context of a peer that keeps one (`per_peer` with
    /// context takeover), created by its first compressed message. Behind
    /// the queue's lock so messages are compressed in the order they are
    /// queued, which is the order the client inflates them in.
    deflater: Option<Box<Deflater>>,
    /// Woken (all waiters) whenever everything queued has been written;
    /// made by the first [`Outbox::wait_for_drain`], which few peers ever
    /// call, so the others keep a pointer instead of a `Notify`.
    drained: Option<Arc<Notify>>,
}

/// A point in time as signed microseconds from the process's first use of
/// a clock here: eight bytes where an `Instant` takes sixteen, in every
/// connection's send queue. Signed, because tokio's clock is per runtime
/// when paused (in tests): a runtime whose paused clock stands before the
/// epoch another one set must still see time pass. `i64::MIN` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Clock(i64);

impl Default for Clock {
    fn default() -> Self {
        Self::NONE
    }
}

impl Clock {
    const NONE: Self = Self(i64::MIN);

    fn now() -> Self {
        static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let now = Instant::now();
        let epoch = *EPOCH.get_or_init(|| now);
        let micros = |span: Duration| i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        match now.checked_duration_since(epoch) {
            Some(after) => Self(micros(after)),
            None => Self(-micros(epoch.saturating_duration_since(now))),
        }
    }

    fn is_none(self) -> bool {
        self == Self::NONE
    }

    /// Time from this point to `now` (zero for none).
    fn until(self, now: Self) -> Duration {
        if self.is_none() {
            return Duration::ZERO;
        }
        Duration::from_micros(now.0.saturating_sub(self.0).max(0).unsigned_abs())
    }

    /// As milliseconds, for the keep-alive clocks kept in atomics.
    fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

/// Milliseconds from `earlier` to `later` (zero if `later` is earlier).
fn millis_between(earlier: i64, later: i64) -> u64 {
    later.saturating_sub(earlier).max(0).unsigned_abs()
}

/// How the server closed a connection.
#[derive(Debug, Default)]
struct ServerClose {
    /// Why the server started the close, if a failure caused it (reported
    /// once to the reader, which gives it to the `error` hook).
    cause: Option<WebSocketError>,
    /// The close frame the server queued, if it had a code.
    sent: Option<CloseFrame>,
}

impl State {
    /// Where the server's close is recorded, made on first use.
    fn server_close(&mut self) -> &mut ServerClose {
        self.server_close.get_or_insert_with(Box::default)
    }
}

/// How many bytes of the handshake's response are still to be written, and
/// whether the writer took them yet, in four bytes (the send queue's state
/// is kept by every idle connection).
#[derive(Debug, Default, Clone, Copy)]
struct Preface(u32);

impl Preface {
    const TAKEN: u32 = 1 << 31;

    fn queued(len: usize) -> Option<Self> {
        u32::try_from(len)
            .ok()
            .filter(|len| *len < Self::TAKEN)
            .map(Self)
    }

    /// Bytes still in the queue; zero once the writer took them.
    fn queued_len(self) -> usize {
        if self.0 & Self::TAKEN == 0 {
            self.0 as usize
        } else {
            0
        }
    }

    /// The writer took them with its batch.
    fn taken(self) -> Self {
        if self.0 == 0 {
            self
        } else {
            Self(self.0 | Self::TAKEN)
        }
    }

    /// Bytes in the writer's batch.
    fn in_flight_len(self) -> usize {
        if self.0 & Self::TAKEN == 0 {
            0
        } else {
            (self.0 & !Self::TAKEN) as usize
        }
    }
}

impl State {
    /// Nothing is queued (what the writer took does not count).
    fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }
}

/// The bounded send queue shared by all producers and the one writer.
#[derive(Debug)]
pub(crate) struct Outbox {
    state: Mutex<State>,
    limit: usize,
    policy: OverflowPolicy,
    /// Woken when the queue goes from empty to non-empty, or on terminate.
    /// One waiter: the writer. `notify` keeps a permit, so a push that
    /// lands between the writer's check and its wait is not lost.
    writer_wake: Signal,
    /// Woken when a close or a terminate starts (the reader then arms the
    /// closing-handshake timeout) and when the queue drained after
    /// backpressure (the reader runs the `drain` hook). One waiter: the
    /// reader.
    reader_wake: Signal,
    /// When the client last sent anything, as [`Clock`] milliseconds.
    /// Written by the reader, read by the keep-alive sweep.
    last_seen_ms: AtomicI64,
    /// When the sweep last pinged (at first: when the connection opened).
    last_ping_ms: AtomicI64,
    /// What permessage-deflate agreement the peer has, if any (boxed: most
    /// peers have none).
    deflate: Option<Box<PeerDeflate>>,
    /// The server's budget for all send queues, if this queue counts, and
    /// through it the server's counters, if on.
    budget: Option<Arc<QueueBudget>>,
    /// The worker whose part of the budget this queue counts against.
    budget_worker: u32,
    /// Whether the connection may park, is parked, and was busy lately
    /// (see [`super::park`]).
    parking: Parking,
}

impl Outbox {
    /// An empty queue holding at most `limit` bytes.
    pub(crate) fn new(limit: usize, policy: OverflowPolicy) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limit,
            policy,
            writer_wake: Signal::default(),
            reader_wake: Signal::default(),
            last_seen_ms: AtomicI64::new(Clock::now().as_millis()),
            last_ping_ms: AtomicI64::new(Clock::now().as_millis()),
            deflate: None,
            budget: None,
            budget_worker: 0,
            parking: Parking::default(),
        }
    }

    /// The same queue, counting its copy buffers against `worker`'s part of
    /// `budget` (the worker the peer lives on).
    /// The server's metrics come with the budget, so every queue that
    /// counts against it is counted, whoever built it.
    pub(crate) fn with_budget(mut self, budget: Arc<QueueBudget>, worker: usize) -> Self {
        budget.join(worker);
        self.budget = Some(budget);
        self.budget_worker = u32::try_from(worker).unwrap_or(u32::MAX);
        self
    }

    /// The worker whose part of the budget this queue counts against.
    pub(crate) fn budget_worker(&self) -> usize {
        self.budget_worker as usize
    }

    /// The metrics of the worker this queue's peer lives on, if on.
    #[inline]
    pub(crate) fn metrics(&self) -> Option<&WorkerCounters> {
        Some(self.server_metrics()?.worker(Some(self.budget_worker())))
    }

    /// The server's metrics, if on.
    pub(crate) fn server_metrics(&self) -> Option<&Metrics> {
        self.budget.as_ref()?.metrics().map(Arc::as_ref)
    }

    /// The same queue, for a peer that negotiated permessage-deflate.
    pub(crate) fn with_deflate(mut self, deflate: Option<PeerDeflate>) -> Self {
        self.deflate = deflate.map(Box::new);
        self
    }

    /// How the reader inflates this peer's messages, if it compresses.
    pub(crate) fn inflate_params(&self) -> Option<InflateParams> {
        self.deflate.as_deref().map(PeerDeflate::inflate_params)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock can only come from a bug in this
        // module's few lines; the state is still consistent, so keep going.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The byte budget.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Queues a frame, applying the overflow policy when the budget is exceeded.
    /// Takes a reference: a small frame is copied and a large one cloned by
    /// reference count, so a publish never clones what it then copies.
    ///
    /// A peer that negotiated compression gets the compressed form of a
    /// compressible frame at or above the threshold; every other push takes
    /// the plain form exactly as before compression existed.
    pub(crate) fn push(&self, frame: &OutFrame) -> Pushed {
        if let Some(deflate) = &self.deflate
            && frame.is_compressible()
            && deflate.wants(frame.payload().len())
        {
            return self.push_compressed(frame, deflate);
        }
        self.push_wire(frame.plain())
    }

    fn push_wire(&self, wire: &Wire) -> Pushed {
        let len = wire.wire_len();
        self.enqueue(len, |state| {
            Self::append(state, wire);
            len
        })
    }

    /// The compressed form: the frame's shared one, or one compressed with
    /// this peer's own context.
    fn push_compressed(&self, frame: &OutFrame, deflate: &PeerDeflate) -> Pushed {
        if deflate.shares_form() {
            let wire = match frame.deflated() {
                Some(wire) if deflate.fits_window(frame.payload().len()) => wire,
                _ => frame.plain(),
            };
            return self.push_wire(wire);
        }
        // The budget is checked against the plain size: the context must
        // not advance for a message that is then dropped.
        self.enqueue(frame.wire_len(), |state| {
            let context = state
                .deflater
                .get_or_insert_with(|| Box::new(deflate.context()));
            let payload = Bytes::from(context.compress(frame.payload()));
            let header = FrameHeader::new(frame.opcode(), payload.len()).rsv1(true);
            let wire = Wire::new(header, payload);
            Self::append(state, &wire);
            wire.wire_len()
        })
    }

    /// Queues what `add` appends (returning its wire length) if the budget
    /// allows `budget_len` more bytes, applying the overflow policy if not.
    fn enqueue(&self, budget_len: usize, add: impl FnOnce(&mut State) -> usize) -> Pushed {
        self.enqueue_locked(self.lock(), budget_len, add)
    }

    /// [`enqueue`](Self::enqueue), under a lock the caller took.
    fn enqueue_locked(
        &self,
        mut state: std::sync::MutexGuard<'_, State>,
        budget_len: usize,
        add: impl FnOnce(&mut State) -> usize,
    ) -> Pushed {
        let was_empty = state.is_empty();
        match self.admit(&mut state, budget_len, add) {
            Admitted::Queued => {
                drop(state);
                if was_empty {
                    self.writer_wake.notify();
                }
                Pushed::Queued
            }
            Admitted::Closed => Pushed::Closed,
            Admitted::Dropped => Pushed::Overflow,
            Admitted::CloseFor(cause, reason) => {
                self.close_for(state, cause, reason);
                Pushed::Overflow
            }
        }
    }

    /// Queues every frame of `frames` in order under one take of the lock,
    /// and returns how many were queued: a worker delivering a run of
    /// publishes to the same topic pays for each subscriber's lock and
    /// wake-up once per run rather than once per message. Each frame meets
    /// the budget and the overflow policy exactly as [`push`](Self::push)
    /// would; a queue that closes on the way takes no more.
    pub(crate) fn push_run<'a>(&self, frames: impl IntoIterator<Item = &'a OutFrame>) -> usize {
        if self.deflate.is_some() {
            return frames
                .into_iter()
                .filter(|frame| self.push(frame) == Pushed::Queued)
                .count();
        }
        let mut state = self.lock();
        let was_empty = state.is_empty();
        let mut queued = 0;
        for frame in frames {
            let wire = frame.plain();
            let len = wire.wire_len();
            let add = |state: &mut State| {
                Self::append(state, wire);
                len
            };
            match self.admit(&mut state, len, add) {
                Admitted::Queued => queued += 1,
                Admitted::Dropped => {}
                Admitted::Closed => break,
                Admitted::CloseFor(cause, reason) => {
                    self.close_for(state, cause, reason);
                    return queued;
                }
            }
        }
        drop(state);
        if was_empty && queued > 0 {
            self.writer_wake.notify();
        }
        queued
    }

    /// Whether [`push_framed`](Self::push_framed) would take a run of `len`
    /// bytes now rather than send it back to be queued frame by frame:
    /// asked before a joined run is built, so that a run no queue has room
    /// for is not copied.
    pub(crate) fn takes_framed(&self, len: usize) -> bool {
        self.deflate.is_none() && self.fits_framed(&self.lock(), len)
    }

    /// A run of `len` bytes fits: unlike a single frame, a run never goes
    /// past the limit into an empty queue (its frames may, one at a time).
    fn fits_framed(&self, state: &State, len: usize) -> bool {
        state.queued + state.in_flight + len <= self.limit
    }

    /// Queues `framed`, `messages` frames already encoded back to back, by
    /// reference: a run of publishes that many subscribers take whole is
    /// joined once and shared rather than copied into every queue. `counted`
    /// of its bytes count against the server's budget: those of the frames
    /// small enough that pushing them one by one would have copied them.
    /// Returns how many messages were queued, or `None` when they must go
    /// one by one instead: the peer compresses, or the whole run does not
    /// fit where some of its frames might.
    pub(crate) fn push_framed(
        &self,
        framed: &Bytes,
        messages: usize,
        counted: usize,
    ) -> Option<usize> {
        if self.deflate.is_some() {
            return None;
        }
        let len = framed.len();
        let state = self.lock();
        if !self.fits_framed(&state, len) {
            return None;
        }
        let add = |state: &mut State| {
            Self::seal_tail(state);
            Self::push_chunk(state, Chunk::Framed(framed.clone(), counted));
            state.queued_messages = state
                .queued_messages
                .saturating_add(u32::try_from(messages).unwrap_or(u32::MAX));
            // Counted against the server's budget as the copies it saves
            // would have been, so a burst cannot pass the budget for being
            // shared.
            state.queued_capacity += counted;
            len
        };
        match self.enqueue_locked(state, len, add) {
            Pushed::Queued => Some(messages),
            Pushed::Closed | Pushed::Overflow => Some(0),
        }
    }

    /// Adds what `add` appends if the budget allows `budget_len` more bytes;
    /// otherwise says what the overflow policy wants done.
    fn admit(
        &self,
        state: &mut State,
        budget_len: usize,
        add: impl FnOnce(&mut State) -> usize,
    ) -> Admitted {
        if state.closing || state.terminated {
            return Admitted::Closed;
        }
        // A frame larger than the whole budget still goes out when nothing
        // else is waiting (the handshake's response does not count);
        // otherwise large messages could never be sent at all.
        let held = state.queued + state.in_flight;
        if held > 0 && held + budget_len > self.limit {
            return self.overflowed(
                WebSocketError::SendQueueFull { limit: self.limit },
                "send queue full",
            );
        }
        let capacity_before = state.queued_capacity;
        let len = add(state);
        state.queued += len;
        if state.queued + state.in_flight > self.limit / 2 {
            state.backpressured = true;
        }
        let grown = state.queued_capacity - capacity_before;
        if grown > 0
            && let Some(budget) = &self.budget
            && budget.take(self.budget_worker(), grown) == Standing::Overrun
            && state.queued + state.in_flight > budget.fair_share(self.budget_worker())
        {
            // Far past the server's budget, before the pass that closes the
            // queues furthest behind got to run: this one holds more than its
            // share, so it goes now.
            tracing::warn!(target: "crosswire::ws", limit = budget.limit(), held = budget.held(), "[server] max_queued_bytes overrun: closing a peer past its share with 1008");
            self.condemn_in_flight(state);
            let cause = WebSocketError::ServerQueueBudget {
                limit: budget.limit(),
            };
            return Admitted::CloseFor(cause, BUDGET_REASON);
        }
        Admitted::Queued
    }

    /// How far behind the peer is, for the budget's ranking; `None` when it
    /// holds nothing or is already closing.
    pub(crate) fn behind(&self) -> Option<Behind> {
        let state = self.lock();
        let bytes = state.queued + state.in_flight;
        if state.closing || state.terminated || bytes == 0 {
            return None;
        }
        Some(Behind {
            waiting: state.in_flight_since.until(Clock::now()),
            bytes,
            freeable: state.queued_capacity + state.in_flight_capacity,
        })
    }

    /// Closes with 1008 because the server's budget for all queues (`limit`)
    /// is spent; false if it was already closing.
    pub(crate) fn close_for_budget(&self, limit: usize) -> bool {
        let mut state = self.lock();
        if state.closing || state.terminated {
            return false;
        }
        self.condemn_in_flight(&mut state);
        let cause = WebSocketError::ServerQueueBudget { limit };
        self.close_for(state, cause, BUDGET_REASON);
        true
    }

    /// Messages for this peer were refused at its worker's door, whose
    /// inbox was full (see `pubsub/inbox.rs`). Under
    /// `DropMessage` that is a dropped message, as a full queue's would be;
    /// otherwise the peer is closed with 1013, so that it is not left
    /// reading on past a gap.
    pub(crate) fn missed_handover(&self) {
        let state = self.lock();
        if state.closing || state.terminated {
            return;
        }
        if let Admitted::CloseFor(cause, reason) = self.overflowed(
            WebSocketError::WorkerBehind { limit: INBOX_BYTES },
            "server overloaded",
        ) {
            self.close_for(state, cause, reason);
        }
    }

    /// What the overflow policy wants done about a message this queue cannot
    /// take, for `cause`: under `DropMessage` the message is dropped (and
    /// counted); otherwise the peer is closed.
    fn overflowed(&self, cause: WebSocketError, reason: &'static str) -> Admitted {
        match self.policy {
            OverflowPolicy::DropMessage => {
                if let Some(metrics) = self.server_metrics() {
                    metrics.events.send_queue_drop();
                }
                Admitted::Dropped
            }
            OverflowPolicy::Close => Admitted::CloseFor(cause, reason),
        }
    }

    /// A queue closed for the budget stops counting what its writer holds:
    /// that batch cannot be taken back (part of it may be on the wire), and
    /// it is freed when the connection ends, at most `close_timeout` later.
    /// Counting it would make the next pass close peers that keep up.
    fn condemn_in_flight(&self, state: &mut State) {
        if let Some(budget) = &self.budget {
            budget.count_close();
            budget.release(self.budget_worker(), state.in_flight_capacity);
        }
        state.in_flight_capacity = 0;
    }

    /// Frees what the slow reader would never read, then closes for `cause`
    /// (with its close code: 1008 for a limit the peer crossed).
    fn close_for(
        &self,
        mut state: std::sync::MutexGuard<'_, State>,
        cause: WebSocketError,
        reason: &str,
    ) {
        self.clear(&mut state);
        let code = cause.close_code();
        state.server_close().cause = Some(cause);
        let close = CloseFrame {
            code,
            reason: reason.to_owned(),
        };
        Self::enqueue_close(&mut state, Some(close));
        drop(state);
        self.writer_wake.notify();
        self.reader_wake.notify();
    }

    /// Drops everything queued (not what the writer already took).
    fn clear(&self, state: &mut State) {
        // The handshake's response still goes out, and first.
        let preface = Self::copy_preface(state);
        state.chunks.clear();
        state.tail = Vec::new();
        state.queued = 0;
        state.queued_messages = 0;
        if let Some(budget) = &self.budget {
            budget.release(self.budget_worker(), state.queued_capacity);
        }
        state.queued_capacity = 0;
        state.tail_capacity = 0;
        if let Some(preface) = preface {
            self.put_preface(state, &preface);
        }
    }

    /// The preface still queued, copied out; `None` when there is none.
    fn copy_preface(state: &State) -> Option<Vec<u8>> {
        let len = Some(state.preface.queued_len()).filter(|&len| len > 0)?;
        // At the front: of the first chunk once the tail was sealed.
        let front = match state.chunks.front() {
            Some(Chunk::Inline(buffer)) => buffer.as_slice(),
            _ => state.tail.as_slice(),
        };
        front.get(..len).map(<[u8]>::to_vec)
    }

    /// Puts `bytes` at the front of the queue as its preface: into the tail
    /// buffer that the next frames are appended to when the queue is empty,
    /// else as a chunk of its own before the others.
    fn put_preface(&self, state: &mut State, bytes: &[u8]) {
        let Some(preface) = Preface::queued(bytes.len()) else {
            return;
        };
        let mut buffer = super::buffer_pool::take(bytes.len());
        buffer.extend_from_slice(bytes);
        let capacity = buffer.capacity();
        state.queued_capacity += capacity;
        if state.is_empty() {
            state.tail = buffer;
            state.tail_capacity = capacity;
        } else {
            Self::seal_tail(state);
            state.chunks.push_front(Chunk::Inline(buffer));
        }
        state.preface = preface;
        if let Some(budget) = &self.budget {
            // Counted like any copy buffer; a handshake's few hundred bytes
            // are not refused.
            let _ = budget.take(self.budget_worker(), capacity);
        }
    }

    /// Adds a frame at the end: copied into the tail buffer when small, by
    /// reference when large.
    fn append(state: &mut State, frame: &Wire) {
        let len = frame.wire_len();
        // Control opcodes have bit 3 set; pongs are not messages.
        if frame.header().first().is_some_and(|byte| byte & 0x08 == 0) {
            state.queued_messages = state.queued_messages.saturating_add(1);
        }
        if len > INLINE_MAX {
            // Control frames carry at most 125 bytes, so they are always
            // copied: a shared chunk is a data frame, or the close frame
            // (`enqueue_close`), which `Chunk::is_close` relies on.
            debug_assert!(frame.header().first().is_some_and(|byte| byte & 0x08 == 0));
            Self::seal_tail(state);
            Self::push_chunk(state, Chunk::Shared(frame.clone()));
            return;
        }
        if state.tail.len() + len > INLINE_CHUNK {
            Self::seal_tail(state);
        }
        if state.tail.capacity() == 0 {
            state.tail = super::buffer_pool::take(len);
        }
        state.tail.extend_from_slice(frame.header());
        state.tail.extend_from_slice(frame.payload());
        let capacity = state.tail.capacity();
        if capacity > state.tail_capacity {
            state.queued_capacity += capacity - state.tail_capacity;
            state.tail_capacity = capacity;
        }
    }

    /// Adds a chunk after the others. A queue that has never held more than
    /// one chunk at a time gets room for exactly one: most batches are one
    /// run of small frames, and one such queue (swapped with the writer's)
    /// stays allocated while the connection is idle, so the default room for
    /// four would cost every idle connection 144 bytes more.
    fn push_chunk(state: &mut State, chunk: Chunk) {
        if state.chunks.capacity() == 0 {
            state.chunks.reserve_exact(1);
        }
        state.chunks.push_back(chunk);
    }

    /// Moves a non-empty tail buffer into `chunks` (its capacity stays
    /// counted in `queued_capacity`).
    fn seal_tail(state: &mut State) {
        if !state.tail.is_empty() {
            let tail = std::mem::take(&mut state.tail);
            Self::push_chunk(state, Chunk::Inline(tail));
            state.tail_capacity = 0;
        }
    }

    /// Queues the close frame by reference, after everything queued: it
    /// needs no copy buffer, so closing a peer never takes memory from the
    /// budget it is being closed for.
    fn enqueue_close(state: &mut State, close: Option<CloseFrame>) {
        let frame = OutFrame::close(close.as_ref());
        if close.is_some() {
            state.server_close().sent = close;
        }
        state.closing = true;
        state.queued += frame.wire_len();
        Self::seal_tail(state);
        Self::push_chunk(state, Chunk::Shared(frame.plain().clone()));
    }

    /// Queues a close frame after what is already queued. Returns false if the
    /// connection was already closing.
    pub(crate) fn close(&self, close: Option<&CloseFrame>) -> bool {
        let mut state = self.lock();
        if state.closing || state.terminated {
            return false;
        }
        Self::enqueue_close(&mut state, close.cloned());
        drop(state);
        self.writer_wake.notify();
        self.reader_wake.notify();
        true
    }

    /// Queues bytes that must reach the socket before any frame: the rest
    /// of the handshake's response, which the upgrade held back so that it
    /// leaves with the `open` hook's first frames, in the same buffer (see
    /// `server/corking.rs`). Called before the connection runs, so before
    /// the writer took anything. The bytes are neither a message nor part of
    /// `buffered_amount`, and a terminate or an overflow does not drop them.
    pub(crate) fn preface(&self, bytes: &[u8]) {
        let mut state = self.lock();
        self.put_preface(&mut state, bytes);
        drop(state);
        self.writer_wake.notify();
    }

    /// Drops everything queued and tells the writer to stop without a close frame.
    pub(crate) fn terminate(&self) {
        let mut state = self.lock();
        state.terminated = true;
        self.clear(&mut state);
        if let Some(drained) = &state.drained {
            drained.notify_waiters();
        }
        drop(state);
        self.writer_wake.notify();
        self.reader_wake.notify();
    }

    /// True once a close frame was queued or the connection terminated.
    pub(crate) fn is_closing(&self) -> bool {
        let state = self.lock();
        state.closing || state.terminated
    }

    /// True once `terminate` was called (or the writer failed).
    pub(crate) fn is_terminated(&self) -> bool {
        self.lock().terminated
    }

    /// The close frame the server queued, if it started a close.
    pub(crate) fn sent_close(&self) -> Option<CloseFrame> {
        let state = self.lock();
        state
            .server_close
            .as_ref()
            .and_then(|close| close.sent.clone())
    }

    /// The failure that made the server close, taken once.
    pub(crate) fn take_cause(&self) -> Option<WebSocketError> {
        let mut state = self.lock();
        state
            .server_close
            .as_mut()
            .and_then(|close| close.cause.take())
    }

    /// Closes because of `cause` (unless already closing), with `close`.
    pub(crate) fn fail(&self, close: CloseFrame, cause: WebSocketError) -> bool {
        let mut state = self.lock();
        if state.closing || state.terminated {
            return false;
        }
        state.server_close().cause = Some(cause);
        Self::enqueue_close(&mut state, Some(close));
        drop(state);
        self.writer_wake.notify();
        self.reader_wake.notify();
        true
    }

    /// Records that the client sent something (data, ping or pong).
    pub(crate) fn touch(&self) {
        self.last_seen_ms
            .store(Clock::now().as_millis(), Ordering::Relaxed);
    }

    /// How long the client has been silent.
    pub(crate) fn silent_for(&self) -> Duration {
        let seen = self.last_seen_ms.load(Ordering::Relaxed);
        Duration::from_millis(millis_between(seen, Clock::now().as_millis()))
    }

    /// How long since the last keep-alive ping, and records one now if at
    /// least `interval` has passed.
    pub(crate) fn ping_due(&self, interval: Duration) -> bool {
        let now = Clock::now().as_millis();
        let last = self.last_ping_ms.load(Ordering::Relaxed);
        if u128::from(millis_between(last, now)) >= interval.as_millis() {
            self.last_ping_ms.store(now, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Bytes queued or being written.
    pub(crate) fn buffered_amount(&self) -> usize {
        let state = self.lock();
        state.queued + state.in_flight
    }

    /// The connection's parking state.
    pub(crate) fn parking(&self) -> &Parking {
        &self.parking
    }

    /// Whether the queue lets the connection park now: nothing queued or
    /// being written, and no close started. When only the writer's work is
    /// in the way, the reader is woken once it is written, to look again.
    pub(crate) fn quiet_for_parking(&self) -> bool {
        let mut state = self.lock();
        if state.closing || state.terminated {
            return false;
        }
        let quiet = state.is_empty() && state.in_flight_since.is_none();
        // Under the lock, so `written` sees it with the queue it empties.
        self.parking.want_wake_when_written(!quiet);
        if quiet {
            // The room the writer's next batch would have reused.
            state.chunks = VecDeque::new();
        }
        quiet
    }

    /// Wakes the reader, so it looks at its connection again (the
    /// keep-alive sweep, for a connection that went quiet).
    pub(crate) fn nudge_reader(&self) {
        self.reader_wake.notify();
    }

    /// Registers `cx`'s waker as the writer's, ready at once if a frame or
    /// a close came since the writer last waited (what a parked connection
    /// waits on in place of its writer).
    pub(crate) fn poll_writer_wanted(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.writer_wake.poll_wait(cx)
    }

    /// Drops the reader's waker, once the connection has ended.
    pub(crate) fn forget_reader_waker(&self) {
        self.reader_wake.forget();
    }

    /// Ready when the reader is wanted: a close or terminate started, or the
    /// queue drained after backpressure.
    pub(crate) fn poll_reader_wanted(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.reader_wake.poll_wait(cx)
    }

    /// True once per return under the low-water mark after backpressure,
    /// unless a close has started (then there is nothing more to send).
    pub(crate) fn take_drain_due(&self) -> bool {
        let mut state = self.lock();
        std::mem::take(&mut state.drain_due) && !state.closing && !state.terminated
    }

    /// Waits until nothing is queued or being written.
    pub(crate) async fn wait_for_drain(&self) {
        let drained = {
            let mut state = self.lock();
            if state.queued + state.in_flight == 0 || state.terminated {
                return;
            }
            Arc::clone(state.drained.get_or_insert_with(Arc::default))
        };
        loop {
            let notified = drained.notified();
            tokio::pin!(notified);
            // Register before checking, so a drain in between is not missed.
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.queued + state.in_flight == 0 || state.terminated {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Moves every queued chunk into `batch` (which must be empty), waiting
    /// until there is one. The two queues are swapped, so this is O(1).
    /// (A plain future over its arguments: it is what an idle connection's
    /// writer waits in.)
    pub(crate) fn next_batch<'a>(
        &'a self,
        batch: &'a mut VecDeque<Chunk>,
    ) -> impl Future<Output = Batch> + Send + 'a {
        std::future::poll_fn(move |cx| self.poll_next_batch(cx, batch))
    }

    /// [`Self::next_batch`], polled.
    fn poll_next_batch(&self, cx: &mut Context<'_>, batch: &mut VecDeque<Chunk>) -> Poll<Batch> {
        loop {
            let idle_room = {
                let mut state = self.lock();
                // A terminated connection still writes the handshake's
                // response, so the client sees it open, then end.
                if state.terminated && state.preface.queued_len() == 0 {
                    return Poll::Ready(Batch::Terminate);
                }
                Self::seal_tail(&mut state);
                if !state.chunks.is_empty() {
                    state.preface = state.preface.taken();
                    std::mem::swap(batch, &mut state.chunks);
                    state.in_flight += state.queued;
                    state.queued = 0;
                    state.in_flight_messages = state
                        .in_flight_messages
                        .saturating_add(std::mem::take(&mut state.queued_messages));
                    // Sealed buffers go with the batch; an empty tail stays.
                    let taken = state.queued_capacity - state.tail_capacity;
                    state.in_flight_capacity += taken;
                    state.queued_capacity = state.tail_capacity;
                    if state.in_flight_since.is_none() {
                        state.in_flight_since = Clock::now();
                    }
                    return Poll::Ready(Batch::Frames);
                }
                // Nothing to write: the writer waits. Of the two chunk
                // queues it swaps with this one, only one keeps its room
                // while it does (after a few batches each had some: 128
                // bytes per idle connection), here, where the next push
                // needs it: a connection that answers one message at a
                // time then allocates nothing per batch.
                debug_assert!(batch.is_empty() && state.chunks.is_empty());
                if state.chunks.capacity() == 0 {
                    std::mem::swap(&mut state.chunks, batch);
                }
                std::mem::take(batch)
            };
            drop(idle_room);
            std::task::ready!(self.writer_wake.poll_wait(cx));
        }
    }

    /// Records that the writer finished writing `bytes` of its batch and
    /// gave back copy buffers of `capacity` bytes; returns how many data
    /// messages the batch held, and how many of its bytes were frames (not
    /// the handshake's response).
    pub(crate) fn written(&self, bytes: usize, capacity: usize) -> (usize, usize) {
        let mut state = self.lock();
        let messages = std::mem::take(&mut state.in_flight_messages) as usize;
        let preface = state.preface.in_flight_len();
        if preface > 0 {
            state.preface = Preface::default();
        }
        let bytes = bytes.saturating_sub(preface);
        state.in_flight = state.in_flight.saturating_sub(bytes);
        let capacity = capacity.min(state.in_flight_capacity);
        state.in_flight_capacity -= capacity;
        state.in_flight_since = Clock::NONE;
        if let Some(budget) = &self.budget {
            budget.release(self.budget_worker(), capacity);
        }
        let drain_due = state.backpressured && state.in_flight + state.queued <= self.limit / 8;
        if drain_due {
            state.backpressured = false;
            state.drain_due = true;
        }
        let park_due = state.is_empty() && self.parking.take_wake_when_written();
        if state.in_flight + state.queued == 0
            && let Some(drained) = &state.drained
        {
            drained.notify_waiters();
        }
        drop(state);
        if drain_due || park_due {
            self.reader_wake.notify();
        }
        // What the `open` hook sent goes out with the handshake's response
        // and does not make the connection busy.
        if messages > 0 && preface == 0 {
            self.parking.mark_active();
        }
        (messages, bytes)
    }

    /// The writer could not write: accept nothing more and wake the reader.
    pub(crate) fn writer_failed(&self) {
        self.terminate();
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let worker = self.budget_worker();
        if let Some(budget) = &self.budget {
            let state = self
                .state
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            budget.leave(worker, state.queued_capacity + state.in_flight_capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use crosswire_proto::OpCode;
    use futures_util::FutureExt;

    use super::*;

    fn text(len: usize) -> OutFrame {
        OutFrame::new(OpCode::Text, Bytes::from(vec![b'a'; len]))
    }

    #[test]
    fn the_clock_measures_across_its_epoch_and_none_is_no_time() {
        assert_eq!(Clock(-5_000).until(Clock(1_000)), Duration::from_millis(6));
        assert_eq!(Clock(2_000).until(Clock(1_000)), Duration::ZERO);
        assert_eq!(Clock::NONE.until(Clock::now()), Duration::ZERO);
        assert_eq!(Clock(-1).as_millis(), -1);
        assert_eq!(millis_between(-3, 4), 7);
        assert_eq!(millis_between(4, -3), 0);
        let (earlier, later) = (Clock::now(), Clock::now());
        assert!(later.0 >= earlier.0 && !earlier.is_none());
    }

    #[test]
    fn a_missed_handover_closes_with_1013_or_counts_as_a_drop() {
        let closing = Outbox::new(1000, OverflowPolicy::Close);
        assert_eq!(closing.push(&text(100)), Pushed::Queued);
        closing.missed_handover();
        assert!(closing.is_closing());
        assert_eq!(
            closing.take_cause(),
            Some(WebSocketError::WorkerBehind { limit: 64 << 20 })
        );
        // What was queued is dropped; only the close frame is left.
        assert!(closing.buffered_amount() < 100);
        let dropping = Outbox::new(1000, OverflowPolicy::DropMessage);
        dropping.missed_handover();
        assert!(!dropping.is_closing());
        assert_eq!(dropping.push(&text(100)), Pushed::Queued);
    }

    #[test]
    fn overflow_with_close_policy_frees_the_queue_and_queues_1008() {
        let outbox = Outbox::new(1000, OverflowPolicy::Close);
        assert_eq!(outbox.push(&text(600)), Pushed::Queued);
        assert_eq!(outbox.push(&text(600)), Pushed::Overflow);
        assert!(outbox.is_closing());
        assert!(matches!(
            outbox.take_cause(),
            Some(WebSocketError::SendQueueFull { limit: 1000 })
        ));
        // Only the close frame is left.
        assert!(outbox.buffered_amount() < 200);
        assert_eq!(outbox.push(&text(1)), Pushed::Closed);
    }

    /// The writer's next batch, as the bytes it would write.
    fn batch_bytes(outbox: &Outbox) -> Option<Vec<u8>> {
        let mut batch = VecDeque::new();
        let next = outbox.next_batch(&mut batch).now_or_never()?;
        if matches!(next, Batch::Terminate) {
            return None;
        }
        let mut bytes = Vec::new();
        for chunk in &batch {
            chunk.append_to(&mut bytes);
        }
        outbox.written(bytes.len(), 0);
        Some(bytes)
    }

    #[test]
    fn the_preface_goes_first_in_the_same_buffer_as_the_first_frames() {
        let outbox = Outbox::new(1000, OverflowPolicy::Close);
        outbox.preface(b"HTTP/1.1 101 \r\n\r\n");
        assert_eq!(outbox.push(&text(3)), Pushed::Queued);
        assert_eq!(outbox.lock().chunks.len(), 0, "one tail buffer, no chunk");
        assert_eq!(outbox.buffered_amount(), 5, "the frame, not the response");
        assert_eq!(
            batch_bytes(&outbox).unwrap(),
            b"HTTP/1.1 101 \r\n\r\n\x81\x03aaa".to_vec()
        );
        assert_eq!(outbox.buffered_amount(), 0);
    }

    #[test]
    fn a_terminate_or_an_overflow_keeps_the_preface() {
        let head = b"HTTP/1.1 101 \r\n\r\n";
        let outbox = Outbox::new(1000, OverflowPolicy::Close);
        outbox.preface(head);
        outbox.push(&text(100));
        outbox.terminate();
        assert_eq!(batch_bytes(&outbox).unwrap(), head.to_vec());
        assert_eq!(batch_bytes(&outbox), None, "then the writer stops");

        // Overflowed after a large frame sealed the preface into a chunk:
        // the preface, then the close frame.
        let outbox = Outbox::new(1000, OverflowPolicy::Close);
        outbox.preface(head);
        assert_eq!(outbox.push(&text(INLINE_MAX + 1)), Pushed::Queued);
        assert_eq!(outbox.push(&text(600)), Pushed::Overflow);
        let bytes = batch_bytes(&outbox).unwrap();
        assert!(bytes.starts_with(head));
        assert_eq!(bytes[head.len()], 0x88, "a close frame follows");
    }

    #[test]
    fn a_frame_larger_than_the_limit_still_goes_out_after_the_preface() {
        let outbox = Outbox::new(100, OverflowPolicy::Close);
        outbox.preface(b"HTTP/1.1 101 \r\n\r\n");
        assert_eq!(outbox.push(&text(5000)), Pushed::Queued);
        assert!(!outbox.is_closing());
    }

    #[test]
    fn overflow_with_drop_policy_keeps_the_peer() {
        let outbox = Outbox::new(1000, OverflowPolicy::DropMessage);
        assert_eq!(outbox.push(&text(600)), Pushed::Queued);
        assert_eq!(outbox.push(&text(600)), Pushed::Overflow);
        assert!(!outbox.is_closing());
        assert_eq!(outbox.push(&text(100)), Pushed::Queued);
    }

    #[test]
    fn large_frames_are_queued_by_reference_between_inline_runs() {
        let outbox = Outbox::new(1 << 20, OverflowPolicy::Close);
        let big = text(INLINE_MAX + 1);
        outbox.push(&text(10));
        outbox.push(&big);
        outbox.push(&text(10));
        outbox.push(&text(10));
        let state = outbox.lock();
        let kinds: Vec<_> = state
            .chunks
            .iter()
            .map(|c| match c {
                Chunk::Inline(bytes) => bytes.len(),
                Chunk::Shared(frame) => {
                    assert_eq!(frame.payload().as_ptr(), big.payload().as_ptr());
                    0
                }
                Chunk::Framed(..) => unreachable!("nothing framed was pushed"),
            })
            .collect();
        assert_eq!(kinds, [12, 0]);
        assert_eq!(state.tail.len(), 24);
    }

    #[test]
    fn a_shared_run_never_passes_the_limit_and_counts_as_copied() {
        let budget = Arc::new(QueueBudget::new(0, 1));
        let outbox = Outbox::new(1000, OverflowPolicy::Close).with_budget(Arc::clone(&budget), 0);
        let run = Bytes::from(vec![0x81; 600]);
        assert!(outbox.takes_framed(600));
        assert_eq!(outbox.push_framed(&run, 3, 600), Some(3));
        assert_eq!(outbox.buffered_amount(), 600);
        assert!(!outbox.takes_framed(600), "asked first, it says the same");
        assert!(
            budget.held() >= 600,
            "shared bytes count against the budget"
        );
        assert_eq!(
            outbox.push_framed(&run, 3, 600),
            None,
            "past the limit: frame by frame instead"
        );
        // Frames a queue would not have copied count as nothing, as before.
        let large = Outbox::new(1 << 20, OverflowPolicy::Close).with_budget(Arc::clone(&budget), 0);
        let held = budget.held();
        assert_eq!(
            large.push_framed(&Bytes::from(vec![0x81; 3000]), 2, 0),
            Some(2)
        );
        assert_eq!(budget.held(), held);
        let empty = Outbox::new(1000, OverflowPolicy::Close);
        let long = Bytes::from(vec![0x81; 1500]);
        assert!(!empty.takes_framed(long.len()));
        assert_eq!(
            empty.push_framed(&long, 5, 1500),
            None,
            "not even into an empty queue"
        );
        assert_eq!(empty.buffered_amount(), 0);
    }

    #[test]
    fn a_frame_larger_than_the_budget_goes_out_when_the_queue_is_empty() {
        let outbox = Outbox::new(100, OverflowPolicy::Close);
        assert_eq!(outbox.push(&text(5000)), Pushed::Queued);
    }

    #[tokio::test]
    async fn copy_buffers_count_against_the_budget_until_written_or_dropped() {
        let budget = Arc::new(QueueBudget::new(0, 1));
        let outbox =
            Outbox::new(1 << 20, OverflowPolicy::Close).with_budget(Arc::clone(&budget), 0);
        for _ in 0..100 {
            outbox.push(&text(50));
        }
        let held = budget.held();
        assert!(held >= 100 * 52, "{held}");
        let mut batch = VecDeque::new();
        outbox.next_batch(&mut batch).await;
        assert_eq!(budget.held(), held, "in flight still counts");
        outbox.push(&text(50));
        let with_new_tail = budget.held();
        assert!(with_new_tail > held);
        let capacity = batch
            .iter()
            .map(|chunk| match chunk {
                Chunk::Inline(buffer) => buffer.capacity(),
                Chunk::Shared(_) => 0,
                Chunk::Framed(_, counted) => *counted,
            })
            .sum();
        outbox.written(100 * 52, capacity);
        assert_eq!(budget.held(), with_new_tail - held);
        drop(outbox);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.fair_share(0), 0);
    }

    #[test]
    fn a_spent_budget_closes_the_queue_past_its_share_and_spares_the_short_one() {
        // Two queues: a share is 32 KiB of the 64 KiB budget.
        let budget = Arc::new(QueueBudget::new(64 << 10, 1));
        let behind =
            Outbox::new(1 << 20, OverflowPolicy::Close).with_budget(Arc::clone(&budget), 0);
        let keeping_up =
            Outbox::new(1 << 20, OverflowPolicy::Close).with_budget(Arc::clone(&budget), 0);
        keeping_up.push(&text(100));
        let mut pushed = 0;
        while behind.push(&text(500)) == Pushed::Queued {
            pushed += 1;
            assert!(pushed < 1000, "the budget never closed the queue");
        }
        assert!(
            (pushed + 1) * 502 > 32 << 10,
            "closed before its share: {pushed}"
        );
        assert!(behind.is_closing());
        assert!(matches!(
            behind.take_cause(),
            Some(WebSocketError::ServerQueueBudget { limit }) if limit == 64 << 10
        ));
        assert_eq!(behind.sent_close().map(|c| c.code), Some(1008));
        assert!(!keeping_up.is_closing());
        assert_eq!(keeping_up.push(&text(100)), Pushed::Queued);
        assert_eq!(budget.closed(), 1);
        // The closed queue freed its buffers (only the close frame's is left).
        assert!(budget.held() < 16 << 10, "{}", budget.held());
    }

    #[tokio::test]
    async fn a_batch_of_one_run_keeps_room_for_one_chunk_only() {
        let outbox = Outbox::new(1 << 20, OverflowPolicy::Close);
        outbox.push(&text(3));
        outbox.push(&text(4));
        let mut batch = VecDeque::new();
        outbox.next_batch(&mut batch).await;
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.capacity(), 1, "what a busy connection keeps");
        // A batch of several chunks grows as a `VecDeque` does.
        batch.clear();
        outbox.push(&text(5));
        outbox.push(&text(2000));
        outbox.push(&text(6));
        outbox.next_batch(&mut batch).await;
        assert_eq!(batch.len(), 3);
    }

    #[test]
    fn a_writer_that_waits_keeps_room_for_one_chunk_in_one_queue() {
        let outbox = Outbox::new(1 << 20, OverflowPolicy::Close);
        let mut batch = VecDeque::new();
        // A push while the writer still holds a batch: both queues get room.
        outbox.push(&text(3));
        assert_eq!(
            outbox.next_batch(&mut batch).now_or_never(),
            Some(Batch::Frames)
        );
        outbox.push(&text(3));
        batch.clear();
        assert_eq!(
            outbox.next_batch(&mut batch).now_or_never(),
            Some(Batch::Frames)
        );
        batch.clear();
        assert!(batch.capacity() > 0 && outbox.lock().chunks.capacity() > 0);
        // Nothing more to write: the writer waits, one queue keeps room.
        assert_eq!(outbox.next_batch(&mut batch).now_or_never(), None);
        assert_eq!(batch.capacity(), 0);
        assert_eq!(outbox.lock().chunks.capacity(), 1);
        // One message at a time: the room goes back and forth, and is
        // never made again.
        for _ in 0..3 {
            outbox.push(&text(3));
            assert_eq!(
                outbox.next_batch(&mut batch).now_or_never(),
                Some(Batch::Frames)
            );
            assert_eq!((batch.len(), batch.capacity()), (1, 1));
            assert_eq!(outbox.lock().chunks.capacity(), 0);
            batch.clear();
            assert_eq!(outbox.next_batch(&mut batch).now_or_never(), None);
            assert_eq!(outbox.lock().chunks.capacity(), 1);
        }
    }

    #[tokio::test]
    async fn batches_take_everything_and_flag_the_close() {
        let outbox = Outbox::new(1 << 20, OverflowPolicy::Close);
        outbox.push(&text(3));
        outbox.push(&text(4));
        assert!(outbox.close(None));
        let mut batch = VecDeque::new();
        assert_eq!(outbox.next_batch(&mut batch).await, Batch::Frames);
        assert!(batch.back().is_some_and(Chunk::is_close));
        assert!(!batch.front().is_some_and(Chunk::is_close));
        // Two small frames copied into one contiguous buffer, then the
        // close frame by reference.
        assert_eq!(batch.len(), 2);
        assert!(matches!(batch.back(), Some(Chunk::Shared(_))));
        let total: usize = batch.iter().map(Chunk::wire_len).sum();
        assert_eq!(total, 2 + 3 + 2 + 4 + 2);
        assert_eq!(outbox.buffered_amount(), total);
        outbox.written(total, 0);
        assert_eq!(outbox.buffered_amount(), 0);
        outbox.wait_for_drain().await;
    }
}

// Compression pushes, in a file of their own.
#[cfg(test)]
#[path = "outbox_compression_tests.rs"]
mod compression_tests;
