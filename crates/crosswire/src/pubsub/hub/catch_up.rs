//! A history publish after plain hand-overs: catching up on the inboxes it
//! would otherwise overtake.
//!
//! A publish to a topic that keeps history is queued on every worker's
//! subscribers directly, under the topic log's lock (`history/publish.rs`),
//! which is what gives the topic one order everywhere. Everything else a
//! producer sends to another worker's peers (a plain publish, a `send`, a
//! `close`) goes through that worker's inbox. Queued directly, the history
//! publish could arrive before a plain publish the same producer made just
//! before it, for a peer subscribed to both.
//!
//! So before a history publish is queued on a worker's subscribers, that
//! worker's inbox is caught up: what the calling worker staged is moved
//! into the inboxes, the batch the worker may be carrying out is waited
//! for, and what is left is carried out on the calling thread
//! (`Inbox::catch_up`). That happens inside the delivery loop, just before
//! the worker's shard is locked, so a worker whose first subscriber of the
//! topic arrives meanwhile is caught up too.
//!
//! A producer on a worker stays on that thread (its tasks run on the
//! worker's current-thread runtime), so a worker thread remembers which
//! workers it handed something to since it last caught up on them (a bit
//! each, in a thread-local word tagged with its hub) and catches up on
//! those only: a room that only publishes to history topics pays a
//! thread-local read per worker per publish. A producer on any other thread may move
//! between threads at each `.await`, so from there every worker with
//! subscribers is caught up.
//!
//! The catching up runs under the topic log's lock, and may carry out
//! another producer's hand-overs too (at most a worker's inbox budget): the
//! price of one order per topic, paid only by history publishes that follow
//! hand-overs.

use std::cell::Cell;

use super::{Delivered, TopicHub};

/// Workers a thread handed something to since it last caught up on them:
/// the hub they belong to, and bit `i` for worker `i` (the last bit for
/// every worker from 63 on, never cleared, so those are always caught up).
#[derive(Clone, Copy)]
struct Handed {
    hub: u64,
    workers: u64,
}

thread_local! {
    static HANDED: Cell<Handed> = const { Cell::new(Handed { hub: 0, workers: 0 }) };
}

/// Workers sharing one bit: those from 63 on.
const SHARED_BIT: usize = 63;

fn bit(worker: usize) -> u64 {
    1 << worker.min(SHARED_BIT)
}

impl Handed {
    /// After a hand-over to `worker` of `hub`. A thread that serves two
    /// hubs (two servers in one process) loses track and catches up on
    /// every worker of each once.
    fn with(self, hub: u64, worker: usize) -> Self {
        match self {
            Handed { workers: 0, .. } => Handed {
                hub,
                workers: bit(worker),
            },
            Handed { hub: same, workers } if same == hub => Handed {
                hub,
                workers: workers | bit(worker),
            },
            _ => Handed {
                hub,
                workers: u64::MAX,
            },
        }
    }

    /// Whether `worker` of `hub` may have something of this thread's.
    fn includes(self, hub: u64, worker: usize) -> bool {
        self.workers != 0 && (self.hub != hub || self.workers & bit(worker) != 0)
    }

    /// After catching up on `worker` of `hub`.
    fn without(self, hub: u64, worker: usize) -> Self {
        if self.hub != hub || worker >= SHARED_BIT {
            return self;
        }
        Handed {
            hub,
            workers: self.workers & !bit(worker),
        }
    }
}

/// Notes that the calling thread handed something to `worker` of `hub`.
pub(super) fn handed_to(hub: u64, worker: usize) {
    let _ = HANDED.try_with(|handed| handed.set(handed.get().with(hub, worker)));
}

impl TopicHub {
    /// Carries out what waits in `worker`'s inbox if this thread may have
    /// handed it something, before a publish is queued on its subscribers
    /// directly. `flushed` says whether what this thread staged for other
    /// workers was already moved into their inboxes for this publish. Event
    /// streams that overflowed are left in `delivered`, for the caller to
    /// finish once it holds no lock.
    pub(super) fn catch_up_before_ordered(
        &self,
        worker: usize,
        flushed: &mut bool,
        delivered: &mut Delivered,
    ) {
        let here = self.current_worker();
        if Some(worker) == here {
            // Its peers get everything from this thread directly.
            return;
        }
        // Off the workers (or during thread teardown): every worker.
        let handed = match here {
            Some(_) => HANDED.try_with(Cell::get).ok(),
            None => None,
        };
        if handed.is_some_and(|handed| !handed.includes(self.id, worker)) {
            return;
        }
        let Some(inbox) = self.inboxes.get(worker) else {
            return;
        };
        if !*flushed {
            self.flush_outgoing();
            *flushed = true;
        }
        inbox.catch_up(|batch| {
            let mut run = Vec::new();
            let mut releases = vec![Vec::new(); self.inboxes.len()];
            // What is carried out was counted where it was handed over: only
            // the streams it overflowed are the caller's to finish.
            let mut carried = Delivered::default();
            self.carry_out(worker, batch, &mut run, &mut releases, &mut carried);
            delivered.overflowed.append(&mut carried.overflowed);
        });
        let _ = HANDED.try_with(|handed| handed.set(handed.get().without(self.id, worker)));
    }
}

impl TopicHub {
    /// Carries out what this thread handed to `worker` before it acts on a
    /// subscriber of `worker` directly rather than through its inbox: a
    /// publish handed over before a subscribe must not reach the new
    /// subscriber when its worker gets to it, one handed over before an
    /// unsubscribe must still reach the one leaving, and one handed over
    /// before an event-stream push must reach the stream first. On the
    /// subscriber's own worker all of that happens in order anyway.
    ///
    /// Delivers what the calling hook holds back first. To be called before
    /// the caller takes any lock of its own (its topic list, a topic's
    /// log): the event streams the catching up overflowed are finished
    /// here, and finishing one takes its topic list and leaves its topics.
    pub(crate) fn catch_up_before_direct(&self, worker: usize) {
        // What the calling hook holds back is handed over first, so it is
        // caught up on too.
        self.deliver_held();
        let mut delivered = Delivered::default();
        let mut flushed = false;
        self.catch_up_before_ordered(worker, &mut flushed, &mut delivered);
        delivered.finish_overflowed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Handed = Handed { hub: 0, workers: 0 };

    #[test]
    fn a_thread_catches_up_on_the_workers_it_handed_something_to() {
        let handed = NONE.with(7, 1).with(7, 3);
        assert!(handed.includes(7, 1) && handed.includes(7, 3));
        assert!(!handed.includes(7, 0) && !handed.includes(7, 2));
        let handed = handed.without(7, 1);
        assert!(!handed.includes(7, 1) && handed.includes(7, 3));
        assert!(!NONE.includes(7, 0));
    }

    #[test]
    fn workers_from_63_on_share_a_bit_that_stays_set() {
        let handed = NONE.with(7, 70);
        assert!(handed.includes(7, 63) && handed.includes(7, 100));
        assert!(handed.without(7, 70).includes(7, 70));
    }

    #[test]
    fn a_second_hub_on_the_thread_means_catching_up_on_everyone() {
        let handed = NONE.with(7, 1).with(8, 2);
        for worker in 0..4 {
            assert!(handed.includes(7, worker), "hub 7, worker {worker}");
            assert!(handed.includes(8, worker), "hub 8, worker {worker}");
        }
        // Catching up on the other hub clears nothing of this one's.
        assert!(handed.without(7, 1).includes(8, 1));
    }
}
