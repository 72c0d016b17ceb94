//! The [`App`] builder: WebSocket handlers and HTTP routes on paths.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;
use tokio::net::TcpListener;

use super::listener::Server;
use super::priority::{Tiers, http_router};
use super::service::{Routes, WsRoute};
use crate::broker::link::ErrorCallback;
use crate::broker::{Broker, BrokerError};
use crate::config::Config;
use crate::error::ServeError;
use crate::ws::{DynHandler, WebSocketHandler, dyn_handler};

/// Routes and settings of a Crosswire server.
///
/// WebSocket handlers and axum HTTP routes share one path space: on a path
/// with both, upgrade requests go to the hooks and plain requests to the HTTP
/// handler; a WebSocket-only path answers plain requests with
/// `426 Upgrade Required`; an upgrade request to a path with no WebSocket
/// handler gets `404`.
///
/// Paths use axum's syntax: `/users/{id}`, `/files/{*rest}`. A static
/// segment beats a parameter, and a parameter beats a catch-all, even when a
/// parameter and a catch-all sit side by side (`/users/{id}` and
/// `/users/{*rest}`), which a single axum router refuses.
///
/// ```no_run
/// use crosswire::prelude::*;
/// use axum::routing::get;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let echo = hooks().message(|peer: Peer, message: Message| async move {
///     peer.send(message);
/// });
/// let server = App::new()
///     .websocket("/echo", echo)
///     .route("/health", get(|| async { "ok" }))
///     .listen()
///     .await?;
/// server.run().await?;
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct App {
    config: Config,
    websockets: Vec<(String, Arc<dyn DynHandler>)>,
    /// Merged routers; the routes below are added when the server is built,
    /// so each can be put in its priority tier.
    http: Router,
    http_routes: Vec<(String, MethodRouter)>,
    http_paths: HashSet<String>,
    public: Option<tower_http::services::ServeDir>,
    broker: Option<Arc<dyn Broker>>,
    on_broker_error: Option<ErrorCallback>,
}

impl App {
    /// An app with the default settings.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// An app with the given settings (see [`Config::load`]).
    pub fn with_config(config: Config) -> Self {
        Self {
            config,
            websockets: Vec::new(),
            http: Router::new(),
            http_routes: Vec::new(),
            http_paths: HashSet::new(),
            public: None,
            broker: None,
            on_broker_error: None,
        }
    }

    /// The app's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves a WebSocket handler at `path`.
    pub fn websocket(mut self, path: &str, handler: impl WebSocketHandler) -> Self {
        let handler = dyn_handler(handler);
        self.websockets.push((path.to_owned(), handler));
        self
    }

    /// Serves an axum method router at `path` (extractors work as usual,
    /// including [`ServerHandle`](crate::ServerHandle)).
    pub fn route(mut self, path: &str, method_router: MethodRouter) -> Self {
        self.http_routes.push((path.to_owned(), method_router));
        self.http_paths.insert(path.to_owned());
        self
    }

    /// Merges a whole axum router (its fallback included, unless
    /// [`App::public_dir`] sets one). Paths that also have a WebSocket handler
    /// should be registered with [`App::route`] so plain requests reach them
    /// instead of a `426`.
    pub fn merge(mut self, router: Router) -> Self {
        self.http = self.http.merge(router);
        self
    }

    /// Serves the files under `dir` for requests no route matched, with
    /// `index.html` for directories (`public/index.html` answers `/`).
    pub fn public_dir(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        let files = tower_http::services::ServeDir::new(dir.as_ref())
            .append_index_html_on_directories(true);
        self.public = Some(files);
        self
    }

    /// Shares topics with other server processes through `broker` (see
    /// [`crate::broker`] for what it guarantees). Without one, the default,
    /// the server is a single node and its topics are its own.
    pub fn broker(mut self, broker: impl Broker) -> Self {
        self.broker = Some(Arc::new(broker));
        self
    }

    /// Calls `callback` with every broker failure (after it is logged): lost
    /// connections, failed subscribes, dropped publishes, undecodable
    /// messages. It runs on the broker's task; keep it short, it must not
    /// block. A panic in it is logged and ignored.
    pub fn on_broker_error(
        mut self,
        callback: impl Fn(&BrokerError) + Send + Sync + 'static,
    ) -> Self {
        self.on_broker_error = Some(Arc::new(callback));
        self
    }

    /// Binds `[server] host` and `port` from the config.
    pub async fn listen(self) -> Result<Server, ServeError> {
        let addr = self.config.listen_addr();
        self.listen_on(&addr).await
    }

    /// Binds `addr` (`"127.0.0.1:0"` picks a free port).
    pub async fn listen_on(self, addr: &str) -> Result<Server, ServeError> {
        let listener = super::bind::bind_str(addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        self.serve_listeners(vec![listener])
    }

    /// Binds every address in `addrs` and serves them all (IPv4 and IPv6
    /// loopback together, say).
    pub async fn listen_on_all(self, addrs: &[SocketAddr]) -> Result<Server, ServeError> {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in addrs {
            let listener = super::bind::bind(*addr).map_err(|source| ServeError::Bind {
                addr: addr.to_string(),
                source,
            })?;
            listeners.push(listener);
        }
        self.serve_listeners(listeners)
    }

    /// Serves already-bound listeners.
    pub fn serve_listeners(self, listeners: Vec<TcpListener>) -> Result<Server, ServeError> {
        let ws = self
            .websockets
            .into_iter()
            .map(|(path, handler)| {
                let pattern = Arc::from(path.as_str());
                (path, WsRoute { handler, pattern })
            })
            .collect();
        let ws = Tiers::build(ws)?;
        let http_patterns = Tiers::build(self.http_paths.into_iter().map(|p| (p, ())).collect())?;
        let http = http_router(self.http, self.http_routes, self.public)?;
        let routes = Routes::new(
            ws,
            http,
            http_patterns,
            &self.config,
            self.broker,
            self.on_broker_error,
        )?;
        Server::new(listeners, routes, &self.config)
    }
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field(
                "websockets",
                &self.websockets.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("http_paths", &self.http_paths)
            .field("public", &self.public.is_some())
            .field("broker", &self.broker)
            .finish()
    }
}
