//! The WebSocket handshake: validate, run the `upgrade` hook, answer `101`,
//! then hand the raw connection to its two tasks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use crosswire_proto::{HandshakeError, validate_request};
use futures_util::FutureExt;
use futures_util::future::Either;
use http::{HeaderValue, Request, StatusCode, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::corking::CorkingStream;
use super::service::{Routes, WsRoute, plain};
use super::tracker::{ConnectionSlot, TaskGuard};
use crate::ws::deflate;
use crate::ws::{DynHandler, Outbox, Peer, Transport, UpgradeRequest, guarded, serve_connection};

/// An upgrade request on a WebSocket route, answered.
pub(crate) enum Upgrade {
    /// The `101` to send, and the connection to start once it is on its way.
    Accepted(Response, Accepted),
    /// Anything else: the response says why.
    Refused(Response),
}

/// An accepted WebSocket connection, not yet started.
pub(crate) struct Accepted {
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    /// The connection's own guard, so that it keeps counting once for
    /// `max_connections` after its HTTP task ends.
    guard: TaskGuard,
}

impl Upgrade {
    /// The response for hyper to send; an accepted connection starts in a
    /// task of its own once hyper has sent the `101` and hands the socket
    /// over.
    pub(crate) fn start_after(self, on_upgrade: OnUpgrade) -> Response {
        match self {
            Upgrade::Accepted(response, accepted) => {
                tokio::spawn(connection_task(
                    accepted.guard,
                    on_upgrade,
                    accepted.peer,
                    accepted.handler,
                ));
                response
            }
            Upgrade::Refused(response) => response,
        }
    }
}

impl Accepted {
    /// Starts the connection in a task of its own on `stream`, with `head`
    /// (the `101`) queued to go out first, with the `open` hook's first
    /// frames, and `already_read` the bytes the client sent after its
    /// request.
    pub(crate) fn start_on(self, stream: TcpStream, already_read: Bytes, head: &[u8]) {
        self.peer.outbox().preface(head);
        tokio::spawn(serve_connection(
            Transport::Tcp(stream),
            already_read,
            self.peer,
            self.handler,
            self.guard,
        ));
    }
}

/// Answers an upgrade request on a WebSocket route, starting the connection
/// when hyper hands the socket over.
pub(crate) async fn upgrade<B>(
    routes: &Arc<Routes>,
    route: WsRoute,
    params: Vec<(String, String)>,
    remote: SocketAddr,
    slot: &ConnectionSlot,
    mut request: Request<B>,
) -> Response {
    let on_upgrade = hyper::upgrade::on(&mut request);
    let answering = {
        let (parts, _body) = request.into_parts();
        accept(routes, route, params, remote, slot, &parts)
    };
    answering.await.start_after(on_upgrade)
}

/// The handshake: validate, check the `Origin`, run the `upgrade` hook,
/// and build the `101` and the peer.
///
/// Everything before the hook runs when this is called, and the future
/// keeps only what the hook and the answer need. As an `async fn` it kept
/// the request twice across the hook's await (as passed, then taken
/// apart), and with the routing around it each handshake's future was a
/// 1.6 KB allocation, past the sizes glibc serves from its per-thread cache.
pub(crate) fn accept<'a>(
    routes: &'a Arc<Routes>,
    route: WsRoute,
    params: Vec<(String, String)>,
    remote: SocketAddr,
    slot: &'a ConnectionSlot,
    parts: &http::request::Parts,
) -> impl Future<Output = Upgrade> + Send + use<'a> {
    let handshake = match validate_request(&parts.method, parts.version, &parts.headers) {
        Ok(handshake) => handshake,
        Err(error) => return Either::Left(refused(handshake_error(&error))),
    };
    let deflate = match deflate::negotiate(&routes.shared.websocket, &handshake) {
        Ok(deflate) => deflate,
        Err(error) => return Either::Left(refused(handshake_error(&error))),
    };
    // Before any hook: a page from another site must not reach them.
    if let Err(refused_origin) = routes.ws_origins.check(&parts.headers, &parts.uri) {
        if let Some(count) = routes.ws_origin_refusals.due() {
            tracing::warn!(
                target: "crosswire::upgrade",
                %remote,
                path = parts.uri.path(),
                origin = %refused_origin,
                setting = "[websocket] allowed_origins",
                refused = count,
                "refused a WebSocket upgrade from a foreign origin: 403"
            );
        }
        return Either::Left(refused(plain(
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket here (see [websocket] allowed_origins)\n",
        )));
    }
    let upgrade_request = UpgradeRequest::new(
        parts,
        remote,
        Arc::clone(&route.pattern),
        params,
        handshake.protocols().to_vec(),
        handshake.extensions().map(str::to_owned),
    );

    Either::Right(async move {
        let accept = match guarded(|| route.handler.upgrade(upgrade_request.clone())).await {
            Ok(Ok(accept)) => accept,
            Ok(Err(rejection)) => return Upgrade::Refused(rejection),
            Err(panic) => {
                tracing::error!(
                    target: "crosswire::upgrade",
                    remote = %remote,
                    path = upgrade_request.path(),
                    panic = %panic.0,
                    "upgrade hook panicked"
                );
                if let Some(metrics) = routes.shared.metrics() {
                    metrics
                        .events
                        .hook_failed(crate::metrics::Hook::Upgrade, true);
                }
                return Upgrade::Refused(plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "upgrade failed\n",
                ));
            }
        };
        if let Some(name) = &accept.invalid_header {
            tracing::error!(target: "crosswire::upgrade", header = %name, "upgrade hook added an invalid header");
            return Upgrade::Refused(plain(StatusCode::INTERNAL_SERVER_ERROR, "upgrade failed\n"));
        }

        let protocol = accept.protocol.filter(|selected| {
            let offered = handshake.protocols().iter().any(|p| p == selected);
            if !offered {
                tracing::warn!(
                    target: "crosswire::upgrade",
                    protocol = %selected,
                    "upgrade hook selected a subprotocol the client did not offer; not sending it"
                );
            }
            offered
        });

        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.extend(accept.headers);
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(value) = HeaderValue::from_str(handshake.accept()) {
            headers.insert(header::SEC_WEBSOCKET_ACCEPT, value);
        }
        if let Some(value) = protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        }
        if let Some(value) = deflate.as_ref().and_then(|d| d.response_header()) {
            headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, value);
        }

        let config = &routes.shared.websocket;
        let outbox = Arc::new(
            Outbox::new(config.send_queue_bytes, config.on_send_queue_full)
                .with_deflate(deflate)
                .with_budget(
                    Arc::clone(&routes.shared.queue_budget),
                    routes.shared.topics.home_worker(),
                ),
        );
        let peer = Peer::new(
            Arc::clone(&routes.shared),
            outbox,
            upgrade_request,
            accept.context,
            protocol,
        );
        let guard = slot
            .take()
            .unwrap_or_else(|| routes.tracker.guard(routes.shared.topics.home_worker()));
        Upgrade::Accepted(
            response,
            Accepted {
                peer,
                handler: route.handler,
                guard,
            },
        )
    })
}

/// An answer known before any hook ran.
pub(crate) fn refused(response: Response) -> std::future::Ready<Upgrade> {
    std::future::ready(Upgrade::Refused(response))
}

/// The task of one WebSocket connection, from the end of the handshake to
/// the end of the socket: an idle connection's memory is mostly this future.
pub(crate) fn connection_task(
    guard: TaskGuard,
    on_upgrade: OnUpgrade,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
) -> impl Future<Output = ()> + Send {
    on_upgrade.then(move |upgraded| {
        // The futures of this chain are stored one after the other, not
        // side by side: once upgraded, only the connection's own remains.
        let upgraded = match upgraded {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(target: "crosswire::upgrade", peer = %peer, %error, "client left during the upgrade");
                drop(guard);
                return Either::Left(std::future::ready(()));
            }
        };
        let (stream, read_buf, preface) = into_transport(upgraded);
        if !preface.is_empty() {
            peer.outbox().preface(&preface);
        }
        Either::Right(serve_connection(stream, read_buf, peer, handler, guard))
    })
}

/// The stream under an upgraded connection: the socket itself when our own
/// accept loop served it (plain or TLS), else hyper's `Upgraded` as it is
/// (another server's, in mounted mode), with the bytes read past the
/// handshake still inside it. Then the bytes hyper wrote after the upgrade
/// and the socket held back (see `corking.rs`), which must go out first.
fn into_transport(upgraded: Upgraded) -> (Transport, Bytes, Vec<u8>) {
    let upgraded = match upgraded.downcast::<TokioIo<CorkingStream>>() {
        Ok(parts) => {
            let (stream, held, unread) = parts.io.into_inner().into_parts();
            let read_buf = match (parts.read_buf.is_empty(), unread.is_empty()) {
                (_, true) => parts.read_buf,
                (true, false) => unread,
                (false, false) => [parts.read_buf, unread].concat().into(),
            };
            return (Transport::Tcp(stream), read_buf, held);
        }
        Err(upgraded) => upgraded,
    };
    #[cfg(feature = "tls")]
    let upgraded = match upgraded.downcast::<TokioIo<crate::ws::TlsStream>>() {
        Ok(parts) => {
            let mut stream = parts.io.into_inner();
            // The send queue's rules bound a WebSocket's writes.
            stream.get_mut().0.release();
            return (Transport::Tls(Box::new(stream)), parts.read_buf, Vec::new());
        }
        Err(upgraded) => upgraded,
    };
    (
        Transport::Upgraded(Box::new(TokioIo::new(upgraded))),
        Bytes::new(),
        Vec::new(),
    )
}

/// The response for a request that is not a valid WebSocket handshake.
fn handshake_error(error: &HandshakeError) -> Response {
    let mut response = (
        error.status(),
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", error.reason()),
    )
        .into_response();
    response.headers_mut().extend(error.response_headers());
    response
}
