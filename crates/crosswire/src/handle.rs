//! A handle on a running server, for code outside WebSocket hooks.
//!
//! HTTP handlers take it as an extractor (`async fn h(server: ServerHandle)`)
//! to publish to topics server-wide or list peers, which is how a plain POST
//! reaches every WebSocket subscriber.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::shared::Shared;
use crate::tls::{TlsError, TlsState};
use crate::ws::{Payload, Peer};

/// A cheap, cloneable handle on a running server.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    tls: Option<Arc<TlsState>>,
}

impl ServerHandle {
    pub(crate) fn new(shared: Arc<Shared>, tls: Option<Arc<TlsState>>) -> Self {
        Self { shared, tls }
    }

    /// Reads `[server.tls] cert` and `key` again and serves the new
    /// certificate on every later TLS handshake; open connections are not
    /// touched. `SIGHUP` does the same. On error (a file missing, bad, or the
    /// key not matching) the previous certificate stays in use.
    pub fn reload_tls(&self) -> Result<(), TlsError> {
        match &self.tls {
            Some(tls) => tls.reload(),
            None => Err(TlsError::NotConfigured),
        }
    }

    /// The server state behind the handle (event streams subscribe through it).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Sends to every subscriber of `topic`, each exactly once, framed once
    /// for all: WebSocket peers get the frame, event streams a `data:` event
    /// (text only; binary data has no event stream form). With a broker
    /// configured it also goes to the other nodes' subscribers, without
    /// waiting. Returns how many subscribers of this node it was queued for,
    /// counting those on other worker threads that it was handed to. From a
    /// WebSocket hook the delivery waits for the end of the hook's poll,
    /// together with the connection's other publishes, and the count is of
    /// the subscribers it is for at the time of the call. Works from any
    /// thread.
    pub fn publish(&self, topic: impl AsRef<str>, data: impl Into<Payload>) -> usize {
        self.shared.publish(topic.as_ref(), data.into(), None)
    }

    /// Like [`publish`](ServerHandle::publish), with the payload built from
    /// the position the publish gets in `topic`'s history (`None` when the
    /// topic keeps none; see [`crate::history`]), so the message can carry
    /// it to WebSocket clients. `build` runs while the topic's order is
    /// held: keep it to building the payload.
    pub fn publish_with<P: Into<Payload>>(
        &self,
        topic: impl AsRef<str>,
        build: impl FnOnce(Option<&crate::history::StreamPosition>) -> P,
    ) -> crate::history::Published {
        self.shared
            .publish_with(topic.as_ref(), |position| build(position).into(), None)
    }

    /// The broker's counters: publishes dropped while the broker could not
    /// keep up, bytes waiting. Zeros without a broker.
    pub fn broker_stats(&self) -> crate::broker::BrokerStats {
        self.shared.broker_stats()
    }

    /// What the WebSocket send queues hold against the server's budget
    /// (`[server] max_queued_bytes`), and how many peers it closed.
    pub fn send_queue_stats(&self) -> crate::ws::SendQueueStats {
        self.shared.queue_budget.stats()
    }

    /// What the per-peer rate limits (`[websocket]
    /// max_control_frames_per_second`, `max_messages_per_second`) did.
    pub fn rate_limit_stats(&self) -> crate::ws::RateLimitStats {
        self.shared.rate_counters.stats()
    }

    /// This server's metrics in the Prometheus text format (what `GET
    /// /metrics` answers, without the accept loop's connection gauges);
    /// `None` unless `[metrics] enabled`. For serving them from a route of
    /// the app's own, behind its own authentication, say.
    pub fn metrics_text(&self) -> Option<String> {
        crate::metrics::Scrape::gather(&self.shared, None).map(crate::metrics::Scrape::render)
    }

    /// Every connected peer of this node, in the order they connected. With
    /// a broker, peers of other nodes are not listed: peers are local.
    pub fn peers(&self) -> Vec<Peer> {
        self.shared.peers()
    }

    /// Number of connected peers of this node.
    pub fn peer_count(&self) -> usize {
        self.shared.peer_count()
    }

    /// Every topic with at least one subscriber (WebSocket peer or event
    /// stream) on this node, in no particular order.
    pub fn topics(&self) -> Vec<String> {
        self.shared.topics.topics()
    }

    /// Number of subscribers of `topic` on this node: WebSocket peers and
    /// event streams.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.topics.subscriber_count(topic)
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("peers", &self.shared.peer_count())
            .finish()
    }
}

/// Any handler served by Crosswire can ask for the `ServerHandle`.
impl<S: Send + Sync> FromRequestParts<S> for ServerHandle {
    type Rejection = MissingServerHandle;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ServerHandle>()
            .cloned()
            .ok_or(MissingServerHandle)
    }
}

/// The request was not routed by a Crosswire server, so there is no server to
/// hand out (a router driven by something else). Answers 500.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("ServerHandle is only available to handlers served by crosswire")]
pub struct MissingServerHandle;

impl IntoResponse for MissingServerHandle {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}
