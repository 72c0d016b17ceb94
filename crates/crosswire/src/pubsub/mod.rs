//! Topic pub/sub across worker threads: who is subscribed to what, and
//! delivery of one prepared frame to all of them.
//!
//! This is the product's hot path, and it is laid out for many cores.
//!
//! # What is per worker, what is shared
//!
//! A server runs one worker per core: a thread with its own current-thread
//! runtime (see the `server` module). A connection never leaves the worker that
//! accepted it; its reader, its writer and its send queue live there.
//!
//! - **Per worker** (`shard.rs`): the topic index of the subscribers living on
//!   that worker. Its mutex is taken by that worker for every publish and
//!   delivery; other threads take it only to subscribe or unsubscribe one of
//!   the worker's connections. Uncontended, it costs two atomic operations on
//!   a cache line that stays on its core.
//! - **Per worker** (`inbox.rs`): the one door from other threads, a bounded
//!   FIFO of hand-overs, drained by one task on the worker once per scheduler
//!   turn while the worker is busy, and woken (one system call) only after
//!   the worker ran out of work. A second mutex is held while a batch is
//!   taken and carried out, so that a history publish can wait for it (and
//!   the worker for a history publish catching up on its inbox); nobody
//!   else takes it.
//! - **Per worker** (`outgoing.rs`): what the worker hands to others during a
//!   turn, staged per destination and moved into each destination's inbox in
//!   one batch when the staging task yields.
//! - **Shared, read-mostly** (`interest.rs`): for each topic, a subscriber count
//!   per worker. A worker's topic entry holds it by `Arc`, so a publish reads
//!   the other workers' counts with atomic loads; the node-wide map's lock is
//!   taken when a topic appears on or disappears from a worker, and by
//!   publishers that have no local entry for the topic.
//!
//! # How a publish reaches subscribers on other workers
//!
//! Serialize once, frame once (`Publication`).
//! On the publishing worker: deliver to the local subscribers directly (their
//! writers are woken on the same thread, which costs a push on the local run
//! queue), then for each other worker with subscribers stage one hand-over
//! that shares the frame (`Shipment`: one allocation per publish or run, however
//! many workers). The turn's hand-overs reach each destination together, and
//! the receiving worker delivers them to its own subscribers in one batch.
//! So a publish crosses each core boundary once, whatever the number of
//! subscribers behind it, and every send queue is only ever touched by its
//! own core on the hot path.
//!
//! A connection's hooks publish in bursts: one socket read can carry a
//! hundred messages, each handled by its own hook call in one poll of the
//! connection's task. Those publishes are held until the poll ends
//! (`held.rs`) and then go out as runs, one per topic: each local subscriber's
//! queue is locked once per run, the run's frames are joined into one buffer
//! shared by every subscriber that takes all of them (everyone but the
//! sender, in a chat room), and each other worker gets one hand-over per run.
//! The receiving worker does the same with consecutive hand-overs to one
//! topic. Per message, what is left is the kernel's copy into each socket.
//!
//! A broker between processes is the same idea one level up: a publish
//! crosses the process boundary once, encoded once, and each node fans it
//! out locally through this hub (the node's interest map says which topics
//! the node listens to).
//!
//! # Order
//!
//! A topic with history (`[[history]]`) takes another path: its publishes
//! are positioned and queued on every worker's subscribers under the
//! topic's lock (`history/publish.rs`, through `TopicHub::publish_ordered`),
//! so that every subscriber sees the topic in one order.
//!
//! Per connection, messages from one producer arrive in the order produced:
//! a producer on the subscriber's own worker delivers directly, and one
//! anywhere else goes through that worker's inbox, which is FIFO (so are
//! `send` and `close` from other threads, see `Peer`). A hook's held
//! publishes are delivered before anything the same hook does next that
//! could overtake them (a send to a subscriber they may reach, a close, a
//! subscribe or unsubscribe, a history publish, an event-stream push). Nothing
//! is delivered to a subscriber after its `unsubscribe` returned: delivery on
//! the receiving worker looks the topic up under the shard lock at that time.
//!
//! A history publish is queued on every worker's subscribers directly, not
//! through their inboxes: that is what gives its topic one order everywhere
//! and keeps a recovery's replay and join from interleaving with it. So that
//! it cannot pass a plain publish, `send` or `close` the same producer handed
//! to another worker just before, it first catches up on the inbox of each
//! worker it is about to queue on that the producer may have handed
//! something to (`hub/catch_up.rs`): the worker's batch in progress is waited
//! for, and what is left is carried out on the publishing thread.
//!
//! Subscribing or unsubscribing a subscriber of another worker changes that
//! worker's index at once, and an event stream's push or close from another
//! thread goes to the stream's queue at once, while a publish the same
//! thread made just before may still be on its way there. So they catch up
//! the same way first (`TopicHub::catch_up_before_direct`): a publish made
//! before a subscribe does not reach the new subscriber, one made before an
//! unsubscribe still reaches the one leaving, and one made before a push
//! reaches the stream first.

mod held;
#[cfg(test)]
mod held_tests;
mod hub;
mod inbox;
mod interest;
mod members;
mod outgoing;
mod publication;
mod shard;
mod topic_list;
mod worker;

pub(crate) use hub::TopicHub;
pub(crate) use inbox::{Handoff, INBOX_BYTES};
pub(crate) use publication::Publication;
pub(crate) use topic_list::TopicList;
