//! The subscribers of one topic on one worker, and delivery to them.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use std::sync::Arc;

use super::interest::{Count, Kind};
use super::publication::Publication;
use crate::sse::core::{Ended, StreamCore};
use crate::sse::queue::Pushed as StreamPushed;
use crate::ws::outbox::{INLINE_MAX, Outbox, Pushed};

/// Where a subscriber's messages go.
#[derive(Debug)]
pub(crate) enum Subscriber {
    /// A peer's send queue: gets the prepared frame.
    WebSocket(Arc<Outbox>),
    /// An event stream: gets the message as a `data:` event.
    EventStream(Arc<StreamCore>),
}

impl Subscriber {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Subscriber::WebSocket(_) => Kind::Peer,
            Subscriber::EventStream(_) => Kind::Stream,
        }
    }
}

/// One subscriber: its key (peer or stream) and where messages go.
#[derive(Debug)]
struct Member {
    key: u64,
    subscriber: Subscriber,
}

/// The subscribers of one topic. A `Vec` keeps iteration tight for fan-out;
/// `index` makes unsubscribing O(1) with `swap_remove` (delivery order across
/// subscribers carries no meaning, only order per connection does).
#[derive(Debug, Default)]
pub(crate) struct Members {
    list: Vec<Member>,
    index: HashMap<u64, usize>,
}

/// What a delivery did.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    /// Queues that accepted the message.
    pub(crate) queued: usize,
    /// Event streams the message overflowed. They are finished by the
    /// caller once it holds no topic lock, because finishing leaves topics.
    pub(crate) overflowed: Vec<Arc<StreamCore>>,
}

impl Delivered {
    /// Finishes the event streams the delivery overflowed; the caller must
    /// hold no topic lock.
    pub(crate) fn finish_overflowed(self) {
        for stream in self.overflowed {
            stream.finish(Ended::Overflow);
        }
    }

    /// Queues `event` on `stream` and counts it; false if the stream takes
    /// no more (closed, or overflowed: then set aside to be finished).
    fn push_event(&mut self, stream: &Arc<StreamCore>, event: &Bytes) -> bool {
        match stream.queue.push(event.clone()) {
            StreamPushed::Queued => {
                self.queued += 1;
                true
            }
            StreamPushed::Closed => false,
            StreamPushed::Overflow => {
                self.overflowed.push(Arc::clone(stream));
                false
            }
        }
    }
}

impl Members {
    /// Adds a subscriber; false if `key` is already one.
    pub(crate) fn insert(&mut self, key: u64, subscriber: Subscriber) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.index.insert(key, self.list.len());
        self.list.push(Member { key, subscriber });
        true
    }

    /// Removes a subscriber and says what kind it was; `None` if `key` is
    /// not one.
    pub(crate) fn remove(&mut self, key: u64) -> Option<Kind> {
        let position = self.index.remove(&key)?;
        let removed = self.list.swap_remove(position);
        if let Some(moved) = self.list.get(position) {
            self.index.insert(moved.key, position);
        }
        Some(removed.subscriber.kind())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every member but `spared` (the publisher the refused publishes
    /// skipped) missed publishes refused at this worker's door: each is
    /// treated as if its own queue had overflowed (a peer under
    /// `drop_message` counts one drop per note, however many publishes it
    /// stands for). Overflowed event streams are set aside in `delivered`.
    pub(crate) fn missed(&self, spared: Option<u64>, delivered: &mut Delivered) {
        for member in &self.list {
            if Some(member.key) == spared {
                continue;
            }
            match &member.subscriber {
                Subscriber::WebSocket(outbox) => outbox.missed_handover(),
                Subscriber::EventStream(stream) => delivered.overflowed.push(Arc::clone(stream)),
            }
        }
    }

    /// Queues `publication` for every member except `exclude`. Event streams
    /// get the text of a text frame as one `data:` event; binary frames have
    /// no event form and skip them.
    pub(crate) fn deliver(
        &self,
        publication: &Publication,
        skip: impl Fn(u64) -> bool,
        delivered: &mut Delivered,
    ) {
        for member in &self.list {
            if skip(member.key) {
                continue;
            }
            match &member.subscriber {
                Subscriber::WebSocket(outbox) => {
                    let queued = outbox.push(&publication.frame) == Pushed::Queued;
                    delivered.queued += usize::from(queued);
                }
                Subscriber::EventStream(stream) => {
                    if let Some(event) = publication.event() {
                        delivered.push_event(stream, event);
                    }
                }
            }
        }
    }

    /// Queues a run of publications, in order, for every member but the one
    /// each skips: a peer's queue is locked once for the whole run. `run`
    /// yields each publication with the key it skips.
    ///
    /// A run of at least [`JOIN_AT_LEAST`] bytes is joined into one buffer,
    /// once, the first time a peer takes all of it (one that none of it
    /// skips); every such peer then queues that buffer by reference instead
    /// of copying the frames. In a chat room the run of one sender's
    /// messages goes whole to everyone but the sender.
    pub(crate) fn deliver_run<'a>(
        &self,
        run: impl Iterator<Item = (&'a Publication, Option<u64>)> + Clone,
        delivered: &mut Delivered,
    ) {
        let mut joined = JoinedRun::new(run.clone());
        for member in &self.list {
            let wanted = run
                .clone()
                .filter(|(_, exclude)| *exclude != Some(member.key))
                .map(|(publication, _)| publication);
            match &member.subscriber {
                Subscriber::WebSocket(outbox) => {
                    // Built for the first queue that takes it, not before:
                    // under pressure none may have room.
                    let whole = joined.worth_it()
                        && run.clone().all(|(_, exclude)| exclude != Some(member.key))
                        && (joined.is_built() || outbox.takes_framed(joined.len));
                    let (frames, counted) = (joined.frames, joined.counted);
                    let shared = whole
                        .then(|| outbox.push_framed(joined.bytes(), frames, counted))
                        .flatten();
                    delivered.queued += match shared {
                        Some(queued) => queued,
                        None => outbox.push_run(wanted.map(|publication| &publication.frame)),
                    };
                }
                Subscriber::EventStream(stream) => {
                    for event in wanted.filter_map(Publication::event) {
                        if !delivered.push_event(stream, event) {
                            break;
                        }
                    }
                }
            }
        }
    }

    /// How many members a publish reaches, `count` being the topic's count
    /// on this worker: event streams only take text, and `exclude` is
    /// skipped.
    pub(crate) fn reach(&self, count: &Count, text: bool, exclude: Option<u64>) -> usize {
        let mut reach = if text { count.total() } else { count.peers };
        if let Some(&position) = exclude.and_then(|key| self.index.get(&key))
            && let Some(member) = self.list.get(position)
            && (text || matches!(member.subscriber, Subscriber::WebSocket(_)))
        {
            reach = reach.saturating_sub(1);
        }
        reach
    }
}

/// Runs shorter than this are copied into each queue: copying a few hundred
/// bytes costs less than sharing a buffer (two atomic count updates, a
/// chunk of its own and an extra slice in the write).
const JOIN_AT_LEAST: usize = 1024;

/// Runs longer than this are not joined: a buffer is built once and may
/// find no queue with room for it. A read loop yields after at most 256
/// messages or 16 full reads of 16 KiB (`ws/connection.rs`), so the runs
/// one poll makes are mostly below this; a longer one (hooks may publish
/// more than they read) goes to each queue frame by frame. Joined, a run is
/// one slice in each subscriber's write instead of one per copied piece and
/// two per shared frame (over [`INLINE_MAX`] bytes), and each queue takes
/// it with one push: measured on a fan-out of 1 KiB messages to 1 000
/// subscribers, when this was 64 KiB (the 64 frames of 1028 bytes a burst
/// then made per poll were just over it), 260 ns of server CPU per
/// delivered message; joined, 195 ns (4 KiB messages: 870 to 630 ns, with
/// [`JOIN_FRAMES_UP_TO`] raised with it).
pub(crate) const JOIN_AT_MOST: usize = 512 * 1024;

/// Frames larger than this keep a run from being joined: each is shared on
/// its own, and its two slices in the write cost little beside its size,
/// while joining costs a copy of it per worker.
const JOIN_FRAMES_UP_TO: usize = 16 * 1024;

/// A run's frames joined back to back, built on first use.
struct JoinedRun<'a, I> {
    run: I,
    /// Frames in the run.
    frames: usize,
    /// Their plain wire length.
    len: usize,
    /// No frame is larger than [`JOIN_FRAMES_UP_TO`].
    all_small: bool,
    /// Bytes of the frames a queue would have copied (at most
    /// [`INLINE_MAX`]): what the joined run counts against the server's
    /// budget, as those copies did; larger frames are shared, counted as
    /// nothing, as they always were.
    counted: usize,
    bytes: Option<Bytes>,
    _publications: std::marker::PhantomData<&'a Publication>,
}

impl<'a, I> JoinedRun<'a, I>
where
    I: Iterator<Item = (&'a Publication, Option<u64>)> + Clone,
{
    fn new(run: I) -> Self {
        let (mut frames, mut len, mut all_small, mut counted) = (0, 0, true, 0);
        for (publication, _) in run.clone() {
            let frame = publication.frame.wire_len();
            frames += 1;
            len += frame;
            all_small &= frame <= JOIN_FRAMES_UP_TO;
            if frame <= INLINE_MAX {
                counted += frame;
            }
        }
        Self {
            run,
            frames,
            len,
            all_small,
            counted,
            bytes: None,
            _publications: std::marker::PhantomData,
        }
    }

    /// Whether peers that take the whole run should share it.
    fn worth_it(&self) -> bool {
        self.frames > 1 && self.all_small && (JOIN_AT_LEAST..=JOIN_AT_MOST).contains(&self.len)
    }

    /// A queue took the joined run: it is built.
    fn is_built(&self) -> bool {
        self.bytes.is_some()
    }

    fn bytes(&mut self) -> &Bytes {
        let (run, len) = (&self.run, self.len);
        self.bytes.get_or_insert_with(|| {
            let mut joined = BytesMut::with_capacity(len);
            for (publication, _) in run.clone() {
                let wire = publication.frame.plain();
                joined.extend_from_slice(wire.header());
                joined.extend_from_slice(wire.payload());
            }
            joined.freeze()
        })
    }
}
