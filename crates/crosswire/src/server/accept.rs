//! Accepting connections and serving HTTP on them.
//!
//! With one worker the accept loop serves each connection on the runtime that
//! runs the server, as a single-threaded server does. With several, it only
//! accepts: each connection goes to the worker with the fewest live
//! connections and stays there for its whole life (its HTTP requests, its
//! upgrade, its WebSocket or event stream).
//!
//! Past `[server] max_connections` live connections, a new one is answered
//! `503` here, before any worker sees it (see `admission`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::Instrument;

use super::acceptor::Acceptor;
use super::admission::{Refusals, admit_another};
use super::body_stall::limit_stalls;
use super::corking::CorkingStream;
use super::direct::{self, Served};
use super::metered::handle_metered;
use super::service::Routes;
use super::tracker::{ConnectionSlot, TaskGuard};
use super::workers::WorkerPool;

/// Accepts on `listener` until `end` turns true (a draining server still
/// accepts, and answers); serves each connection here (`pool` is `None`) or
/// on a worker. `stop` tells HTTP connections to finish.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    routes: Arc<Routes>,
    stop: watch::Receiver<bool>,
    mut end: watch::Receiver<bool>,
    header_read_timeout: Duration,
    pool: Option<Arc<WorkerPool>>,
) {
    let mut refusals = Refusals::default();
    // Connections that go to workers are not registered with this runtime.
    let acceptor = match Acceptor::new(listener, pool.is_some()) {
        Ok(acceptor) => acceptor,
        Err(error) => {
            tracing::error!(target: "crosswire::server", %error, "cannot accept on this listener");
            return;
        }
    };
    loop {
        let (accepted, remote) = tokio::select! {
            accepted = acceptor.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, typically: back off instead of
                    // spinning, and keep serving the connections we have.
                    tracing::warn!(target: "crosswire::server", %error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = end.changed() => return,
        };
        let worker = pool.as_ref().map_or(0, |_| routes.tracker.least_loaded());
        let guard = match admit_another(&routes, worker, Some(remote.ip())) {
            Ok(guard) => guard,
            Err(refusal) => {
                // A 503 would first cost a TLS handshake, the CPU an
                // overloaded server has least of: close at once instead.
                #[cfg(feature = "tls")]
                if routes.tls.is_some() {
                    refusals.close(remote, refusal);
                    continue;
                }
                let Some(stream) = accepted.registered() else {
                    continue;
                };
                refusals.refuse(
                    stream,
                    remote,
                    refusal,
                    header_read_timeout,
                    routes.max_header_bytes,
                );
                continue;
            }
        };
        match &pool {
            None => {
                let Some(stream) = accepted.registered() else {
                    continue;
                };
                let connection =
                    http_connection(stream, remote, &routes, &stop, header_read_timeout, guard);
                tokio::spawn(connection);
            }
            Some(pool) => {
                // Accepted bare: the worker registers it with its own
                // reactor.
                match accepted.into_bare() {
                    Ok(stream) => pool.dispatch(worker, stream, remote, guard).await,
                    Err(error) => {
                        tracing::debug!(target: "crosswire::server", %error, "could not hand a connection to a worker");
                    }
                }
            }
        }
    }
}

/// Serves HTTP/1.1 (with upgrades) on `stream` in a task of the current
/// runtime until the client leaves or the server stops; with `[server.tls]`,
/// after the TLS handshake, and HTTP/2 when the client chose it.
///
/// The task's first request goes on the direct path when it can (`direct`),
/// the rest to hyper (`HyperNext`). A `GET` answered on the direct path is
/// written by a task of its own (`Reply::send`), the size of that writing,
/// and this one ends: an event stream may be open for hours, and this
/// task's future is sized for every state before (the first read, routing,
/// an upgrade; hyper and TLS are boxed). Its future is what this returns;
/// the caller spawns it.
pub(super) fn http_connection(
    stream: TcpStream,
    remote: SocketAddr,
    routes: &Arc<Routes>,
    stop: &watch::Receiver<bool>,
    header_read_timeout: Duration,
    guard: TaskGuard,
) -> impl Future<Output = ()> + Send + 'static {
    let span = tracing::debug_span!(target: "crosswire::server", "http", %remote);
    let routes = Arc::clone(routes);
    let mut stop = stop.clone();
    // A connection accepted while the server drains is served (its requests
    // are answered, with `Connection: close`): only a stop that comes after
    // it was accepted tells it to finish.
    stop.mark_unchanged();
    async move {
        // Held by this task (then by the socket, for hyper) until an
        // upgrade takes it into the WebSocket task.
        #[cfg(feature = "tls")]
        let accepted = super::secure::Accepted {
            remote,
            worker: guard.worker(),
        };
        let slot = ConnectionSlot::new(guard);
        #[cfg(feature = "tls")]
        if let Some(tls) = routes.tls.clone() {
            let service = http_service(&routes, remote, &slot);
            Box::pin(super::secure::serve(
                &tls,
                stream,
                accepted,
                service,
                &routes,
                stop,
                header_read_timeout,
            ))
            .await;
            return;
        }
        let served = direct::serve(
            stream,
            remote,
            &routes,
            &slot,
            header_read_timeout,
            &mut stop,
        )
        .await;
        let hyper_next = HyperNext::new(routes, remote, slot, stop, header_read_timeout);
        match served {
            Served::Done => {}
            Served::Http {
                stream,
                already_read,
            } => Box::pin(hyper_next.serve(stream, already_read)).await,
            Served::Respond(reply, stream) => {
                // A response to a `GET` (an event stream, for hours) gets a
                // task of its own, the size of its writing, and this one
                // ends: its future is sized for every state before.
                let responding = reply.send(stream, Box::new(hyper_next));
                tokio::spawn(responding.instrument(tracing::Span::current()));
            }
        }
    }
    .instrument(span)
}

/// What a connection needs to be served by hyper from its next request on.
pub(super) struct HyperNext {
    routes: Arc<Routes>,
    remote: SocketAddr,
    /// The connection's place in the count, held until the socket closes.
    slot: ConnectionSlot,
    pub(super) stop: watch::Receiver<bool>,
    header_read_timeout: Duration,
}

impl HyperNext {
    pub(super) fn new(
        routes: Arc<Routes>,
        remote: SocketAddr,
        slot: ConnectionSlot,
        stop: watch::Receiver<bool>,
        header_read_timeout: Duration,
    ) -> Self {
        Self {
            routes,
            remote,
            slot,
            stop,
            header_read_timeout,
        }
    }

    /// Serves `stream` with hyper, which reads `already_read` first.
    pub(super) async fn serve(self, stream: TcpStream, already_read: bytes::Bytes) {
        let service = http_service(&self.routes, self.remote, &self.slot);
        let send_timeout = self.routes.shared.sse.send_timeout;
        let stream = CorkingStream::new(stream, self.slot, already_read, send_timeout);
        serve_http1(
            TokioIo::new(stream),
            service,
            &self.routes,
            self.stop,
            self.header_read_timeout,
        )
        .await;
    }
}

/// What hyper calls for each request of the connection.
fn http_service(
    routes: &Arc<Routes>,
    remote: SocketAddr,
    slot: &ConnectionSlot,
) -> impl hyper::service::HttpService<
    Incoming,
    ResBody = axum::body::Body,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let routes = Arc::clone(routes);
    let slot = slot.clone();
    service_fn(move |request: Request<Incoming>| {
        let request = request.map(|body| limit_stalls(body, routes.body_read_timeout));
        handle_metered(Arc::clone(&routes), remote, slot.clone(), request)
    })
}

/// Serves HTTP/1.1 (with upgrades) on `io` until the client leaves or the
/// server stops.
pub(crate) async fn serve_http1<I, S>(
    io: I,
    service: S,
    routes: &Routes,
    mut stop: watch::Receiver<bool>,
    header_read_timeout: Duration,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = axum::body::Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // hyper answers a head over `max_header_bytes`, or with more than
    // its default of 100 fields, with 431 and closes.
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_header_size(routes.max_header_bytes)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        // The connection first: a request read before the stop (the direct
        // path hands its bytes over unread by hyper) must be in hyper's
        // hands when `graceful_shutdown` looks, or hyper sees an idle
        // connection and closes it unanswered.
        biased;
        result = connection.as_mut() => match result {
            Err(error) if error.is_parse_too_large() => {
                tracing::warn!(
                    target: "crosswire::server",
                    limit = "[server] max_header_bytes",
                    max_header_bytes = routes.max_header_bytes,
                    max_header_fields = 100,
                    "request head over the limit: 431"
                );
                if let Some(metrics) = routes.shared.metrics() {
                    metrics.events.refused_header_too_large();
                }
            }
            Err(error) if error.is_timeout() => tracing::debug!(
                target: "crosswire::server",
                limit = "[server] header_read_timeout",
                "request head not received in time: connection closed"
            ),
            Err(error) => tracing::debug!(%error, "connection error"),
            Ok(()) => {}
        },
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
