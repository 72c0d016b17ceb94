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
//! can tell the difference. The task itself could, so what it does next
//! delivers what it holds first when order would show: a send to a peer a
//! held publish may reach (one to the publisher itself, which every held
//! publish skips, does not wait), a subscribe or unsubscribe, a close, a
//! publish to a history topic and a push to an event stream. The holding
//! is per thread and only for the hub and worker that opened it; any other
//! publish is delivered at once, as it always was.

use std::cell::RefCell;
use std::sync::Arc;

use super::publication::Publication;

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
    /// While something is held: the subscriber every held publish skips, if
    /// they all skip the same one.
    all_skip: Option<u64>,
}

thread_local! {
    static HOLDING: RefCell<Holding> = const {
        RefCell::new(Holding {
            open: None,
            held: Held::new(),
            all_skip: None,
        })
    };
}

/// Held vectors larger than this are not kept for the next poll.
const KEEP_CAPACITY: usize = 4096;

/// Starts holding `hub`'s publishes made on this thread as worker `worker`;
/// false if this thread already holds (the outer holder delivers).
pub(crate) fn open(hub: u64, worker: usize) -> bool {
    HOLDING.with(|holding| {
        let mut holding = holding.borrow_mut();
        if holding.open.is_some() {
            return false;
        }
        holding.open = Some((hub, worker));
        true
    })
}

/// Stops holding; what is held must have been taken.
pub(crate) fn close() {
    HOLDING.with(|holding| holding.borrow_mut().open = None);
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
    HOLDING.with(|holding| {
        let Ok(mut holding) = holding.try_borrow_mut() else {
            return Some(publication);
        };
        if holding.open != Some((hub, worker)) {
            return Some(publication);
        }
        let holding = &mut *holding;
        holding.all_skip = match holding.held.publications.is_empty() {
            true => exclude,
            false => holding.all_skip.filter(|skip| Some(*skip) == exclude),
        };
        holding.held.publications.push((publication, exclude));
        match holding.held.runs.last_mut() {
            Some((last, len)) if Arc::ptr_eq(last, topic) || **last == **topic => *len += 1,
            _ => holding.held.runs.push((Arc::clone(topic), 1)),
        }
        None
    })
}

/// True if this thread holds publishes of `hub` that a send to `key` must
/// not overtake (any, when `key` is `None`).
pub(crate) fn must_deliver_before(hub: u64, key: Option<u64>) -> bool {
    HOLDING.with(|holding| {
        let Ok(holding) = holding.try_borrow() else {
            return false;
        };
        matches!(holding.open, Some((id, _)) if id == hub)
            && !holding.held.publications.is_empty()
            && (key.is_none() || holding.all_skip != key)
    })
}

/// Takes what this thread holds for `hub`, with the worker it was held on.
pub(crate) fn take(hub: u64) -> Option<(usize, Held)> {
    HOLDING.with(|holding| {
        let mut holding = holding.try_borrow_mut().ok()?;
        let (id, worker) = holding.open?;
        if id != hub || holding.held.publications.is_empty() {
            return None;
        }
        holding.all_skip = None;
        Some((worker, std::mem::take(&mut holding.held)))
    })
}

/// Gives back what a [`take`] returned, once delivered, so its vectors are
/// filled again by the next poll.
pub(crate) fn reuse(mut emptied: Held) {
    emptied.publications.clear();
    emptied.runs.clear();
    HOLDING.with(|holding| {
        let Ok(mut holding) = holding.try_borrow_mut() else {
            return;
        };
        let held = &mut holding.held;
        if held.publications.capacity() == 0 && emptied.publications.capacity() <= KEEP_CAPACITY {
            held.publications = emptied.publications;
        }
        if held.runs.capacity() == 0 && emptied.runs.capacity() <= KEEP_CAPACITY {
            held.runs = emptied.runs;
        }
    });
}
