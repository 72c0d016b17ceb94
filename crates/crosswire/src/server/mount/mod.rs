//! Mounted mode: Crosswire's WebSocket routes, event streams and
//! [`ServerHandle`] inside an axum app that someone else serves.
//!
//! Most teams that need WebSockets already run an axum `Router` with their
//! own middleware and `axum::serve`. [`App`](crate::App) asks them to hand
//! over the listener; [`Crosswire`] asks for nothing: its routes are plain
//! axum [`MethodRouter`]s, its [`layer`](Crosswire::layer) is a tower layer,
//! and their `axum::serve`, their outer layers and their `Router::oneshot`
//! tests see every route.
//!
//! Hooks, peers, topics, publish, event streams and the per-connection
//! limits are the same code as under `App`: the upgrade is validated, the
//! `Origin` checked and the `upgrade` hook run by the same function, and the
//! connection is served by the same two tasks. What differs is the ground
//! it runs on, and that has a cost (see the [`Crosswire`] docs): `App`'s own
//! accept loop stays the fast path.

mod endpoint;
mod layer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::MethodRouter;

use self::endpoint::Endpoint;
pub use self::layer::{CrosswireLayer, CrosswireService};
use super::background::Background;
use super::drain::drain;
use super::priority::Tiers;
use super::service::Routes;
use crate::broker::link::ErrorCallback;
use crate::broker::{Broker, BrokerError};
use crate::config::{Config, Workers};
use crate::error::ServeError;
use crate::handle::ServerHandle;
use crate::ws::{WebSocketHandler, dyn_handler};

/// Crosswire mounted in an axum app that the app serves itself.
///
/// ```no_run
/// use axum::Router;
/// use axum::routing::{get, post};
/// use crosswire::prelude::*;
///
/// # fn chat() -> impl WebSocketHandler { hooks() }
/// async fn announce(server: ServerHandle, body: String) -> &'static str {
///     server.publish("chat", body);
///     "sent"
/// }
///
/// async fn sse(stream: EventStream) -> axum::response::Response {
///     stream.subscribe("chat");
///     stream.send()
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let crosswire = Crosswire::new(Config::load()?)?; // hub, topics, limits
/// let app = Router::new()
///     .route("/api/health", get(|| async { "ok" }))
///     .route("/api/ws/chat", crosswire.websocket(chat()))
///     .route("/api/sse", get(sse))
///     .route("/api/announce", post(announce)) // the ServerHandle extractor works
///     .layer(crosswire.layer());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let drain = crosswire.clone();
/// axum::serve(
///     listener,
///     app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
/// )
/// .with_graceful_shutdown(async move {
///     crosswire::shutdown_signal().await;
///     drain.shutdown().await; // close the peers, end the event streams
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// # What it shares with `App`, and what it costs
///
/// The same: every hook, [`Peer`](crate::Peer) and topic; [`ServerHandle`]
/// and [`EventStream`](crate::EventStream) with their settings; the
/// `[websocket]` limits (message and frame size, rate limits, send queue and
/// `[server] max_queued_bytes`, the `Origin` check), keep-alive pings and
/// idle timeouts, `[server] max_connections` for WebSockets, the broker, and
/// a graceful shutdown that closes every peer with
/// `[server] shutdown_close_code`.
///
/// The cost, and what works differently:
///
/// - **The stream.** The connection comes back from `hyper::upgrade::on` as
///   hyper's boxed `Upgraded` inside axum's own wrapper, not as the socket:
///   every read and write goes through a virtual call and a split lock, and
///   reads are copied once through a stack buffer. `App` reads and writes
///   the socket itself.
/// - **The threads.** Connections run as tasks on the app's runtime (usually
///   tokio's multi-threaded, work-stealing one), with one topic index for
///   all of them, not on `App`'s worker threads with one index per core:
///   `[server] workers` does not apply.
/// - **What the app's server owns.** Listening (`host`, `port`), TLS
///   (`[server.tls]` is not used: terminate TLS in the app's server or in
///   front of it), HTTP/2, `header_read_timeout` and `max_header_bytes`.
///   `max_connections` counts WebSocket connections only; plain HTTP
///   connections are the app server's.
/// - **The client's address.** [`Peer::remote_address`](crate::Peer::remote_address)
///   and `[server] max_handshakes_per_ip_per_second` need it, and axum only
///   has it when the app is served with
///   `into_make_service_with_connect_info::<SocketAddr>()`. Without it the
///   address reads `0.0.0.0:0` and the per-address handshake limit is off.
/// - **Metrics.** With `[metrics] enabled` the counters count, mounted
///   upgrades by status included, but nothing serves them by itself (not
///   on the app's port, not on `[metrics] listen`): serve
///   [`ServerHandle::metrics_text`] from a route of the app's.
/// - **Shutdown.** The app's server decides when to stop; call
///   [`Crosswire::shutdown`] in its graceful-shutdown future so peers get
///   their close frame and event streams end (axum waits for open responses,
///   and an event stream never ends by itself).
///
/// Create it inside the tokio runtime that serves the app: it starts the
/// keep-alive sweep and the queue-budget task there (stopped when the last
/// clone, and every route made from it, is dropped). Cloning is cheap.
#[derive(Clone)]
#[must_use]
pub struct Crosswire {
    inner: Arc<Inner>,
}

struct Inner {
    routes: Arc<Routes>,
    shutdown_timeout: Duration,
    /// Where `[metrics] listen` serves the metrics, when set.
    metrics_addr: Option<std::net::SocketAddr>,
    /// The keep-alive sweep, the queue-budget and memory tasks and the
    /// metrics' listener: they end with the last route (aborted on drop).
    _background: Background,
}

/// Settings for a [`Crosswire`] beyond its config: a broker, its error
/// callback.
#[must_use]
pub struct CrosswireBuilder {
    config: Config,
    broker: Option<Arc<dyn Broker>>,
    on_broker_error: Option<ErrorCallback>,
}

impl CrosswireBuilder {
    /// Shares topics with other server processes through `broker`, as
    /// [`App::broker`](crate::App::broker).
    pub fn broker(mut self, broker: impl Broker) -> Self {
        self.broker = Some(Arc::new(broker));
        self
    }

    /// Calls `callback` with every broker failure, as
    /// [`App::on_broker_error`](crate::App::on_broker_error).
    pub fn on_broker_error(
        mut self,
        callback: impl Fn(&BrokerError) + Send + Sync + 'static,
    ) -> Self {
        self.on_broker_error = Some(Arc::new(callback));
        self
    }

    /// Checks the settings, starts the background tasks (and the broker) on
    /// the current tokio runtime.
    pub fn build(self) -> Result<Crosswire, ServeError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ServeError::NoRuntime);
        }
        let mut config = self.config;
        // One topic index for every connection: they run wherever the
        // app's runtime puts them (see the pubsub module on workers).
        config.server.workers = Workers::Count(std::num::NonZeroUsize::MIN);
        if config.server.tls.is_enabled() {
            tracing::warn!(
                target: "crosswire::server",
                setting = "[server.tls]",
                "mounted in an axum app, Crosswire does not terminate TLS: the app's server (or a proxy) does"
            );
            config.server.tls = crate::config::TlsConfig::default();
        }
        let routes = Routes::new(
            Tiers::build(Vec::new())?,
            Router::new(),
            Tiers::build(Vec::new())?,
            &config,
            self.broker,
            self.on_broker_error,
        )?;
        let routes = Arc::new(routes);
        let mut background = Background::start(&routes);
        // `[metrics] listen` is an address of Crosswire's own, so it is
        // served here as under `App`; on the app's port the app routes
        // `ServerHandle::metrics_text` where it wants it.
        let mut metrics_addr = None;
        if config.metrics.enabled
            && let Some(addr) = &config.metrics.listen
        {
            let (listener, local, path) =
                super::listener::bind_metrics(addr, &config.metrics.path)?;
            tracing::info!(target: "crosswire::server", addr = %local, path, "serving metrics");
            background.serve_metrics(&routes, listener, path, config.server.header_read_timeout);
            metrics_addr = Some(local);
        }
        Ok(Crosswire {
            inner: Arc::new(Inner {
                routes,
                shutdown_timeout: config.server.shutdown_timeout,
                metrics_addr,
                _background: background,
            }),
        })
    }
}

impl Crosswire {
    /// Crosswire with `config` (see [`Config::load`]) and no broker.
    pub fn new(config: Config) -> Result<Self, ServeError> {
        Self::builder(config).build()
    }

    /// A builder, for a broker.
    pub fn builder(config: Config) -> CrosswireBuilder {
        CrosswireBuilder {
            config,
            broker: None,
            on_broker_error: None,
        }
    }

    /// A route serving `handler`: upgrade requests go to its hooks, plain
    /// requests get `426 Upgrade Required`, as on a WebSocket-only path of
    /// [`App`](crate::App). Put it on a path with `Router::route`; `{id}`
    /// parameters reach [`Peer::param`](crate::Peer::param), and hooks see the
    /// full URL under `Router::nest`.
    pub fn websocket<S>(&self, handler: impl WebSocketHandler) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.endpoint(handler).into_method_router()
    }

    /// A route on which upgrade requests go to `handler` and every other
    /// request to `http` (a page and its WebSocket on one path).
    pub fn websocket_or<S>(
        &self,
        handler: impl WebSocketHandler,
        http: MethodRouter<S>,
    ) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.endpoint(handler).into_method_router_or(http)
    }

    /// The layer that gives every route under it the [`ServerHandle`]
    /// extractor and event streams their settings and topics (with the
    /// `[sse] allowed_origins` check). Add it with `Router::layer` after the
    /// routes that use them.
    pub fn layer(&self) -> CrosswireLayer {
        CrosswireLayer::new(Arc::clone(&self.inner.routes))
    }

    /// A handle for publishing and listing peers from anywhere.
    pub fn handle(&self) -> ServerHandle {
        self.inner.routes.handle.clone()
    }

    /// The address `[metrics] listen` serves the metrics on (with the real
    /// port when bound to 0); `None` when metrics are off or not given an
    /// address of their own.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.metrics_addr
    }

    /// Drains gracefully, as [`Server::run_until`](crate::Server::run_until)
    /// does after its signal: new upgrades and event streams get `503`,
    /// event streams end, every peer is closed with
    /// `[server] shutdown_close_code`, and this waits (up to
    /// `[server] shutdown_timeout`) for their `close` hooks; the broker
    /// stops last. Await it inside the app server's graceful-shutdown future,
    /// so the server waits for it before it stops.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        async move {
            let routes = &inner.routes;
            tracing::info!(target: "crosswire::server", connections = routes.tracker.live(), timeout = ?inner.shutdown_timeout, "shutting down: draining");
            let drained = drain(routes, inner.shutdown_timeout).await;
            routes.shared.stop_broker();
            drained.log();
        }
    }

    fn endpoint(&self, handler: impl WebSocketHandler) -> Endpoint {
        let handler = dyn_handler(handler);
        Endpoint::new(self.clone(), handler)
    }

    fn routes(&self) -> &Arc<Routes> {
        &self.inner.routes
    }
}

impl std::fmt::Debug for Crosswire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crosswire")
            .field("peers", &self.inner.routes.shared.peer_count())
            .field("connections", &self.inner.routes.tracker.live())
            .finish()
    }
}

impl std::fmt::Debug for CrosswireBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrosswireBuilder")
            .field("broker", &self.broker)
            .finish()
    }
}
