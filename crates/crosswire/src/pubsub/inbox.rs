//! The one door into a worker from other threads.
//!
//! Work for a worker's connections that starts on another thread (a publish
//! whose topic has subscribers here, a `send` or `close` from a task on
//! another worker) is handed over through the worker's inbox and carried out
//! by the worker itself, in the order it was handed over. One FIFO per worker
//! is what keeps per-connection order when a producer mixes `publish` and
//! `send`, and what keeps every queue's lock and every writer's wake-up on
//! the connection's own core. The one exception is a publish to a history
//! topic, which is queued on every worker's subscribers directly: it first
//! catches up on the inboxes it could overtake, carrying out what waits
//! there on its own thread ([`Inbox::catch_up`]; see `hub/catch_up.rs`).
//!
//! Waking a worker from another thread costs a system call (an `eventfd`
//! write), so wake-ups are coalesced per worker turn: while the worker is
//! busy, its inbox task looks for new work once per scheduler turn
//! (`yield_now`) and nobody wakes it; only after a turn that found nothing
//! does it park, and only then does the next hand-over pay for a wake-up.
//!
//! The inbox is bounded by the bytes it holds; a run of publishes one
//! connection made in one poll is one hand-over, taken or refused whole. A
//! worker that has fallen that far behind is overloaded, and refusing at its
//! door bounds the memory as a full send queue does for one peer. What is
//! refused is not lost silently: in its place the inbox keeps a weightless
//! note, carried out in order like any hand-over, and the peers that missed
//! something are treated as if their own queue had overflowed. Under
//! [`OverflowPolicy::Close`](crate::config::OverflowPolicy) a peer closes
//! with 1013 and an event stream ends (its client resumes from its last
//! event id); under `DropMessage` the message is dropped. A refused publish
//! notes its topic, for every subscriber of it on the worker; a refused
//! `send` notes its peer, and from outside the workers it also fails with
//! [`SendError::QueueFull`](crate::SendError::QueueFull). Refusals are counted
//! and logged. The notes are bounded too: one per topic and one per peer
//! until the worker takes them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crosswire_proto::CloseFrame;
use tokio::sync::Notify;

use super::publication::Shipment;
use crate::ws::outbox::{OutFrame, Outbox};

/// Bytes an inbox may hold: frames a worker has not yet taken in.
pub(crate) const INBOX_BYTES: usize = 64 << 20;

/// Scheduler turns without work before the inbox task parks.
const IDLE_TURNS: u32 = 2;

/// A batch larger than this many items is not kept for reuse.
pub(super) const KEEP_BATCH_CAPACITY: usize = 1024;

/// Work handed to a worker.
#[derive(Debug)]
pub(crate) enum Handoff {
    /// Deliver a publish to this worker's subscribers of its topic.
    Publish(Arc<Shipment>),
    /// Queue a frame on one of this worker's peers.
    Send(Arc<Outbox>, OutFrame),
    /// Start the closing handshake of one of this worker's peers.
    Close(Arc<Outbox>, CloseFrame),
    /// Publishes to this topic were refused at this worker's door: its
    /// subscribers here missed them, but for the one they all skipped (their
    /// publisher), if any.
    MissedPublish(Arc<str>, Option<u64>),
    /// A send to this peer was refused at this worker's door.
    MissedSend(Arc<Outbox>),
    /// A shipment this worker allocated, given back by a worker that has
    /// delivered it, so that the last reference is dropped here. A block
    /// freed by another thread than the one that allocated it costs glibc's
    /// malloc a lock on the allocating thread's arena, which two busy workers
    /// then contend for on every publish (measured: 8 % of chat-32's time in
    /// malloc and futex wake-ups); freeing at home keeps every allocator on
    /// its fast path, as Seastar's foreign pointers do.
    /// Shipments come back in one list per delivered batch.
    Release(Vec<Arc<Shipment>>),
}

impl Handoff {
    /// Bytes the item counts against the budget. A close is tiny and is never
    /// refused (each peer hands over at most one).
    pub(crate) fn weight(&self) -> usize {
        match self {
            Handoff::Publish(shipment) => shipment.weight(),
            Handoff::Send(_, frame) => frame.wire_len(),
            Handoff::Close(..)
            | Handoff::Release(_)
            | Handoff::MissedPublish(..)
            | Handoff::MissedSend(_) => 0,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Handoff>,
    /// Weight of `items`.
    bytes: usize,
    /// The inbox task is waiting for a wake-up (not merely yielding).
    parked: bool,
    /// Topics and peers (by queue address) with a note of a refusal among
    /// `items`: one note each is enough until the worker takes them. For a
    /// topic, the subscriber its note spares.
    noted_topics: HashMap<Arc<str>, Option<u64>>,
    noted_peers: HashSet<usize>,
}

impl State {
    /// Queues `item` unless it would take the inbox past its budget (an
    /// empty inbox takes anything; weightless items always fit). A refused
    /// publish or send leaves a note in its place (see the module docs).
    fn admit(&mut self, item: Handoff) -> Result<(), Handoff> {
        let weight = item.weight();
        if weight > 0 && self.bytes > 0 && self.bytes + weight > INBOX_BYTES {
            self.note_refused(&item);
            return Err(item);
        }
        self.bytes += weight;
        self.items.push_back(item);
        Ok(())
    }

    fn note_refused(&mut self, item: &Handoff) {
        let note = match item {
            Handoff::Publish(shipment) => {
                let skipped = shipment.skipped_by_all();
                let spares = match self.noted_topics.get(&shipment.topic) {
                    // Noted, sparing the same subscriber or nobody.
                    Some(noted) if noted.is_none() || *noted == skipped => return,
                    // Noted sparing one these do not spare: a second note
                    // spares nobody.
                    Some(_) => None,
                    None => skipped,
                };
                self.noted_topics
                    .insert(Arc::clone(&shipment.topic), spares);
                Handoff::MissedPublish(Arc::clone(&shipment.topic), spares)
            }
            Handoff::Send(outbox, _) => {
                if !self.noted_peers.insert(Arc::as_ptr(outbox) as usize) {
                    return;
                }
                Handoff::MissedSend(Arc::clone(outbox))
            }
            _ => return,
        };
        self.items.push_back(note);
    }

    /// Hands every queued item to `batch` (which must be empty).
    fn take_into(&mut self, batch: &mut VecDeque<Handoff>) {
        std::mem::swap(batch, &mut self.items);
        self.taken();
    }

    /// Moves every queued item out into a new queue, leaving the inbox the
    /// room its worker fills and takes batches from.
    fn take_out(&mut self) -> VecDeque<Handoff> {
        let items = self.items.drain(..).collect();
        self.taken();
        items
    }

    /// Every item was taken: nothing is queued or noted any more.
    fn taken(&mut self) {
        self.bytes = 0;
        // Emptied, and given back when an overload made them large.
        self.noted_topics.clear();
        if self.noted_topics.capacity() > KEEP_BATCH_CAPACITY {
            self.noted_topics = HashMap::new();
        }
        self.noted_peers.clear();
        if self.noted_peers.capacity() > KEEP_BATCH_CAPACITY {
            self.noted_peers = HashSet::new();
        }
    }
}

/// A worker's inbox.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    state: Mutex<State>,
    /// Held while a batch is taken and carried out, by the worker or by a
    /// thread catching up on it ([`Inbox::catch_up`]): whoever holds it has
    /// carried out everything taken before it got it.
    delivering: Mutex<()>,
    /// Wakes the parked inbox task; `notify_one` keeps a permit, so a
    /// hand-over between the task's decision to park and its wait is not lost.
    wake: Notify,
    /// Hand-overs refused because the budget was spent.
    dropped: AtomicU64,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hands `item` over; gives it back if the budget is spent.
    pub(crate) fn push(&self, item: Handoff) -> Result<(), Handoff> {
        let mut state = self.lock();
        let admitted = state.admit(item);
        self.unlock(state);
        admitted.inspect_err(|item| {
            if matches!(item, Handoff::Publish(_)) {
                self.count_refused(1);
            }
        })
    }

    /// Hands over every item of `items` (emptying it) under one lock and at
    /// most one wake-up: a worker's hand-overs of one turn. Items past the
    /// budget are dropped and counted.
    pub(crate) fn push_batch(&self, items: &mut VecDeque<Handoff>) {
        let mut state = self.lock();
        let mut refused = 0u64;
        for item in items.drain(..) {
            if state.admit(item).is_err() {
                refused += 1;
            }
        }
        self.unlock(state);
        if refused > 0 {
            self.count_refused(refused);
        }
    }

    /// Releases the lock after adding items, waking the inbox task if it was
    /// parked.
    fn unlock(&self, mut state: MutexGuard<'_, State>) {
        let wake = std::mem::take(&mut state.parked);
        drop(state);
        if wake {
            self.wake.notify_one();
        }
    }

    /// Counts hand-overs refused for the budget, logging at powers of two.
    fn count_refused(&self, refused: u64) {
        let before = self.dropped.fetch_add(refused, Ordering::Relaxed);
        let after = before + refused;
        // One line per power of two crossed, so an overload is visible
        // without a log line per message.
        if (before + 1).next_power_of_two() <= after {
            tracing::warn!(target: "crosswire::pubsub", dropped = after, budget = INBOX_BYTES, "a worker's inbox is full: hand-overs to it are being dropped");
        }
    }

    /// Items waiting, for tests.
    #[cfg(test)]
    pub(crate) fn lock_items_for_test(&self) -> usize {
        self.lock().items.len()
    }

    fn lock_delivering(&self) -> MutexGuard<'_, ()> {
        self.delivering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes what was handed over and gives it to `carry_out` a batch at a
    /// time, in order, forever; `carry_out` drains the batch, and what it
    /// returns goes to `then` once the batch is let go (the place for what
    /// may run user code: see [`Inbox::catch_up`]). Runs as one task on the
    /// inbox's worker.
    pub(crate) async fn run<T>(
        &self,
        mut carry_out: impl FnMut(&mut VecDeque<Handoff>) -> T,
        mut then: impl FnMut(T),
    ) {
        let mut batch = VecDeque::new();
        let mut idle_turns = 0;
        loop {
            let (park, carried) = {
                let delivering = self.lock_delivering();
                let park = {
                    let mut state = self.lock();
                    if state.items.is_empty() {
                        state.parked = idle_turns >= IDLE_TURNS;
                        state.parked
                    } else {
                        state.take_into(&mut batch);
                        false
                    }
                };
                let carried = (!batch.is_empty()).then(|| carry_out(&mut batch));
                drop(delivering);
                (park, carried)
            };
            if park {
                self.wake.notified().await;
                idle_turns = 0;
                continue;
            }
            match carried {
                None => idle_turns += 1,
                Some(carried) => {
                    idle_turns = 0;
                    then(carried);
                    batch.clear();
                    if batch.capacity() > KEEP_BATCH_CAPACITY {
                        batch = VecDeque::new();
                    }
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// Carries out, on the calling thread, everything handed over so far:
    /// first waits for the batch the worker may be carrying out, then gives
    /// what is left to `carry_out`. A thread that is about to queue
    /// something on this worker's peers directly calls this first, so that
    /// what it handed over before cannot arrive after it.
    ///
    /// `carry_out` must not run user code (an event stream's `on_closed`,
    /// say): that code could publish, and so catch up on this inbox again
    /// while its lock is held.
    pub(crate) fn catch_up(&self, carry_out: impl FnOnce(&mut VecDeque<Handoff>)) {
        let _delivering = self.lock_delivering();
        let mut batch = {
            let mut state = self.lock();
            if state.items.is_empty() {
                return;
            }
            state.take_out()
        };
        carry_out(&mut batch);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::config::OverflowPolicy;

    fn send(len: usize) -> Handoff {
        let outbox = Arc::new(Outbox::new(1 << 30, OverflowPolicy::Close));
        Handoff::Send(
            outbox,
            OutFrame::new(OpCode::Binary, Bytes::from(vec![0; len])),
        )
    }

    #[test]
    fn the_budget_refuses_what_does_not_fit_but_always_takes_one_item() {
        let inbox = Inbox::default();
        assert!(
            inbox.push(send(INBOX_BYTES * 2)).is_ok(),
            "an empty inbox takes anything"
        );
        assert!(inbox.push(send(10)).is_err());
        let close = Handoff::Close(
            Arc::new(Outbox::new(1, OverflowPolicy::Close)),
            CloseFrame {
                code: 1000,
                reason: String::new(),
            },
        );
        assert!(inbox.push(close).is_ok(), "a close is never refused");
    }

    fn publish(topic: &str, len: usize) -> Handoff {
        publish_skipping(topic, len, None)
    }

    fn publish_skipping(topic: &str, len: usize, skip: Option<u64>) -> Handoff {
        use crate::pubsub::publication::{Publication, ShippedItems};
        let frame = OutFrame::new(OpCode::Binary, Bytes::from(vec![0; len]));
        Handoff::Publish(Arc::new(Shipment::new(
            Arc::from(topic),
            ShippedItems::One([(Publication::new(frame), skip)]),
            None,
        )))
    }

    /// What the inbox holds, as `P topic`, `S`, `missed topic`, `missed send`.
    fn held(inbox: &Inbox) -> Vec<String> {
        let mut batch = VecDeque::new();
        inbox.lock().take_into(&mut batch);
        batch
            .iter()
            .map(|item| match item {
                Handoff::Publish(shipment) => format!("P {}", shipment.topic),
                Handoff::Send(..) => "S".to_owned(),
                Handoff::MissedPublish(topic, None) => format!("missed {topic}"),
                Handoff::MissedPublish(topic, Some(spared)) => {
                    format!("missed {topic} but {spared}")
                }
                Handoff::MissedSend(_) => "missed send".to_owned(),
                Handoff::Close(..) => "close".to_owned(),
                Handoff::Release(_) => "release".to_owned(),
            })
            .collect()
    }

    #[test]
    fn what_the_budget_refuses_leaves_one_note_per_topic_and_peer_in_its_place() {
        let inbox = Inbox::default();
        let mut staged: VecDeque<Handoff> = VecDeque::new();
        staged.push_back(publish("a", INBOX_BYTES - 100));
        staged.push_back(publish("a", 100));
        staged.push_back(publish("b", 100));
        staged.push_back(publish("a", 100));
        staged.push_back(publish("a", 5));
        let peer = Arc::new(Outbox::new(1 << 30, OverflowPolicy::Close));
        for _ in 0..3 {
            staged.push_back(Handoff::Send(
                Arc::clone(&peer),
                OutFrame::new(OpCode::Binary, Bytes::from(vec![0; 100])),
            ));
        }
        inbox.push_batch(&mut staged);
        assert_eq!(
            held(&inbox),
            ["P a", "missed a", "missed b", "P a", "missed send"],
            "in order, one note each, and what still fits is taken"
        );
        // Taken by the worker: the next refusal is noted again.
        inbox.push_batch(&mut VecDeque::from([
            publish("a", INBOX_BYTES),
            publish("a", 100),
        ]));
        assert_eq!(held(&inbox), ["P a", "missed a"]);
        assert!(
            inbox.push(send(INBOX_BYTES)).is_ok() && inbox.push(send(10)).is_err(),
            "a refused send from outside the workers still fails"
        );
        assert_eq!(held(&inbox), ["S", "missed send"]);
    }

    #[test]
    fn a_note_spares_the_publisher_its_refused_publishes_all_skipped() {
        let inbox = Inbox::default();
        inbox.push_batch(&mut VecDeque::from([
            publish("a", INBOX_BYTES),
            publish_skipping("a", 100, Some(7)),
            publish_skipping("a", 100, Some(7)),
        ]));
        assert_eq!(held(&inbox), ["P a", "missed a but 7"]);
        inbox.push_batch(&mut VecDeque::from([
            publish("a", INBOX_BYTES),
            publish_skipping("a", 100, Some(7)),
            publish_skipping("a", 100, Some(8)),
            publish_skipping("a", 100, None),
        ]));
        assert_eq!(
            held(&inbox),
            ["P a", "missed a but 7", "missed a"],
            "publishes skipping different subscribers: the second note spares nobody"
        );
    }

    #[test]
    fn catching_up_carries_out_what_waits_in_order_on_the_calling_thread() {
        let inbox = Inbox::default();
        for len in 1..=3 {
            assert!(inbox.push(send(len)).is_ok());
        }
        let mut carried = Vec::new();
        inbox.catch_up(|batch| {
            for item in batch.drain(..) {
                if let Handoff::Send(_, frame) = item {
                    carried.push(frame.payload().len());
                }
            }
        });
        assert_eq!(carried, [1, 2, 3]);
        assert_eq!(inbox.lock_items_for_test(), 0);
        // Nothing waits: nothing is carried out.
        inbox.catch_up(|_| panic!("an empty batch was carried out"));
    }

    #[test]
    fn catching_up_waits_for_the_batch_the_worker_is_carrying_out() {
        use std::sync::atomic::AtomicBool;
        use std::time::Duration;

        let inbox = Arc::new(Inbox::default());
        let done = Arc::new(AtomicBool::new(false));
        // The worker's side: holds the delivery lock while it carries out.
        let delivering = inbox.lock_delivering();
        let catching_up = {
            let (inbox, done) = (Arc::clone(&inbox), Arc::clone(&done));
            std::thread::spawn(move || {
                inbox.catch_up(|_| {});
                done.load(Ordering::Acquire)
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        done.store(true, Ordering::Release);
        drop(delivering);
        assert!(
            catching_up.join().expect("no panic"),
            "caught up before the batch in progress was done"
        );
    }

    #[tokio::test]
    async fn items_are_carried_out_in_order_and_a_parked_task_wakes() {
        let inbox = Arc::new(Inbox::default());
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let runner = Arc::clone(&inbox);
        let task = tokio::spawn(async move {
            runner
                .run(
                    |batch| {
                        for item in batch.drain(..) {
                            if let Handoff::Send(_, frame) = item {
                                let _ = tx.try_send(frame.payload().len());
                            }
                        }
                    },
                    |()| {},
                )
                .await;
        });
        for round in 0..3 {
            // Let the task run out of work and park.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            for len in 1..=5 {
                assert!(inbox.push(send(round * 10 + len)).is_ok());
            }
            for len in 1..=5 {
                assert_eq!(rx.recv().await, Some(round * 10 + len));
            }
        }
        task.abort();
    }
}
