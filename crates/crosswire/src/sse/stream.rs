//! [`EventStream`], the handle a handler pushes events through, and
//! [`create_event_stream`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use crosswire_proto::sse::encode_comment;
use http::request::Parts;
use http::{Extensions, HeaderMap, StatusCode};

use super::body;
use super::core::{Ended, StreamCore};
use super::events::IntoEvents;
use super::queue::Pushed;
use crate::config::SseConfig;
use crate::error::PushError;
use crate::handle::ServerHandle;

/// The request-side input of [`create_event_stream`]: an axum
/// [`Request`](axum::extract::Request) or its [`Parts`].
///
/// Sealed: only the request types above implement it.
pub trait RequestHead: sealed::Sealed {
    /// The request headers (for `Last-Event-ID`).
    fn headers(&self) -> &HeaderMap;
    /// The request extensions (where Crosswire puts its [`ServerHandle`]).
    fn extensions(&self) -> &Extensions;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for http::request::Parts {}
    impl<B> Sealed for http::Request<B> {}
}

impl RequestHead for Parts {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl<B> RequestHead for http::Request<B> {
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn extensions(&self) -> &Extensions {
        self.extensions()
    }
}

/// Starts an event stream for `request`, h3's `createEventStream(event)`.
///
/// Settings come from the server's `[sse]` config, and topics work, when the
/// request was routed by a Crosswire server; elsewhere (a plain axum router)
/// the stream uses the default settings and cannot join topics.
pub fn create_event_stream(request: &impl RequestHead) -> EventStream {
    let server = request.extensions().get::<ServerHandle>();
    let config = server.map_or_else(SseConfig::default, |s| s.shared().sse.clone());
    let core = Arc::new(StreamCore::new(
        server.map(|s| Arc::clone(s.shared())),
        config.queue_bytes,
    ));
    // Browsers send the id as UTF-8; bytes that are not are replaced, so a
    // header that is there always counts as one (an id the history cannot
    // read then gets its recovery signal rather than none).
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    tracing::debug!(target: "crosswire::sse", stream = core.key(), last_event_id, "event stream created");
    EventStream {
        handle: Arc::new(Handle {
            core,
            last_event_id,
            keep_alive: config.keep_alive,
            sent: AtomicBool::new(false),
        }),
    }
}

/// A Server-Sent Events stream: push events now, return [`EventStream::send`]
/// as the response, and push more from anywhere for as long as it is open.
///
/// A cheap handle (one `Arc`): clone it into the tasks that produce events.
/// Pushing never waits: events go to a queue bounded by `[sse] queue_bytes`,
/// and a client too slow to keep up is disconnected rather than allowed to
/// pin more memory. See the [module docs](super) for an example.
#[derive(Clone)]
pub struct EventStream {
    handle: Arc<Handle>,
}

/// Shared by the clones of one `EventStream`; its drop means no handle is left.
struct Handle {
    core: Arc<StreamCore>,
    last_event_id: Option<String>,
    keep_alive: Duration,
    sent: AtomicBool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // A stream nobody can push to and nobody will read is over. Once
        // sent, the response body owns its end instead (topics may still
        // feed it).
        if !self.sent.load(Ordering::Acquire) {
            self.core.close(Ended::NeverSent);
        }
    }
}

impl EventStream {
    fn core(&self) -> &Arc<StreamCore> {
        &self.handle.core
    }

    /// Pushes one or more events (see [`IntoEvents`]): a string is one
    /// `data` event, an [`SseEvent`](super::SseEvent) sets any field, a list
    /// is one event per item. Pushes after the stream closed are ignored; use
    /// [`EventStream::try_push`] to know.
    pub fn push(&self, events: impl IntoEvents) {
        let _ = self.try_push(events);
    }

    /// Pushes events and reports whether they were queued.
    pub fn try_push(&self, events: impl IntoEvents) -> Result<(), PushError> {
        if self.core().queue.is_closed() {
            return Err(PushError::Closed);
        }
        let pushed = self.core().push_with(|out| events.encode_into(out));
        self.pushed(pushed)
    }

    /// Pushes a comment (`: text`), which clients ignore: useful as a
    /// heartbeat of your own or for debugging with `curl`.
    pub fn push_comment(&self, text: &str) {
        let _ = self.queue(encode_comment(text));
    }

    fn queue(&self, chunk: bytes::Bytes) -> Result<(), PushError> {
        let pushed = self.core().push(chunk);
        self.pushed(pushed)
    }

    fn pushed(&self, pushed: Pushed) -> Result<(), PushError> {
        match pushed {
            Pushed::Queued => Ok(()),
            Pushed::Closed => Err(PushError::Closed),
            Pushed::Overflow => Err(PushError::QueueFull {
                limit: self.core().queue.limit(),
            }),
        }
    }

    /// Holds pushed events back (they still count against the queue budget)
    /// until [`flush`](EventStream::flush), [`resume`](EventStream::resume)
    /// or [`close`](EventStream::close).
    pub fn pause(&self) {
        self.core().catch_up_home();
        self.core().queue.pause();
    }

    /// Sends what `pause` held and stops holding.
    pub fn resume(&self) {
        self.core().catch_up_home();
        self.core().queue.resume();
    }

    /// Sends what `pause` held; later pushes are still held while paused.
    pub fn flush(&self) {
        self.core().catch_up_home();
        self.core().queue.flush();
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.core().queue.is_paused()
    }

    /// Closes the stream: what is queued (held events too) is still sent,
    /// then the response ends. Runs the `on_closed` callbacks. Calling it
    /// again does nothing.
    pub fn close(&self) {
        self.core().close(Ended::Closed);
    }

    /// True once the stream is closed, for whatever reason.
    pub fn is_closed(&self) -> bool {
        self.core().is_finished()
    }

    /// Completes once the stream is closed: by [`close`](EventStream::close),
    /// by the client leaving, by a full queue or by server shutdown. Handy in
    /// a `select!` that produces events.
    pub async fn closed(&self) {
        self.core().closed().await;
    }

    /// Runs `callback` once the stream is closed, for whatever reason: the
    /// client disconnected, [`close`](EventStream::close) was called, the
    /// queue overflowed, the server shut down, or the stream was dropped
    /// without being sent. Several callbacks run in the order they were
    /// added, on a task of their own; one that panics is logged and the
    /// others still run. Added after the close, it runs at once.
    ///
    /// The stream is already closed when callbacks run, so they need not call
    /// `close`. A callback that holds a clone of the stream keeps it alive
    /// until the stream closes, which is harmless once it is sent.
    pub fn on_closed<F, Fut>(&self, callback: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.core()
            .on_closed(Box::new(move || Box::pin(async move { callback().await })));
    }

    /// The `Last-Event-ID` header of the request: the id of the last event a
    /// reconnecting `EventSource` received, so the stream can resume after it.
    pub fn last_event_id(&self) -> Option<&str> {
        self.handle.last_event_id.as_deref()
    }

    /// Makes the stream receive, as `data:` events, every text message
    /// published to `topic` by WebSocket peers or the server. The stream
    /// leaves its topics when it closes. Without a Crosswire server behind
    /// the request, this logs a warning and does nothing.
    ///
    /// When `topic` keeps history (`[[history]]`), each event carries
    /// `id: <epoch>:<offset>`, and a reconnecting `EventSource`'s
    /// `Last-Event-ID` is honoured: what was published after it is sent
    /// first, then the live events, with no gap and no duplicate. When that
    /// is not possible, an `event: recovery` comes first (see
    /// [`crate::history`]), as it does when this is called outside any
    /// tokio runtime and recovering would mean reading a broker's log. A
    /// stream follows one history topic this way;
    /// for more, use [`subscribe_with_recovery`](EventStream::subscribe_with_recovery)
    /// with positions the app keeps.
    pub fn subscribe(&self, topic: impl AsRef<str>) {
        let topic = topic.as_ref();
        if self.core().server().is_none() {
            tracing::warn!(target: "crosswire::sse", topic, "subscribe needs a stream created from a request routed by a crosswire server");
            return;
        }
        let parsed = self
            .last_event_id()
            .map(str::parse::<crate::history::StreamPosition>);
        let since = match parsed {
            None => crate::history::Since::Nothing,
            Some(Ok(position)) => crate::history::Since::At(position),
            Some(Err(_)) => crate::history::Since::Unreadable,
        };
        self.core().subscribe_recovering(topic, since);
    }

    /// Subscribes to `topic` (as [`subscribe`](EventStream::subscribe)),
    /// first sending what was published after `since` rather than after
    /// the request's `Last-Event-ID`; an `event: recovery` is sent when that
    /// is not possible, and the result says which happened (with a broker
    /// that keeps the history, once its log was read).
    pub async fn subscribe_with_recovery(
        &self,
        topic: impl AsRef<str>,
        since: Option<&crate::history::StreamPosition>,
    ) -> crate::history::Recovery {
        let since = since
            .cloned()
            .map_or(crate::history::Since::Nothing, crate::history::Since::At);
        self.core()
            .subscribe_recovering_now(topic.as_ref(), since)
            .await
    }

    /// Leaves a topic.
    pub fn unsubscribe(&self, topic: impl AsRef<str>) {
        self.core().unsubscribe(topic.as_ref());
    }

    /// The topics this stream receives, in subscription order.
    pub fn topics(&self) -> Vec<String> {
        self.core().topics()
    }

    /// Bytes of events queued and not yet handed to the connection.
    pub fn buffered_amount(&self) -> usize {
        self.core().catch_up_home();
        self.core().queue.buffered_amount()
    }

    /// Waits until everything queued so far was handed to the connection (or
    /// the stream closed). Events held by `pause` are not handed over, so
    /// this waits for them too.
    pub async fn wait_for_drain(&self) {
        self.core().catch_up_home();
        self.core().queue.wait_for_drain().await;
    }

    /// The response that carries the stream: `200`, `text/event-stream`,
    /// no caching, no proxy buffering. Events pushed before this are sent
    /// first, in order. A stream can be sent once; sending a clone again
    /// answers `500`.
    #[must_use = "the stream reaches the client only when this response is returned"]
    pub fn send(self) -> Response {
        if self.handle.sent.swap(true, Ordering::AcqRel) {
            tracing::error!(target: "crosswire::sse", stream = self.core().key(), "event stream sent twice");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "event stream sent twice\n",
            )
                .into_response();
        }
        let shutdown = self.core().server().map(|server| server.shutdown_signal());
        body::response(Arc::clone(self.core()), self.handle.keep_alive, shutdown)
    }
}

/// Returning the stream from a handler sends it.
impl IntoResponse for EventStream {
    fn into_response(self) -> Response {
        self.send()
    }
}

/// `async fn handler(stream: EventStream) -> Response` creates the stream
/// from the request, like [`create_event_stream`].
impl<S: Send + Sync> FromRequestParts<S> for EventStream {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(create_event_stream(parts))
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("key", &self.core().key())
            .field("closed", &self.is_closed())
            .field("buffered", &self.buffered_amount())
            .field("last_event_id", &self.handle.last_event_id)
            .finish()
    }
}
