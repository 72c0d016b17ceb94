//! Local deliveries of a connection's publishes, held until its task's poll
//! ends.
//!
//! A reader that takes a hundred chat messages from one socket read runs
//! its `message` hook a hundred times in one poll, and each hook publishes.
//! Delivered at once, every publish locks every local subscriber's send
//! queue: a hundred locks per subscriber, where the lock (and the memory
//! fence it implies) was a third to a half of the server's time in the chat
//! and fan-out benchmarks. Held until the poll ends, consecutive publishes
//! to one topic reach each subscriber as one run: one lock and at most one
//! writer wake-up per subscriber per run, the run's frames joined once and
//! shared by every subscriber that takes all of them, and one hand-over per
//! run (not per publish) to each other worker with subscribers.
//!
//! Nothing else runs on the thread while the poll lasts, so no other task
//! on it can tell the difference; for a task on another thread a publish
//! made during the poll is, as a hand-over between workers always was, in
//! flight until the poll ends. The task itself could tell, so what it does
//! next delivers what it holds first when order would show: a send to a
//! peer a held publish may reach (one to the publisher, which its own
//! publishes skip, does not wait), a close, a subscribe or unsubscribe, a
//! publish to a history topic, waiting for a queue to drain, and the
//! verbs of an event stream. The holding is per thread and only for the
//! hub and worker that opened it; any other publish is delivered at once,
//! as it always was. A poll that publishes more than [`HOLD_AT_MOST`]
//! messages or [`HOLD_BYTES`] bytes delivers what it holds early, so the
//! list stays bounded whatever a hook does.
//!
//! Delivery can overflow an event stream, which then must be finished;
//! finishing leaves the stream's topics and takes its locks, which the code
//! that asked for the delivery (a subscribe, say) may hold. So streams
//! overflowed by a delivery made before the poll ends are finished when it
//! ends.

use std::cell::RefCell;
use std::sync::Arc;

use super::publication::Publication;
use crate::sse::core::StreamCore;

/// Publishes held by one poll, in order.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// Each publication with the subscriber it skips.
    pub(crate) publications: Vec<(Publication, Option<u64>)>,
    /// The topics of `publications`, one entry per run of consecutive
    /// publishes to the same topic (as the worker's index names it), with
    /// the run's length.
    pub(crate) runs: Vec<(Arc<str>, usize)>,
}

impl Held {
    const fn new() -> Self {
        Self {
            publications: Vec::new(),
            runs: Vec::new(),
        }
    }
}

/// What this thread holds.
struct Holding {
    /// `(hub id, worker)` of the poll being held, if one is.
    open: Option<(u64, usize)>,
    held: Held,
    /// Wire bytes of `held`.
    held_bytes: usize,
    /// While something is held: the subscriber every held publish skips, if
    /// they all skip the same one.
    all_skip: Option<u64>,
    /// Event streams a delivery overflowed, to be finished when the poll
    /// ends.
    overflowed: Vec<Arc<StreamCore>>,
}

thread_local! {
    static HOLDING: RefCell<Holding> = const {
        RefCell::new(Holding {
            open: None,
            held: Held::new(),
            held_bytes: 0,
            all_skip: None,
            overflowed: Vec::new(),
        })
    };
}

/// Publishes one poll may hold before they are delivered early.
pub(crate) const HOLD_AT_MOST: usize = 1024;

/// Wire bytes one poll may hold before they are delivered early.
pub(crate) const HOLD_BYTES: usize = 1 << 20;

/// Held vectors larger than this are not kept for the next poll.
const KEEP_CAPACITY: usize = 4096;

/// Runs `f` on this thread's holding; `None` while the thread is being torn
/// down or the holding is already borrowed further up the stack.
fn with_holding<R>(f: impl FnOnce(&mut Holding) -> R) -> Option<R> {
    HOLDING
        .try_with(|holding| {
            holding
                .try_borrow_mut()
                .ok()
                .map(|mut holding| f(&mut holding))
        })
        .ok()
        .flatten()
}

/// The worker this thread holds `hub`'s publishes for, if it does.
fn worker_for(holding: &Holding, hub: u64) -> Option<usize> {
    holding
        .open
        .filter(|(id, _)| *id == hub)
        .map(|(_, worker)| worker)
}

/// Starts holding `hub`'s publishes made on this thread as worker `worker`;
/// false if this thread already holds (the outer holder delivers).
pub(crate) fn open(hub: u64, worker: usize) -> bool {
    with_holding(|holding| {
        let opened = holding.open.is_none();
        if opened {
            holding.open = Some((hub, worker));
        }
        opened
    })
    .unwrap_or(false)
}

/// Stops holding for `hub` and takes what was held, with the worker it was
/// held on, and the streams to finish. Closed first, so that nothing made
/// while these are delivered is held again, even if delivering panics.
pub(crate) fn close(hub: u64) -> (Option<(usize, Held)>, Vec<Arc<StreamCore>>) {
    with_holding(|holding| {
        let Some(worker) = worker_for(holding, hub) else {
            return (None, Vec::new());
        };
        holding.open = None;
        let overflowed = std::mem::take(&mut holding.overflowed);
        (take_held(holding).map(|held| (worker, held)), overflowed)
    })
    .unwrap_or_default()
}

/// Sets aside streams a delivery overflowed while this thread holds; gives
/// them back when it does not (to be finished at once).
pub(crate) fn finish_later(streams: Vec<Arc<StreamCore>>) -> Vec<Arc<StreamCore>> {
    let mut streams = Some(streams);
    with_holding(|holding| {
        if holding.open.is_some() {
            holding
                .overflowed
                .extend(streams.take().unwrap_or_default());
        }
    });
    streams.unwrap_or_default()
}

fn take_held(holding: &mut Holding) -> Option<Held> {
    if holding.held.publications.is_empty() {
        return None;
    }
    holding.all_skip = None;
    holding.held_bytes = 0;
    Some(std::mem::take(&mut holding.held))
}

/// Holds a publish of `publication` to `topic` (skipping `exclude`) if this
/// thread holds for `hub` as `worker`; gives the publication back (to be
/// delivered now) otherwise.
pub(crate) fn hold(
    hub: u64,
    worker: usize,
    topic: &Arc<str>,
    publication: Publication,
    exclude: Option<u64>,
) -> Option<Publication> {
    let mut publication = Some(publication);
    with_holding(|holding| {
        if worker_for(holding, hub) != Some(worker) {
            return;
        }
        let Some(publication) = publication.take() else {
            return;
        };
        holding.all_skip = match holding.held.publications.is_empty() {
            true => exclude,
            false => holding.all_skip.filter(|skip| Some(*skip) == exclude),
        };
        holding.held_bytes += publication.frame.wire_len();
        holding.held.publications.push((publication, exclude));
        match holding.held.runs.last_mut() {
            Some((last, len)) if Arc::ptr_eq(last, topic) || **last == **topic => *len += 1,
            _ => holding.held.runs.push((Arc::clone(topic), 1)),
        }
    });
    publication
}

/// True if what this thread holds has reached [`HOLD_AT_MOST`] publishes
/// or [`HOLD_BYTES`] bytes, and should be delivered now.
pub(crate) fn is_full() -> bool {
    with_holding(|holding| {
        holding.held.publications.len() >= HOLD_AT_MOST || holding.held_bytes >= HOLD_BYTES
    })
    .unwrap_or(false)
}

/// True if this thread holds publishes of `hub` that a send to `key` must
/// not overtake (any, when `key` is `None`).
pub(crate) fn must_deliver_before(hub: u64, key: Option<u64>) -> bool {
    with_holding(|holding| {
        worker_for(holding, hub).is_some()
            && !holding.held.publications.is_empty()
            && (key.is_none() || holding.all_skip != key)
    })
    .unwrap_or(false)
}

/// Takes what this thread holds for `hub`, with the worker it was held on.
pub(crate) fn take(hub: u64) -> Option<(usize, Held)> {
    with_holding(|holding| {
        let worker = worker_for(holding, hub)?;
        take_held(holding).map(|held| (worker, held))
    })
    .flatten()
}

/// Gives back what a [`take`] returned, once delivered, so its vectors are
/// filled again by the next poll.
pub(crate) fn reuse(mut emptied: Held) {
    emptied.publications.clear();
    emptied.runs.clear();
    with_holding(|holding| {
        let held = &mut holding.held;
        if held.publications.capacity() == 0 && emptied.publications.capacity() <= KEEP_CAPACITY {
            held.publications = emptied.publications;
        }
        if held.runs.capacity() == 0 && emptied.runs.capacity() <= KEEP_CAPACITY {
            held.runs = emptied.runs;
        }
    });
}
