//! The accept loop and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::accept::accept_loop;
use super::background::Background;
use super::drain::drain;
use super::service::Routes;
use super::workers::WorkerPool;
use crate::config::Config;
use crate::error::ServeError;
use crate::handle::ServerHandle;

/// A bound server, ready to run.
///
/// ```no_run
/// # async fn run() -> Result<(), crosswire::ServeError> {
/// let server = crosswire::App::new().listen_on("127.0.0.1:0").await?;
/// let addr = server.local_addr();
/// let handle = server.handle(); // publish from anywhere
/// server.run_until(async { tokio::signal::ctrl_c().await.ok(); }).await
/// # }
/// ```
#[must_use = "a server does nothing until it is run"]
pub struct Server {
    listeners: Vec<TcpListener>,
    addrs: Vec<SocketAddr>,
    routes: Arc<Routes>,
    header_read_timeout: Duration,
    shutdown_timeout: Duration,
    workers: usize,
    pin_workers: bool,
    /// `[metrics] listen`: the metrics' own listener and path, if set.
    metrics: Option<(TcpListener, SocketAddr, String)>,
}

impl Server {
    pub(crate) fn new(
        listeners: Vec<TcpListener>,
        routes: Routes,
        config: &Config,
    ) -> Result<Self, ServeError> {
        if listeners.is_empty() {
            return Err(ServeError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no listener to serve",
            )));
        }
        let addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<Vec<_>, _>>()?;
        super::admission::check_fd_limit(routes.max_connections);
        let metrics = match (&config.metrics.listen, config.metrics.enabled) {
            (Some(addr), true) => Some(bind_metrics(addr, &config.metrics.path)?),
            _ => None,
        };
        Ok(Self {
            metrics,
            listeners,
            addrs,
            routes: Arc::new(routes),
            header_read_timeout: config.server.header_read_timeout,
            shutdown_timeout: config.server.shutdown_timeout,
            workers: config.server.workers.resolve(),
            pin_workers: config.server.pin_workers,
        })
    }

    /// The address of the first listener (with the real port when bound to 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every bound address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The address of the metrics' own listener (`[metrics] listen`, with
    /// the real port when bound to 0); `None` when metrics are off or served
    /// on the app's port.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr, _)| *addr)
    }

    /// A handle for publishing and listing peers while the server runs.
    pub fn handle(&self) -> ServerHandle {
        self.routes.handle.clone()
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run(self) -> Result<(), ServeError> {
        self.run_until(shutdown_signal()).await
    }

    /// Number of worker threads the server runs (`[server] workers`).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: stops
    /// accepting, lets in-flight HTTP requests finish, closes every WebSocket
    /// peer with 1001 and waits (bounded) for their `close` hooks.
    ///
    /// With one worker, connections are served on the runtime that runs this
    /// future. With several, each worker is a thread of its own with a
    /// current-thread runtime, and this runtime only accepts.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        // `stop`: HTTP connections finish what they serve and close; `end`:
        // the listeners stop accepting, once the drain is over.
        let (stop_tx, stop_rx) = watch::channel(false);
        let (end_tx, end_rx) = watch::channel(false);
        let pool = if self.workers > 1 {
            Some(Arc::new(WorkerPool::start(
                self.workers,
                self.pin_workers,
                &self.routes,
                &stop_rx,
                self.header_read_timeout,
            )?))
        } else {
            None
        };
        for (listener, addr) in self.listeners.into_iter().zip(&self.addrs) {
            // Under `crosswire dev` this address is internal and the dev
            // server prints the one to open; saying it at `info` too would
            // put a second URL on the screen.
            if crate::under_dev_server() {
                tracing::debug!(target: "crosswire::server", %addr, workers = self.workers, "listening");
            } else {
                tracing::info!(target: "crosswire::server", %addr, workers = self.workers, "listening");
            }
            tokio::spawn(accept_loop(
                listener,
                Arc::clone(&self.routes),
                stop_rx.clone(),
                end_rx.clone(),
                self.header_read_timeout,
                pool.clone(),
            ));
        }
        let sweeps = Background::start(&self.routes);
        let mut metrics = Background::default();
        if let Some((listener, addr, path)) = self.metrics {
            tracing::info!(target: "crosswire::server", %addr, path, "serving metrics");
            metrics.serve_metrics(&self.routes, listener, path, self.header_read_timeout);
        }
        let tls_reload = crate::tls::reload_on_hangup(self.routes.tls.as_ref());
        shutdown.await;
        if let Some(tls_reload) = tls_reload {
            tls_reload.abort();
        }
        drop(sweeps);
        let connections = self.routes.tracker.live();
        tracing::info!(target: "crosswire::server", connections, timeout = ?self.shutdown_timeout, "shutting down: draining");
        let _ = stop_tx.send(true);
        let drained = drain(&self.routes, self.shutdown_timeout).await;
        // Scraped until here, so the drain itself can be watched.
        drop(metrics);
        let _ = end_tx.send(true);
        // After the close hooks, whose publishes may still go out.
        self.routes.shared.stop_broker();
        if let Some(pool) = pool {
            pool.join().await;
        }
        drained.log();
        Ok(())
    }
}

/// Binds `[metrics] listen` (checked to be a socket address when loaded).
pub(crate) fn bind_metrics(
    addr: &str,
    path: &str,
) -> Result<(TcpListener, SocketAddr, String), ServeError> {
    let bind_error = |source| ServeError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        bind_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "[metrics] listen is not a socket address",
        ))
    })?;
    let listener = super::bind::bind(parsed).map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local, path.to_owned()))
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// Completes on Ctrl-C, or SIGTERM on Unix: the usual reason for a server to
/// stop. [`Server::run`] waits for it; pass it to `run_until` of anything else
/// that should stop the same way.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
