//! A connected WebSocket client, as hooks and other code see it.
//!
//! `Peer` is a cheap handle (one `Arc`): keep clones anywhere, send from any
//! task. Sending never waits: frames go to the peer's bounded send queue and its
//! writer task puts them on the wire.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crosswire_proto::{CloseFrame, is_valid_close_code};
use serde::Serialize;
use uuid::Uuid;

use super::outbox::{OutFrame, Outbox, Pushed};
use super::payload::Payload;
use super::request::UpgradeRequest;
use crate::error::{CloseError, SendError};
use crate::pubsub::{Handoff, TopicList};
use crate::shared::Shared;

mod recovery;

/// A connected WebSocket client.
///
/// `Display` prints its id, so `format!("{peer} joined!")` reads like the
/// seed's `` `${peer} joined!` ``.
///
/// A peer lives on the worker thread that accepted its connection. Called
/// from that worker (its own hooks, or another peer's on the same worker),
/// `send` and `close` act at once; called from any other thread they are
/// handed to the peer's worker through its inbox, which keeps the order in
/// which one producer sends, publishes and closes.
#[derive(Clone)]
pub struct Peer {
    inner: Arc<Inner>,
}

struct Inner {
    id: Uuid,
    key: u64,
    /// The worker the connection lives on.
    home: usize,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    request: UpgradeRequest,
    context: Option<Arc<dyn Any + Send + Sync>>,
    protocol: Option<String>,
    /// Topics in subscription order, until the peer has left.
    topics: Mutex<TopicList>,
    /// A close was handed to the home worker already; later ones are no-ops
    /// there anyway, so they are not handed over again.
    close_handed_off: AtomicBool,
}

impl Peer {
    /// Bytes of the shared part every handle points to, and of what it
    /// holds on the heap beyond the outbox and the request (the topic list).
    #[cfg(test)]
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let topics = self.lock_topics().heap_bytes();
        (std::mem::size_of::<Inner>(), topics)
    }

    pub(crate) fn new(
        shared: Arc<Shared>,
        outbox: Arc<Outbox>,
        request: UpgradeRequest,
        context: Option<Arc<dyn Any + Send + Sync>>,
        protocol: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: super::peer_id::new_peer_id(),
                key: shared.next_key(),
                home: shared.topics.home_worker(),
                outbox,
                shared,
                request,
                context,
                protocol,
                topics: Mutex::new(TopicList::default()),
                close_handed_off: AtomicBool::new(false),
            }),
        }
    }

    /// The peer's id, a random UUID (v4).
    pub fn id(&self) -> Uuid {
        self.inner.id
    }

    pub(crate) fn key(&self) -> u64 {
        self.inner.key
    }

    pub(crate) fn outbox(&self) -> &Arc<Outbox> {
        &self.inner.outbox
    }

    /// The server state this peer belongs to.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Delivers what the calling connection's hooks published and the hub
    /// still holds (see `pubsub/held.rs`), before something that must come
    /// after it.
    pub(crate) fn deliver_held(&self) {
        self.inner.shared.topics.deliver_held();
    }

    /// Sends a message: strings, numbers and JSON values as text frames, bytes
    /// as binary frames. Never waits; if the peer is closed the message is
    /// dropped, as with crossws. Use [`Peer::try_send`] to know.
    pub fn send(&self, data: impl Into<Payload>) {
        let _ = self.try_send(data);
    }

    /// Sends a message and reports whether it was queued. From another
    /// thread than the peer's worker, `Ok` means it was handed to that
    /// worker, which queues it (or applies the overflow policy) in order.
    pub fn try_send(&self, data: impl Into<Payload>) -> Result<(), SendError> {
        self.push(OutFrame::from_payload(data.into()))
    }

    /// Sends a message that is never compressed, even to a peer that
    /// negotiated permessage-deflate: for data that is already compressed
    /// (images, archives) or too sensitive to mix with attacker-chosen text
    /// in one compressed stream. Reports whether it was queued.
    pub fn send_uncompressed(&self, data: impl Into<Payload>) -> Result<(), SendError> {
        self.push(OutFrame::from_payload(data.into()).uncompressed())
    }

    /// Sends any `Serialize` value as a compact JSON text frame.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        let payload = Payload::json(value).map_err(|e| SendError::Serialize(e.to_string()))?;
        self.try_send(payload)
    }

    fn push(&self, frame: OutFrame) -> Result<(), SendError> {
        let hub = &self.inner.shared.topics;
        // After what this connection published that could reach the peer.
        hub.deliver_held_before_send(self.inner.key);
        if !hub.is_on(self.inner.home) {
            if self.inner.outbox.is_closing() {
                return Err(SendError::Closed);
            }
            let item = Handoff::Send(Arc::clone(&self.inner.outbox), frame);
            return hub
                .hand_off(self.inner.home, item)
                .map_err(|_| SendError::QueueFull {
                    limit: self.inner.outbox.limit(),
                });
        }
        match self.inner.outbox.push(&frame) {
            Pushed::Queued => Ok(()),
            Pushed::Closed => Err(SendError::Closed),
            Pushed::Overflow => Err(SendError::QueueFull {
                limit: self.inner.outbox.limit(),
            }),
        }
    }

    /// Subscribes to a topic (no effect if already subscribed or closed).
    pub fn subscribe(&self, topic: impl AsRef<str>) {
        let topic = topic.as_ref();
        self.catch_up_home();
        let mut topics = self.lock_topics();
        if !topics.is_open() {
            return;
        }
        if let Some(name) = self.inner.shared.topics.subscribe(
            topic,
            self.inner.home,
            self.inner.key,
            &self.inner.outbox,
        ) {
            topics.push(name);
        }
    }

    /// Unsubscribes from a topic.
    pub fn unsubscribe(&self, topic: impl AsRef<str>) {
        let topic = topic.as_ref();
        self.catch_up_home();
        let mut topics = self.lock_topics();
        if topics.is_open() {
            topics.remove(topic);
            self.inner
                .shared
                .topics
                .unsubscribe(topic, self.inner.home, self.inner.key);
        }
    }

    /// The topics this peer is subscribed to, in subscription order.
    pub fn topics(&self) -> Vec<String> {
        self.lock_topics()
            .as_slice()
            .iter()
            .map(|t| t.to_string())
            .collect()
    }

    /// Sends to every subscriber of `topic` except this peer (which need not be
    /// subscribed). The message is serialized and framed once for everyone.
    /// With a broker configured it also goes to the other nodes' subscribers,
    /// without waiting. Works in the `close` hook too.
    pub fn publish(&self, topic: impl AsRef<str>, data: impl Into<Payload>) {
        self.inner
            .shared
            .publish(topic.as_ref(), data.into(), Some(self.inner.key));
    }

    /// Every connected peer of this server, in the order they connected.
    /// With a broker, peers of other nodes are not listed: peers are local.
    pub fn peers(&self) -> Vec<Peer> {
        self.inner.shared.peers()
    }

    /// The request that opened this connection.
    pub fn request(&self) -> &UpgradeRequest {
        &self.inner.request
    }

    /// The client's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.request.remote_address()
    }

    /// A route parameter, such as `room` for the route `/rooms/{room}`, as
    /// sent (percent-encoded; see [`UpgradeRequest::param`]).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.request.param(name)
    }

    /// A route parameter percent-decoded, as HTTP handlers get it (see
    /// [`UpgradeRequest::param_decoded`]).
    pub fn param_decoded(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.inner.request.param_decoded(name)
    }

    /// The context the `upgrade` hook set, if it has type `T`.
    pub fn context<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.inner.context.as_deref()?.downcast_ref::<T>()
    }

    /// The subprotocol selected during the upgrade.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.protocol.as_deref()
    }

    /// Bytes queued for this peer and not yet written to the socket.
    pub fn buffered_amount(&self) -> usize {
        self.inner
            .shared
            .topics
            .deliver_held_before_send(self.inner.key);
        self.inner.outbox.buffered_amount()
    }

    /// Waits until everything queued so far has been written to the socket
    /// (or the connection is gone).
    pub async fn wait_for_drain(&self) {
        self.deliver_held();
        self.inner.outbox.wait_for_drain().await;
    }

    /// True until a close has started.
    pub fn is_open(&self) -> bool {
        !self.inner.outbox.is_closing()
    }

    /// Starts the closing handshake with `code` and `reason` after what is
    /// already queued. The code must be valid on the wire and the reason at
    /// most 123 bytes.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), CloseError> {
        if !is_valid_close_code(code) {
            return Err(CloseError::InvalidCode(code));
        }
        if reason.len() > 123 {
            return Err(CloseError::ReasonTooLong(reason.len()));
        }
        let close = CloseFrame {
            code,
            reason: reason.to_owned(),
        };
        let hub = &self.inner.shared.topics;
        hub.deliver_held();
        if hub.is_on(self.inner.home) {
            self.inner.outbox.close(Some(&close));
        } else if !self.inner.close_handed_off.swap(true, Ordering::AcqRel) {
            // A close is never refused by an inbox.
            let _ = hub.hand_off(
                self.inner.home,
                Handoff::Close(Arc::clone(&self.inner.outbox), close),
            );
        }
        Ok(())
    }

    /// Drops the connection at once, without a close frame.
    pub fn terminate(&self) {
        self.inner.outbox.terminate();
    }

    /// Leaves every topic and refuses later subscriptions.
    pub(crate) fn leave_topics(&self) {
        let list = self.lock_topics().leave();
        let hub = &self.inner.shared.topics;
        for topic in list {
            hub.unsubscribe(&topic, self.inner.home, self.inner.key);
        }
    }

    /// Has this peer's worker carry out what the calling thread handed it,
    /// before the peer joins or leaves a topic from another thread (see
    /// `TopicHub::catch_up_before_direct`); called before any lock is taken.
    fn catch_up_home(&self) {
        self.inner
            .shared
            .topics
            .catch_up_before_direct(self.inner.home);
    }

    fn lock_topics(&self) -> std::sync::MutexGuard<'_, TopicList> {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner.id, f)
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peer")
            .field("id", &self.inner.id)
            .field("remote", &self.inner.request.remote_address())
            .field("path", &self.inner.request.path())
            .finish()
    }
}

impl PartialEq for Peer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Peer {}
