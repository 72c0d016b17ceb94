//! The accept loop and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::accept::accept_loop;
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
    close_timeout: Duration,
    workers: usize,
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
        Ok(Self {
            listeners,
            addrs,
            routes: Arc::new(routes),
            header_read_timeout: config.server.header_read_timeout,
            close_timeout: config.websocket.close_timeout,
            workers: config.server.workers.resolve(),
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
        let (stop_tx, stop_rx) = watch::channel(false);
        let pool = if self.workers > 1 {
            Some(Arc::new(WorkerPool::start(
                self.workers,
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
                self.header_read_timeout,
                pool.clone(),
            ));
        }
        let keepalive = tokio::spawn(crate::ws::keepalive::run(Arc::clone(&self.routes.shared)));
        let memory = tokio::spawn(super::memory::run(Arc::clone(&self.routes.tracker)));
        shutdown.await;
        keepalive.abort();
        memory.abort();
        tracing::info!(target: "crosswire::server", "shutting down");
        let _ = stop_tx.send(true);
        // Event streams end on their own signal: they are responses still
        // being written, which a graceful HTTP shutdown would wait on forever.
        self.routes.shared.begin_shutdown();
        let (code, reason) = shutdown_close();
        for peer in self.routes.shared.peers() {
            let _ = peer.close(code, reason);
        }
        // Each connection's close handshake is itself bounded by the close
        // timeout; allow that plus a little for the hooks.
        let grace = self.close_timeout * 2 + Duration::from_secs(1);
        if tokio::time::timeout(grace, self.routes.tracker.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(target: "crosswire::server", "connections still open after the shutdown grace period");
        }
        // After the close hooks, whose publishes may still go out.
        self.routes.shared.stop_broker();
        if let Some(pool) = pool {
            pool.join().await;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// The close code peers get at shutdown: 1001 (going away), or 1012
/// (service restart) when `crosswire dev` runs the app (it sets
/// `CROSSWIRE_DEV`), so clients know to reconnect to the new build.
pub(crate) fn shutdown_close() -> (u16, &'static str) {
    if std::env::var_os("CROSSWIRE_DEV").is_some() {
        (1012, "service restart")
    } else {
        (1001, "server shutting down")
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
