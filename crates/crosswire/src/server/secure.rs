//! Serving a connection over TLS: the handshake, bounded in time, then
//! HTTP/2 or HTTP/1.1 as the client chose by ALPN.
//!
//! The protocol is known from ALPN once the handshake is done, so each
//! connection goes straight to hyper's HTTP/1.1 or HTTP/2 server rather than
//! through a builder that sniffs the first bytes: an upgraded HTTP/1.1
//! connection is then handed back as the TLS stream itself, which the
//! WebSocket tasks take over. HTTP/2 serves routes and event streams (many
//! streams on one connection); WebSocket upgrades need HTTP/1.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::accept::serve_http1;
use super::admission::admit_another;
use super::bounded_writes::BoundedWrites;
use super::open_streams::OpenStreams;
use super::service::Routes;
use crate::tls::TlsState;

/// An HTTP/2 connection is pinged when silent this long; one whose client
/// does not answer (hyper waits 20 s) is closed, so vanished clients do not
/// keep their connections (HTTP/2 has no per-request head timeout).
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// Where an accepted connection came from, and the worker serving it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) remote: SocketAddr,
    pub(crate) worker: usize,
}

/// Does the TLS handshake on `stream` (or closes it after
/// `[server.tls] handshake_timeout`), then serves HTTP on it.
pub(crate) async fn serve<S>(
    tls: &TlsState,
    stream: TcpStream,
    accepted: Accepted,
    service: S,
    routes: &Arc<Routes>,
    mut stop: watch::Receiver<bool>,
    header_read_timeout: Duration,
) where
    S: hyper::service::HttpService<Incoming, ResBody = axum::body::Body> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // What is written to the socket waits at most `[sse] send_timeout` for
    // the client to take a byte, as on plain HTTP (see `bounded_writes.rs`).
    let stream = BoundedWrites::new(stream, routes.shared.sse.send_timeout);
    let handshake = tokio::time::timeout(tls.handshake_timeout(), tls.acceptor().accept(stream));
    let stream = tokio::select! {
        result = handshake => match result {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(target: "crosswire::tls", %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(
                    target: "crosswire::tls",
                    limit = "[server.tls] handshake_timeout",
                    "TLS handshake not finished in time: connection closed"
                );
                return;
            }
        },
        _ = stop.changed() => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    if h2 {
        serve_http2(
            TokioIo::new(stream),
            service,
            routes,
            accepted,
            stop,
            header_read_timeout,
        )
        .await;
        tracing::debug!(target: "crosswire::tls", "HTTP/2 connection ended");
    } else {
        serve_http1(
            TokioIo::new(stream),
            service,
            routes,
            stop,
            header_read_timeout,
        )
        .await;
    }
}

/// Serves HTTP/2 on `io` until the client leaves, the server stops, or no
/// request has been open for `idle_timeout` (`header_read_timeout`, the
/// time an idle HTTP/1.1 connection gets).
async fn serve_http2<I, S>(
    io: I,
    service: S,
    routes: &Arc<Routes>,
    accepted: Accepted,
    mut stop: watch::Receiver<bool>,
    idle_timeout: Duration,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = axum::body::Body> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max_header_list = u32::try_from(routes.max_header_bytes).unwrap_or(u32::MAX);
    let open = OpenStreams::new();
    let admit_stream = {
        let routes = Arc::clone(routes);
        move || {
            let Accepted { remote, worker } = accepted;
            admit_another(&routes, worker, Some(remote.ip())).inspect_err(|refusal| {
                if let Some(refused) = routes.stream_refusals.due() {
                    tracing::warn!(
                        target: "crosswire::tls",
                        %remote,
                        limit = refusal.setting(),
                        value = refusal.limit(),
                        refused,
                        "event stream over HTTP/2 refused at a connection limit: 503"
                    );
                }
            })
        }
    };
    let connection = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
        .max_header_list_size(max_header_list)
        .serve_connection(io, open.count(service, admit_stream));
    tokio::pin!(connection);
    if *stop.borrow() {
        // Accepted while the server drains: HTTP/2 has no `Connection:
        // close`, so say GOAWAY now; what the client sent first is served.
        connection.as_mut().graceful_shutdown();
        if let Err(error) = connection.await {
            tracing::debug!(%error, "HTTP/2 connection error");
        }
        return;
    }
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "HTTP/2 connection error");
            }
        }
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
        () = open.idle_for(idle_timeout) => {
            tracing::debug!(
                target: "crosswire::tls",
                limit = "[server] header_read_timeout",
                "HTTP/2 connection without a request: GOAWAY"
            );
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
