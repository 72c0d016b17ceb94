//! A peer's side of history: subscribing with recovery, and publishing a
//! payload that carries its position (see [`crate::history`]).

use std::sync::Arc;

use super::Peer;
use crate::history::{Published, Recovery, ReplayTarget, Since, StreamPosition};
use crate::pubsub::Publication;
use crate::ws::payload::Payload;

/// Replays into the peer's send queue and joins the topic, under the
/// topic log's lock.
struct Target {
    peer: Peer,
    topic: Arc<str>,
    joined: bool,
}

impl ReplayTarget for Target {
    fn key(&self) -> u64 {
        self.peer.inner.key
    }

    fn join(&mut self) -> bool {
        // Under the peer's topic list, which orders it with the close that
        // leaves every topic of the list.
        let mut topics = self.peer.lock_topics();
        if !topics.is_open() {
            return false;
        }
        let inner = &self.peer.inner;
        let joined =
            inner
                .shared
                .topics
                .subscribe(&self.topic, inner.home, inner.key, &inner.outbox);
        self.joined = joined.is_some();
        if let Some(name) = joined {
            topics.push(name);
        }
        self.joined
    }

    fn replay(&mut self, publication: &Publication) {
        // Queued directly, even from another worker: the log's lock orders
        // this push with the topic's live ones, which an inbox would not.
        // A full queue is handled by the queue's overflow policy.
        let _ = self.peer.inner.outbox.push(&publication.frame);
    }

    fn cost(&self, publication: &Publication) -> usize {
        publication.frame.wire_len()
    }

    fn room(&self) -> usize {
        let outbox = &self.peer.inner.outbox;
        outbox.limit().saturating_sub(outbox.buffered_amount())
    }

    fn lost(&mut self, _latest: &StreamPosition) {
        // The hook learns it from the returned `Recovery` and tells the
        // client in its own message format.
    }
}

impl Peer {
    /// Subscribes to `topic` and first queues every message published to it
    /// after `since`, the position of the last message the client holds, so
    /// that the client carries on with no gap and no duplicate. The returned
    /// [`Recovery`] says whether that was possible; when it was not (the
    /// history was lost or is too short, or `topic` keeps none), the client
    /// should reload its state. With `since` `None` (a first connection)
    /// this is [`subscribe`](Peer::subscribe), and the result tells where the
    /// topic stands.
    ///
    /// It completes at once when the history is kept here. With a broker
    /// that keeps it (see [`crate::history`]), it may first read the
    /// broker's log; live messages published meanwhile are held back and
    /// come after the replay, none twice.
    ///
    /// The client passes its position however the app likes; the chat
    /// example uses a query parameter, from a page that remembers the `id`
    /// of the last message it showed:
    ///
    /// ```js
    /// let last = null; // "<epoch>:<offset>" of the last message shown
    /// function connect() {
    ///   const since = last ? `?since=${encodeURIComponent(last)}` : "";
    ///   const ws = new WebSocket(`ws://${location.host}/api/ws/chat${since}`);
    ///   ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.id) last = m.id; show(m); };
    ///   ws.onclose = () => setTimeout(connect, 1000);
    /// }
    /// ```
    pub async fn subscribe_with_recovery(
        &self,
        topic: impl AsRef<str>,
        since: Option<&StreamPosition>,
    ) -> Recovery {
        let topic = topic.as_ref();
        // Before any lock (the topic's log): see `Peer::subscribe`.
        self.catch_up_home();
        let mut target = Target {
            peer: self.clone(),
            topic: Arc::from(topic),
            joined: false,
        };
        let since = since.cloned().map_or(Since::Nothing, Since::At);
        let recovery = self.inner.shared.recover(topic, since, &mut target).await;
        tracing::debug!(target: "crosswire::history", peer = %self, topic, recovered = recovery.recovered, replayed = recovery.replayed, "peer subscribed with recovery");
        recovery
    }

    /// Like [`publish`](Peer::publish), with the payload built from the
    /// position the publish gets in `topic`'s history (`None` when the topic
    /// keeps none), so the message can carry it to WebSocket clients, which
    /// have no event id. `build` runs while the topic's order is held: keep
    /// it to building the payload (a `send` to this peer is fine, and is
    /// how the chat example echoes the message in order). With a broker
    /// that keeps the history, `build` runs before the position exists: it
    /// gets a stand-in whose text is replaced in the payload on delivery,
    /// so use it in the payload only (and echo to the sender with
    /// [`publish_with_echo`](Peer::publish_with_echo)).
    ///
    /// ```no_run
    /// # use crosswire::prelude::*;
    /// # fn f(peer: Peer) {
    /// peer.publish_with("chat", |id| json!({ "id": id, "message": "hi" }));
    /// # }
    /// ```
    pub fn publish_with<P: Into<Payload>>(
        &self,
        topic: impl AsRef<str>,
        build: impl FnOnce(Option<&StreamPosition>) -> P,
    ) -> Published {
        self.inner.shared.publish_with(
            topic.as_ref(),
            |position| build(position).into(),
            Some(self.inner.key),
        )
    }

    /// Like [`publish_with`](Peer::publish_with), but this peer gets the
    /// message too, if it is subscribed to `topic`, in the topic's order
    /// like everyone else: the way to echo a chat message with its
    /// position, whether the history is kept here or by the broker.
    ///
    /// ```no_run
    /// # use crosswire::prelude::*;
    /// # fn f(peer: Peer) {
    /// peer.publish_with_echo("chat", |id| json!({ "id": id, "message": "hi" }));
    /// # }
    /// ```
    pub fn publish_with_echo<P: Into<Payload>>(
        &self,
        topic: impl AsRef<str>,
        build: impl FnOnce(Option<&StreamPosition>) -> P,
    ) -> Published {
        self.inner
            .shared
            .publish_with(topic.as_ref(), |position| build(position).into(), None)
    }
}
