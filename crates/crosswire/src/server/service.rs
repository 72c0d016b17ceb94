//! Routing of one HTTP request: WebSocket upgrade, `426`, `404`, `501`, or
//! the axum router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::BoxError;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use crosswire_proto::is_upgrade_request;
use futures_util::future::Either;
use http::{HeaderValue, Request, StatusCode, header};
use tower::ServiceExt;

use super::handshake_rate::HandshakeRate;
use super::log_every::LogEvery;
use super::priority::Tiers;
use super::tracker::{ConnectionSlot, Tracker};
use super::upgrade::{Upgrade, accept, refused};
use crate::broker::Broker;
use crate::broker::link::ErrorCallback;
use crate::config::Config;
use crate::error::ServeError;
use crate::handle::ServerHandle;
use crate::origin::{OriginPolicy, Refused};
use crate::shared::Shared;
use crate::ws::DynHandler;

/// A WebSocket handler on a path.
#[derive(Clone)]
pub(crate) struct WsRoute {
    pub(crate) handler: Arc<dyn DynHandler>,
    /// The pattern as registered (`/users/{id}`), for `UpgradeRequest::route`
    /// and the connection's log span.
    pub(crate) pattern: Arc<str>,
}

/// Where a request that is not an upgrade goes, given the WebSocket routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainRequest {
    /// To the HTTP routes: no WebSocket route matches, or an HTTP route
    /// matches at least as specifically.
    Http,
    /// `426 Upgrade Required`: a WebSocket route matches more specifically
    /// than any HTTP route.
    UpgradeRequired,
    /// To the HTTP routes, but their `404` becomes `426`: a WebSocket route
    /// matches and no HTTP route registered with a pattern does, though a
    /// merged router or the public files may still answer.
    HttpElseUpgradeRequired,
}

/// Everything a request needs to be routed; shared by all connections.
pub(crate) struct Routes {
    pub(crate) ws: Tiers<WsRoute>,
    pub(crate) http: Router,
    /// The patterns of the HTTP routes, to weigh against the WebSocket
    /// routes' (see [`PlainRequest`]).
    pub(crate) http_patterns: Tiers<()>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: ServerHandle,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) websocket_enabled: bool,
    /// Whose pages may open a WebSocket (`[websocket] allowed_origins`).
    pub(crate) ws_origins: OriginPolicy,
    /// Whose pages may open an event stream (`[sse] allowed_origins`);
    /// `None`: no check.
    pub(crate) sse_origins: Option<OriginPolicy>,
    /// `[server] max_header_bytes`: given to hyper for every connection, and
    /// the most a request head may have on the direct path, or the bytes it
    /// keeps of a pipelined request while a response streams.
    pub(crate) max_header_bytes: usize,
    /// `[server] body_read_timeout`: the longest a request body handed to a
    /// handler may go without bytes (see `body_stall.rs`).
    pub(crate) body_read_timeout: std::time::Duration,
    /// `[server] max_connections`: live connections past which new ones are
    /// answered 503.
    pub(crate) max_connections: usize,
    /// `[server] max_handshakes_per_ip_per_second`.
    pub(crate) handshake_rate: HandshakeRate,
    /// Upgrades refused past `max_connections` or `max_connections_per_ip`
    /// in mounted mode (where there is no accept loop of ours to count
    /// them), logged at most once a second.
    pub(crate) upgrade_refusals: LogEvery,
    /// WebSocket upgrades and event streams refused for their `Origin`,
    /// logged at most once a second each: a client can repeat them at will.
    pub(crate) ws_origin_refusals: LogEvery,
    pub(crate) sse_origin_refusals: LogEvery,
    /// Event streams over HTTP/2 refused at a connection limit, logged at
    /// most once a second (see `open_streams.rs`).
    #[cfg(feature = "tls")]
    pub(crate) stream_refusals: LogEvery,
    /// `[server.tls]`: the handshake every connection does first, if set.
    pub(crate) tls: Option<Arc<crate::tls::TlsState>>,
}

impl Routes {
    /// Where a request on `path` that is not an upgrade goes.
    pub(crate) fn plain_request_on(&self, path: &str) -> PlainRequest {
        let Some(ws) = self.ws.specificity_at(path) else {
            return PlainRequest::Http;
        };
        match self.http_patterns.specificity_at(path) {
            Some(http) if http >= ws => PlainRequest::Http,
            Some(_) => PlainRequest::UpgradeRequired,
            None => PlainRequest::HttpElseUpgradeRequired,
        }
    }

    /// Counts how an upgrade request was answered, when metrics are on,
    /// whichever path answered it.
    pub(crate) fn count_upgrade(&self, response: &Response) {
        if let Some(metrics) = self.shared.metrics() {
            metrics.events.upgrade(response.status());
        }
    }

    pub(crate) fn new(
        ws: Tiers<WsRoute>,
        http: Router,
        http_patterns: Tiers<()>,
        config: &Config,
        broker: Option<Arc<dyn Broker>>,
        on_broker_error: Option<ErrorCallback>,
    ) -> Result<Self, ServeError> {
        let ws_origins = OriginPolicy::from_setting(config.websocket.allowed_origins.as_deref())
            .map_err(|reason| ServeError::Setting {
                key: "websocket.allowed_origins",
                reason,
            })?;
        let sse_origins = match config.sse.allowed_origins.as_deref() {
            None => None,
            Some(list) => match OriginPolicy::from_setting(Some(list)) {
                Ok(OriginPolicy::Any) => None,
                Ok(policy) => Some(policy),
                Err(reason) => {
                    return Err(ServeError::Setting {
                        key: "sse.allowed_origins",
                        reason,
                    });
                }
            },
        };
        if ws_origins == OriginPolicy::Any {
            tracing::warn!(
                target: "crosswire::server",
                setting = "[websocket] allowed_origins",
                "every origin may open a WebSocket (allowed_origins = [\"*\"]): any web page can connect with its visitors' cookies"
            );
        }
        if !crosswire_proto::is_valid_close_code(config.server.shutdown_close_code) {
            return Err(ServeError::Setting {
                key: "server.shutdown_close_code",
                reason: format!(
                    "{} is not a close code a server may send (1000-1003, 1007-1014, 3000-4999)",
                    config.server.shutdown_close_code
                ),
            });
        }
        if config.server.max_connections == 0 {
            return Err(ServeError::Setting {
                key: "server.max_connections",
                reason: "expected at least 1".to_owned(),
            });
        }
        let tls = crate::tls::from_config(&config.server.tls)?;
        let workers = config.server.workers.resolve();
        let shared = Shared::new(
            config.websocket.clone(),
            config.sse.clone(),
            workers,
            broker,
            config.server.max_queued_bytes,
            config.server.shutdown_close_code,
            &config.metrics,
        );
        let shared = Arc::new(shared.with_history(&config.history));
        shared.start_broker(on_broker_error);
        Ok(Self {
            ws,
            http,
            http_patterns,
            handle: ServerHandle::new(Arc::clone(&shared), tls.clone()),
            tls,
            shared,
            tracker: Arc::new(
                Tracker::new(workers).with_limit_per_address(config.server.max_connections_per_ip),
            ),
            websocket_enabled: config.websocket.enabled,
            ws_origins,
            sse_origins,
            max_header_bytes: config.server.max_header_bytes,
            body_read_timeout: config.server.body_read_timeout,
            handshake_rate: HandshakeRate::new(config.server.max_handshakes_per_ip_per_second),
            upgrade_refusals: LogEvery::default(),
            ws_origin_refusals: LogEvery::default(),
            sse_origin_refusals: LogEvery::default(),
            #[cfg(feature = "tls")]
            stream_refusals: LogEvery::default(),
            max_connections: config.server.max_connections,
        })
    }
}

/// Answers one request on the connection whose guard `slot` holds.
pub(crate) async fn handle<B>(
    routes: Arc<Routes>,
    remote: SocketAddr,
    slot: ConnectionSlot,
    mut request: Request<B>,
) -> Result<Response, Infallible>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    if is_upgrade_request(request.headers()) {
        let on_upgrade = hyper::upgrade::on(&mut request);
        let answering = {
            let (parts, _body) = request.into_parts();
            route_upgrade(&routes, remote, &slot, &parts)
        };
        return Ok(answering.await.start_after(on_upgrade));
    }
    let draining = routes.shared.is_shutting_down();
    if draining && accepts_event_stream(request.headers()) {
        return Ok(draining_refusal());
    }
    let plain = routes.plain_request_on(request.uri().path());
    if plain == PlainRequest::UpgradeRequired {
        return Ok(upgrade_required());
    }
    // `[sse] allowed_origins`: refused before the handler when the request
    // asks for an event stream, and after it when the handler answered with
    // one anyway (dropping the stream ends it and runs its `on_closed`).
    let foreign = match &routes.sse_origins {
        Some(policy) => policy.check(request.headers(), request.uri()).err(),
        None => None,
    };
    if let Some(refused) = &foreign
        && accepts_event_stream(request.headers())
    {
        return Ok(refuse_event_stream(
            refused,
            remote,
            request.uri().path(),
            &routes.sse_origin_refusals,
        ));
    }
    let path = foreign.is_some().then(|| request.uri().path().to_owned());
    request.extensions_mut().insert(routes.handle.clone());
    let mut response = routes.http.clone().oneshot(request.map(Body::new)).await?;
    if plain == PlainRequest::HttpElseUpgradeRequired && response.status() == StatusCode::NOT_FOUND
    {
        return Ok(upgrade_required());
    }
    // What the handler published reaches the other workers' inboxes before
    // the response leaves: anything done after it comes after the publish.
    routes.shared.topics.flush_outgoing();
    if draining || routes.shared.is_shutting_down() {
        if is_event_stream(response.headers()) {
            // Started while the server began to drain: it would end at once.
            return Ok(draining_refusal());
        }
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    match (&foreign, path) {
        (Some(refused), Some(path)) if is_event_stream(response.headers()) => Ok(
            refuse_event_stream(refused, remote, &path, &routes.sse_origin_refusals),
        ),
        _ => Ok(response),
    }
}

/// Answers a WebSocket upgrade request, in this order: a draining server,
/// the handshake rate, `[websocket] enabled`, the route, then the handshake
/// itself. Whoever read the request starts the connection if accepted.
///
/// The checks run when this is called; the future is the handshake's (see
/// [`accept`]), and borrows nothing of the request.
pub(crate) fn route_upgrade<'a>(
    routes: &'a Arc<Routes>,
    remote: SocketAddr,
    slot: &'a ConnectionSlot,
    parts: &http::request::Parts,
) -> impl Future<Output = Upgrade> + Send + use<'a> {
    if routes.shared.is_shutting_down() {
        return Either::Left(refused(draining_refusal()));
    }
    let matched = routes.ws.at(parts.uri.path()).ok().map(|m| {
        let params: Vec<(String, String)> = m
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (m.value.clone(), params)
    });
    if !routes.handshake_rate.admit(remote.ip()) {
        routes.handshake_rate.log_refusal(remote);
        return Either::Left(refused(too_many_handshakes()));
    }
    if !routes.websocket_enabled {
        return Either::Left(refused(websocket_disabled()));
    }
    match matched {
        Some((route, params)) => Either::Right(accept(routes, route, params, remote, slot, parts)),
        None => Either::Left(refused(plain(
            StatusCode::NOT_FOUND,
            "no WebSocket handler at this path\n",
        ))),
    }
}

/// What a WebSocket-only path answers a plain request.
pub(crate) fn upgrade_required() -> Response {
    let mut response = plain(
        StatusCode::UPGRADE_REQUIRED,
        "this path serves WebSocket connections only\n",
    );
    response
        .headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    response
}

/// What a draining server answers a new WebSocket or event stream: come
/// back later, to another instance.
pub(crate) fn draining_refusal() -> Response {
    unavailable("the server is shutting down; retry shortly\n")
}

/// `503` with `Retry-After: 1` and `Connection: close`, saying why.
pub(crate) fn unavailable(why: &'static str) -> Response {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, why);
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(crate) fn accepts_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .any(|value| contains_ignore_case(value.as_bytes(), b"text/event-stream"))
}

pub(crate) fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| contains_ignore_case(value.as_bytes(), b"text/event-stream"))
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

pub(crate) fn refuse_event_stream(
    refused: &Refused,
    remote: SocketAddr,
    path: &str,
    log: &LogEvery,
) -> Response {
    if let Some(count) = log.due() {
        tracing::warn!(
            target: "crosswire::sse",
            %remote,
            path,
            origin = %refused,
            setting = "[sse] allowed_origins",
            refused = count,
            "refused an event stream to a foreign origin: 403"
        );
    }
    plain(
        StatusCode::FORBIDDEN,
        "this origin may not open an event stream here (see [sse] allowed_origins)\n",
    )
}

/// A short plain-text response.
pub(crate) fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `429` for an address past `[server] max_handshakes_per_ip_per_second`.
pub(crate) fn too_many_handshakes() -> Response {
    let mut response = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "too many WebSocket handshakes from this address; retry shortly\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// `501` for an upgrade while `[websocket] enabled = false`.
pub(crate) fn websocket_disabled() -> Response {
    plain(
        StatusCode::NOT_IMPLEMENTED,
        "WebSocket support is disabled by the setting `[websocket] enabled = false` in crosswire.toml\n",
    )
}
