//! Routing of one HTTP request: WebSocket upgrade, `426`, `404`, `501`, or
//! the axum router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use crosswire_proto::is_upgrade_request;
use http::{HeaderValue, Request, StatusCode, header};
use hyper::body::Incoming;
use tower::ServiceExt;

use super::priority::Tiers;
use super::tracker::Tracker;
use super::upgrade::upgrade;
use crate::broker::Broker;
use crate::broker::link::ErrorCallback;
use crate::config::Config;
use crate::handle::ServerHandle;
use crate::shared::Shared;
use crate::ws::DynHandler;

/// A WebSocket handler on a path.
#[derive(Clone)]
pub(crate) struct WsRoute {
    pub(crate) handler: Arc<dyn DynHandler>,
    /// The pattern as registered (`/users/{id}`), for `UpgradeRequest::route`
    /// and the connection's log span.
    pub(crate) pattern: Arc<str>,
    /// An HTTP route exists on the same path, so plain requests go there.
    pub(crate) has_http: bool,
}

/// Everything a request needs to be routed; shared by all connections.
pub(crate) struct Routes {
    pub(crate) ws: Tiers<WsRoute>,
    pub(crate) http: Router,
    pub(crate) shared: Arc<Shared>,
    pub(crate) handle: ServerHandle,
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) websocket_enabled: bool,
}

impl Routes {
    pub(crate) fn new(
        ws: Tiers<WsRoute>,
        http: Router,
        config: &Config,
        broker: Option<Arc<dyn Broker>>,
        on_broker_error: Option<ErrorCallback>,
    ) -> Self {
        let workers = config.server.workers.resolve();
        let shared = Arc::new(Shared::new(
            config.websocket.clone(),
            config.sse.clone(),
            workers,
            broker,
        ));
        shared.start_broker(on_broker_error);
        Self {
            ws,
            http,
            handle: ServerHandle::new(Arc::clone(&shared)),
            shared,
            tracker: Arc::new(Tracker::new(workers)),
            websocket_enabled: config.websocket.enabled,
        }
    }
}

/// Answers one request.
pub(crate) async fn handle(
    routes: Arc<Routes>,
    remote: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response, Infallible> {
    let wants_upgrade = is_upgrade_request(request.headers());
    let matched = routes.ws.at(request.uri().path()).ok().map(|m| {
        let params: Vec<(String, String)> = m
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        (m.value.clone(), params)
    });

    if wants_upgrade {
        if !routes.websocket_enabled {
            return Ok(plain(
                StatusCode::NOT_IMPLEMENTED,
                "WebSocket support is disabled by the setting `[websocket] enabled = false` in crosswire.toml\n",
            ));
        }
        return Ok(match matched {
            Some((route, params)) => upgrade(&routes, route, params, remote, request).await,
            None => plain(StatusCode::NOT_FOUND, "no WebSocket handler at this path\n"),
        });
    }
    if let Some((route, _)) = &matched
        && !route.has_http
    {
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
        return Ok(response);
    }
    request.extensions_mut().insert(routes.handle.clone());
    routes.http.clone().oneshot(request.map(Body::new)).await
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
