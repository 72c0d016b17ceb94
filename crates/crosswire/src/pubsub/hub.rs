//! The topic hub: every worker's shard, the node's interest, and the inboxes
//! that carry a publish from one worker to the others.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::held;
use super::inbox::{Handoff, Inbox};
use super::interest::{InterestMap, TopicInterest};
use super::members::{Delivered, Subscriber};
use super::outgoing::Outgoing;
use super::publication::{Publication, Shipment, ShippedItems};
use super::shard::{Joined, Left, LocalTopic, Shard};
use super::worker;

mod catch_up;
mod held_delivery;
use crate::broker::node::NodeBroker;
use crate::sse::core::{Ended, StreamCore};
use crate::ws::outbox::{OutFrame, Outbox};

/// A topic's name for a shipment: the worker's own entry key, shared by
/// reference count (its count only ever moves on this worker, since shipments
/// are dropped where they were made), or a name to copy.
#[derive(Clone, Copy)]
enum TopicName<'a> {
    Shared(&'a Arc<str>),
    Borrowed(&'a str),
}

impl TopicName<'_> {
    fn to_shared(self) -> Arc<str> {
        match self {
            TopicName::Shared(name) => Arc::clone(name),
            TopicName::Borrowed(name) => Arc::from(name),
        }
    }
}

/// Topics and subscribers of one server, sharded by worker.
#[derive(Debug)]
pub(crate) struct TopicHub {
    /// Tells this hub's worker threads from other servers' in the process.
    id: u64,
    /// One per worker; never empty.
    shards: Box<[Shard]>,
    /// Which workers have subscribers of which topic.
    interest: InterestMap,
    /// One per worker: how work reaches a worker from other threads.
    inboxes: Box<[Inbox]>,
    /// One per worker: what it hands to other workers, until its turn ends.
    outgoing: Box<[Outgoing]>,
}

impl TopicHub {
    /// A hub for `workers` worker threads (at least one) that tells `node`'s
    /// broker which topics this process listens to.
    pub(crate) fn new(workers: usize, node: Arc<NodeBroker>) -> Self {
        let workers = workers.max(1);
        Self {
            id: worker::next_hub_id(),
            shards: (0..workers).map(|_| Shard::default()).collect(),
            interest: InterestMap::new(workers, node),
            inboxes: (0..workers).map(|_| Inbox::default()).collect(),
            outgoing: (0..workers).map(|_| Outgoing::new(workers)).collect(),
        }
    }

    /// Marks the calling thread as worker `worker` of this hub.
    pub(crate) fn enter_worker(&self, worker: usize) {
        worker::enter(self.id, worker);
    }

    /// The worker the calling thread runs. With one worker every thread
    /// counts as it: connections then live on the caller's runtime, whatever
    /// its kind, exactly as a single-threaded server.
    pub(crate) fn current_worker(&self) -> Option<usize> {
        if self.shards.len() == 1 {
            Some(0)
        } else {
            worker::current(self.id)
        }
    }

    /// The worker a subscriber created now lives on: the caller's, or the
    /// first for code that runs outside the workers.
    pub(crate) fn home_worker(&self) -> usize {
        self.current_worker().unwrap_or(0)
    }

    /// True when the calling thread is worker `worker`.
    pub(crate) fn is_on(&self, worker: usize) -> bool {
        self.current_worker() == Some(worker)
    }

    fn shard(&self, worker: usize) -> &Shard {
        // `home` values come from `home_worker`, so the fallback never runs;
        // it keeps a bad index from becoming a panic.
        self.shards.get(worker).unwrap_or(&self.shards[0])
    }

    /// Subscribes a peer living on `home`: the index's copy of the topic's
    /// name, which the peer keeps in its own list, or `None` if it already
    /// was subscribed.
    pub(crate) fn subscribe(
        &self,
        topic: &str,
        home: usize,
        key: u64,
        outbox: &Arc<Outbox>,
    ) -> Option<Arc<str>> {
        self.insert(topic, home, key, Subscriber::WebSocket(Arc::clone(outbox)))
    }

    /// Subscribes an event stream living on `home`; false if it already was.
    pub(crate) fn subscribe_stream(
        &self,
        topic: &str,
        home: usize,
        key: u64,
        stream: &Arc<StreamCore>,
    ) -> bool {
        self.insert(
            topic,
            home,
            key,
            Subscriber::EventStream(Arc::clone(stream)),
        )
        .is_some()
    }

    /// Adds `subscriber`; the index's copy of the topic's name if it was not
    /// subscribed yet.
    fn insert(
        &self,
        topic: &str,
        home: usize,
        key: u64,
        subscriber: Subscriber,
    ) -> Option<Arc<str>> {
        // What was published before the subscribe does not reach it: what
        // the calling hook holds (what this thread handed to `home` before,
        // the caller caught up on with `catch_up_before_direct` before it
        // took its own locks).
        self.deliver_held();
        match self
            .shard(home)
            .insert(home, &self.interest, topic, key, subscriber)
        {
            Joined::Already => None,
            Joined::Yes {
                first_on_node,
                name,
            } => {
                if first_on_node {
                    tracing::trace!(target: "crosswire::pubsub", topic, "first subscriber on this node");
                }
                Some(name)
            }
        }
    }

    /// Unsubscribes `key` living on `home`; false if it was not subscribed.
    /// Once this returns, no publish reaches it through this topic.
    pub(crate) fn unsubscribe(&self, topic: &str, home: usize, key: u64) -> bool {
        // What was published before the unsubscribe still reaches it (see
        // `insert`).
        self.deliver_held();
        match self.shard(home).remove(home, &self.interest, topic, key) {
            Left::NotSubscribed => false,
            Left::Yes { last_on_node } => {
                if last_on_node {
                    tracing::trace!(target: "crosswire::pubsub", topic, "last subscriber on this node left");
                }
                true
            }
        }
    }

    /// Sends `frame` to every subscriber of `topic` except `exclude`, each
    /// once, and returns how many it was queued or handed over for.
    ///
    /// Subscribers on the calling worker get it now; every other worker with
    /// subscribers gets one hand-over carrying the same frame and delivers it
    /// to its own subscribers on its next turn. From a connection's hook,
    /// both happen when the hook's poll ends, together with the connection's
    /// other publishes of that poll (see `held.rs`).
    pub(crate) fn publish(&self, topic: &str, frame: OutFrame, exclude: Option<u64>) -> usize {
        let mut publication = Some(Publication::new(frame));
        let here = self.current_worker();
        let mut delivered = Delivered::default();
        let mut handed = 0;
        let mut routed = false;
        if let Some(worker) = here {
            let topics = self.shard(worker).lock();
            if let Some((name, local)) = topics.get_key_value(topic)
                && let Some(publication) = publication.take()
            {
                let text = publication.frame.is_text();
                match held::hold(self.id, worker, name, publication, exclude) {
                    None => {
                        let count = local.interest.count(worker);
                        let reach = local.members.reach(&count, text, exclude)
                            + reach_elsewhere(&local.interest, worker, text);
                        drop(topics);
                        if held::is_full() {
                            self.deliver_held();
                        }
                        return reach;
                    }
                    Some(publication) => {
                        let mut publication = Some(publication);
                        let mut shipment = None;
                        if self.shards.len() > 1 {
                            let name = TopicName::Shared(name);
                            (handed, shipment) =
                                self.ship(name, &local.interest, here, exclude, &mut publication);
                        }
                        let here_too = publication
                            .as_ref()
                            .or_else(|| shipment.as_ref().map(|s| &s.items()[0].0));
                        if let Some(publication) = here_too {
                            let run = std::iter::once((publication, exclude));
                            local.members.deliver_run(run, &mut delivered);
                        }
                    }
                }
                routed = true;
            }
        }
        if !routed
            && self.shards.len() > 1
            && let Some(interest) = self.interest.get(topic)
        {
            // After what this connection published before, held or not.
            if held::must_deliver_before(self.id, None) {
                self.deliver_held();
            }
            let name = TopicName::Borrowed(topic);
            (handed, _) = self.ship(name, &interest, here, exclude, &mut publication);
        }
        // Finishing a stream leaves its topics, so no shard lock may be held.
        let queued = delivered.queued;
        delivered.finish_overflowed();
        queued + handed
    }

    /// Queues `publication` for every subscriber of `topic` but those `skip`
    /// names,
    /// on every worker, before returning: the path of a history topic, whose
    /// publishes are ordered by its log's lock (see `history/publish.rs`).
    /// Unlike [`publish`](Self::publish) nothing goes through an inbox, so
    /// two publishes made one after the other reach every subscriber in that
    /// order. Overflowed streams are for the caller to finish once it holds
    /// no lock.
    pub(crate) fn publish_ordered(
        &self,
        topic: &str,
        publication: &Publication,
        skip: impl Fn(u64) -> bool,
    ) -> Delivered {
        // Ordered after what this connection published before.
        self.deliver_held();
        let mut delivered = Delivered::default();
        let Some(interest) = self.interest.get(topic) else {
            return delivered;
        };
        let mut flushed = false;
        for (worker, _) in interest.workers() {
            // And after what this thread handed to that worker before.
            self.catch_up_before_ordered(worker, &mut flushed, &mut delivered);
            let topics = self.shard(worker).lock();
            if let Some(local) = topics.get(topic) {
                local.members.deliver(publication, &skip, &mut delivered);
            }
        }
        delivered
    }

    /// Hands `publication` to every worker but `here` that has subscribers
    /// of `topic`: one shared shipment, one inbox push per worker. Returns
    /// how many subscribers those workers have, and the shipment if one was
    /// made (it then holds the publication).
    fn ship(
        &self,
        topic: TopicName<'_>,
        interest: &TopicInterest,
        here: Option<usize>,
        exclude: Option<u64>,
        publication: &mut Option<Publication>,
    ) -> (usize, Option<Arc<Shipment>>) {
        let mut shipment: Option<Arc<Shipment>> = None;
        let mut handed = 0;
        let text = publication
            .as_ref()
            .is_some_and(|publication| publication.frame.is_text());
        for (worker, count) in interest.workers() {
            if Some(worker) == here {
                continue;
            }
            let shipment = match &shipment {
                Some(shipment) => Arc::clone(shipment),
                None => {
                    let Some(publication) = publication.take() else {
                        return (handed, shipment);
                    };
                    let created = Arc::new(Shipment::new(
                        topic.to_shared(),
                        ShippedItems::One([(publication, exclude)]),
                        here,
                    ));
                    shipment = Some(Arc::clone(&created));
                    created
                }
            };
            if self.hand_off(worker, Handoff::Publish(shipment)).is_ok() {
                // Binary messages have no event-stream form.
                handed += if text { count.total() } else { count.peers };
            }
        }
        (handed, shipment)
    }

    /// Hands `item` to `worker`. From another worker it is staged until
    /// that worker's turn ends (see `outgoing.rs`); from any other thread it
    /// goes to the inbox at once, and comes back if the inbox is full.
    pub(crate) fn hand_off(&self, worker: usize, item: Handoff) -> Result<(), Handoff> {
        // A shipment given back carries nothing a history publish could
        // overtake.
        if !matches!(item, Handoff::Release(_)) {
            catch_up::handed_to(self.id, worker);
        }
        if let Some(here) = self.current_worker()
            && let Some(outgoing) = self.outgoing.get(here)
            && worker < self.inboxes.len()
        {
            outgoing.stage(worker, item, &self.inboxes);
            return Ok(());
        }
        match self.inboxes.get(worker) {
            Some(inbox) => inbox.push(item),
            None => Err(item),
        }
    }

    /// Moves what the calling worker has staged for other workers into their
    /// inboxes now (nothing when called off the workers).
    pub(crate) fn flush_outgoing(&self) {
        if self.shards.len() > 1
            && let Some(here) = self.current_worker()
            && let Some(outgoing) = self.outgoing.get(here)
        {
            outgoing.flush_now(&self.inboxes);
        }
    }

    /// Moves what `worker` stages for other workers into their inboxes,
    /// forever. Runs as one task on that worker.
    pub(crate) async fn run_outgoing(&self, worker: usize) {
        if let Some(outgoing) = self.outgoing.get(worker) {
            outgoing.run(&self.inboxes).await;
        }
    }

    /// Carries out what other threads hand to `worker`, forever. Runs as one
    /// task on that worker.
    pub(crate) async fn run_inbox(&self, worker: usize) {
        let Some(inbox) = self.inboxes.get(worker) else {
            return;
        };
        let mut releases: Vec<Vec<Arc<Shipment>>> = vec![Vec::new(); self.inboxes.len()];
        let mut run = Vec::new();
        inbox
            .run(
                |batch| {
                    let mut delivered = Delivered::default();
                    self.carry_out(worker, batch, &mut run, &mut releases, &mut delivered);
                    delivered.overflowed
                },
                |overflowed| {
                    for stream in overflowed {
                        stream.finish(Ended::Overflow);
                    }
                },
            )
            .await;
    }

    /// Carries out one batch of hand-overs to `worker`, in order. A run of
    /// publishes to one topic is delivered together (each subscriber's queue
    /// locked once for the run) and every run of publishes under one take of
    /// the shard lock; the shipments go back to the workers that allocated
    /// them in one release per origin per batch rather than one each. The
    /// event streams the batch overflowed are left in `delivered`, for the
    /// caller to finish once it holds no lock.
    pub(super) fn carry_out(
        &self,
        worker: usize,
        batch: &mut VecDeque<Handoff>,
        run: &mut Vec<Arc<Shipment>>,
        releases: &mut [Vec<Arc<Shipment>>],
        delivered: &mut Delivered,
    ) {
        let shard = self.shard(worker);
        let mut topics = None;
        let mut run_bytes = 0;
        for item in batch.drain(..) {
            let shipment = match item {
                Handoff::Publish(shipment) => shipment,
                // Come after every publish handed over before them.
                other => {
                    if !run.is_empty() {
                        let topics = topics.get_or_insert_with(|| shard.lock());
                        Self::deliver_run(topics, run, worker, releases, delivered);
                        run_bytes = 0;
                    }
                    if let Handoff::MissedPublish(topic, spared) = &other {
                        let topics = topics.get_or_insert_with(|| shard.lock());
                        if let Some(local) = topics.get(&**topic) {
                            local.members.missed(*spared, delivered);
                        }
                        continue;
                    }
                    // Releases, sends and closes take no topic lock.
                    topics = None;
                    match other {
                        Handoff::Release(shipments) => drop(shipments),
                        Handoff::Send(outbox, frame) => {
                            outbox.push(&frame);
                        }
                        Handoff::Close(outbox, close) => {
                            outbox.close(Some(&close));
                        }
                        Handoff::MissedSend(outbox) => outbox.missed_handover(),
                        Handoff::Publish(_) | Handoff::MissedPublish(..) => {}
                    }
                    continue;
                }
            };
            let too_long = run_bytes + shipment.weight() > RUN_BYTES;
            if run
                .first()
                .is_some_and(|first| first.topic != shipment.topic || too_long)
            {
                let topics = topics.get_or_insert_with(|| shard.lock());
                Self::deliver_run(topics, run, worker, releases, delivered);
                run_bytes = 0;
            }
            run_bytes += shipment.weight();
            run.push(shipment);
        }
        if !run.is_empty() {
            let topics = topics.get_or_insert_with(|| shard.lock());
            Self::deliver_run(topics, run, worker, releases, delivered);
        }
        drop(topics);
        let here = self.current_worker();
        for (origin, returned) in releases.iter_mut().enumerate() {
            if Some(origin) == here {
                // Carried out by the worker that made them (catching up).
                returned.clear();
            } else if !returned.is_empty() {
                // The next batch is likely as large: one allocation for it
                // rather than a doubling series (bounded, as it may sit idle).
                let next = Vec::with_capacity(returned.len().min(4096));
                let _ = self.hand_off(origin, Handoff::Release(std::mem::replace(returned, next)));
            }
        }
    }

    /// Delivers `run` (shipments to one topic, in order) to `worker`'s
    /// subscribers of that topic, then empties it, setting each shipment
    /// aside for the worker that allocated it (see `Handoff::Release`).
    fn deliver_run(
        topics: &HashMap<Arc<str>, LocalTopic>,
        run: &mut Vec<Arc<Shipment>>,
        worker: usize,
        releases: &mut [Vec<Arc<Shipment>>],
        delivered: &mut Delivered,
    ) {
        if let Some(local) = run.first().and_then(|first| topics.get(&*first.topic)) {
            let run = run.iter().flat_map(|shipment| {
                shipment
                    .items()
                    .iter()
                    .map(|(publication, exclude)| (publication, *exclude))
            });
            local.members.deliver_run(run, delivered);
        }
        for shipment in run.drain(..) {
            if let Some(origin) = shipment.origin
                && origin != worker
                && let Some(returned) = releases.get_mut(origin)
            {
                returned.push(shipment);
            }
        }
    }

    /// Number of subscribers of `topic` on every worker.
    pub(crate) fn subscriber_count(&self, topic: &str) -> usize {
        self.interest
            .get(topic)
            .map_or(0, |interest| interest.total())
    }

    /// Every topic with a subscriber in this process: the node's interest,
    /// which a broker subscribes to again after a reconnect.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.interest.topics()
    }

    /// Number of topics with a subscriber in this process, and the sum of
    /// every worker's topic entries; both zero once every subscriber has left.
    #[cfg(test)]
    pub(crate) fn index_size(&self) -> (usize, usize) {
        let entries = self.shards.iter().map(Shard::topic_count).sum();
        (self.interest.len(), entries)
    }
}

/// Consecutive hand-overs to one topic are delivered as one run up to this
/// many bytes, the most a run is joined into (see `members.rs`).
const RUN_BYTES: usize = super::members::JOIN_AT_MOST;

/// Subscribers of a topic on every worker but `here` that a publish
/// reaches (event streams only take text).
fn reach_elsewhere(interest: &TopicInterest, here: usize, text: bool) -> usize {
    interest
        .workers()
        .filter(|(worker, _)| *worker != here)
        .map(|(_, count)| if text { count.total() } else { count.peers })
        .sum()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::config::OverflowPolicy;

    fn outbox() -> Arc<Outbox> {
        Arc::new(Outbox::new(1 << 20, OverflowPolicy::Close))
    }

    fn text(payload: &'static str) -> OutFrame {
        OutFrame::new(OpCode::Text, Bytes::from_static(payload.as_bytes()))
    }

    /// Runs `f` on a thread that is worker `worker` of `hub`.
    fn on_worker<R: Send>(hub: &TopicHub, worker: usize, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    hub.enter_worker(worker);
                    f()
                })
                .join()
                .unwrap()
        })
    }

    #[test]
    fn subscribers_keep_the_index_copy_of_a_topic_name() {
        let hub = TopicHub::new(2, Arc::default());
        let (a, b, c) = (outbox(), outbox(), outbox());
        let first = hub.subscribe("chat", 0, 1, &a).unwrap();
        let second = hub.subscribe("chat", 0, 2, &b).unwrap();
        assert!(
            Arc::ptr_eq(&first, &second),
            "each subscriber copied the name"
        );
        assert_eq!(&*first, "chat");
        // Another worker's index has its own copy, shared by its subscribers.
        let elsewhere = hub.subscribe("chat", 1, 3, &c).unwrap();
        assert_eq!(&*elsewhere, "chat");
        // Once every subscriber left, a new one gets the name again.
        for (key, worker) in [(1, 0), (2, 0), (3, 1)] {
            hub.unsubscribe("chat", worker, key);
        }
        drop((first, second, elsewhere));
        assert_eq!(&*hub.subscribe("chat", 0, 1, &a).unwrap(), "chat");
    }

    #[test]
    fn a_local_publish_skips_the_sender_and_reaches_the_rest_once() {
        let hub = TopicHub::new(1, Arc::default());
        let (a, b, c) = (outbox(), outbox(), outbox());
        assert!(hub.subscribe("chat", 0, 1, &a).is_some());
        assert!(hub.subscribe("chat", 0, 1, &a).is_none());
        hub.subscribe("chat", 0, 2, &b);
        hub.subscribe("chat", 0, 3, &c);
        let frame = text("hi");
        let len = frame.wire_len();
        assert_eq!(hub.publish("chat", frame, Some(1)), 2);
        assert_eq!(a.buffered_amount(), 0);
        assert_eq!(b.buffered_amount(), len);
        assert_eq!(c.buffered_amount(), len);
    }

    #[test]
    fn other_workers_get_one_shipment_each_and_deliver_it_themselves() {
        let hub = TopicHub::new(3, Arc::default());
        let here = outbox();
        let there: Vec<_> = (0..4).map(|_| outbox()).collect();
        hub.subscribe("t", 0, 1, &here);
        for (key, b) in there.iter().enumerate() {
            hub.subscribe("t", 1 + key % 2, 10 + key as u64, b);
        }
        let stream = Arc::new(StreamCore::new(None, 1 << 20));
        hub.subscribe_stream("t", 2, 99, &stream);
        assert_eq!(hub.subscriber_count("t"), 6);

        // On worker 0: its own subscriber now, the others handed over.
        let counted = on_worker(&hub, 0, || hub.publish("t", text("x"), None));
        assert_eq!(counted, 6);
        assert!(here.buffered_amount() > 0);
        assert!(there.iter().all(|b| b.buffered_amount() == 0));
        // Staged on worker 0 until its turn ends: one per worker, not per
        // subscriber.
        assert_eq!(hub.outgoing[0].staged_for_test(), [0, 1, 1]);
        // From a thread outside the workers, straight into the inboxes.
        assert_eq!(hub.publish("t", text("y"), None), 6);
        for worker in 0..3 {
            assert_eq!(hub.inboxes[worker].lock_items_for_test(), 1);
        }
        // Binary frames skip the event stream in the count.
        let binary = OutFrame::new(OpCode::Binary, Bytes::from_static(b"\x00"));
        assert_eq!(on_worker(&hub, 0, || hub.publish("t", binary, None)), 5);
    }

    #[test]
    fn the_index_is_empty_once_every_subscriber_left() {
        let hub = TopicHub::new(4, Arc::default());
        let boxes: Vec<_> = (0..12).map(|_| outbox()).collect();
        for (key, b) in boxes.iter().enumerate() {
            for topic in ["a", "b", "c"] {
                assert!(hub.subscribe(topic, key % 4, key as u64, b).is_some());
            }
        }
        assert_eq!(hub.index_size(), (3, 12));
        let mut topics = hub.topics();
        topics.sort();
        assert_eq!(topics, ["a", "b", "c"]);
        for (key, _) in boxes.iter().enumerate() {
            for topic in ["a", "b", "c"] {
                assert!(hub.unsubscribe(topic, key % 4, key as u64));
                assert!(!hub.unsubscribe(topic, key % 4, key as u64));
            }
        }
        assert_eq!(hub.index_size(), (0, 0));
        assert!(hub.topics().is_empty());
    }

    #[test]
    fn publishes_made_while_holding_arrive_as_one_run_when_the_hold_ends() {
        let hub = TopicHub::new(1, Arc::default());
        let (a, b, c) = (outbox(), outbox(), outbox());
        hub.subscribe("chat", 0, 1, &a);
        hub.subscribe("chat", 0, 2, &b);
        let frame = text("hi");
        let len = frame.wire_len();
        {
            let held = hub.hold_publishes();
            assert!(held.is_some());
            assert!(
                hub.hold_publishes().is_none(),
                "an inner hold leaves it to the outer"
            );
            assert_eq!(hub.publish("chat", text("hi"), Some(1)), 1);
            assert_eq!(hub.publish("chat", text("hi"), Some(1)), 1);
            assert_eq!(b.buffered_amount(), 0, "held until the hold ends");
            // A send to the publisher could not overtake anything; one to
            // another subscriber could.
            assert!(!held::must_deliver_before(hub.id, Some(1)));
            assert!(held::must_deliver_before(hub.id, Some(2)));
            // A subscribe comes after what was published before it.
            hub.subscribe("chat", 0, 3, &c);
            assert_eq!(b.buffered_amount(), 2 * len);
            assert_eq!(c.buffered_amount(), 0);
            assert_eq!(hub.publish("chat", text("hi"), Some(1)), 2);
            // An unsubscribe still gets what was published before it.
            hub.unsubscribe("chat", 0, 3);
            assert_eq!(c.buffered_amount(), len);
            assert_eq!(hub.publish("chat", text("hi"), None), 2);
            assert!(held::must_deliver_before(hub.id, Some(1)));
        }
        assert_eq!(a.buffered_amount(), len);
        assert_eq!(b.buffered_amount(), 4 * len);
        assert_eq!(c.buffered_amount(), len);
        // Without a hold, a publish is delivered at once.
        hub.publish("chat", text("hi"), None);
        assert_eq!(b.buffered_amount(), 5 * len);
    }
}
