//! A WebSocket route of mounted mode: the checks `App` makes before an
//! upgrade, then the same handshake and connection tasks.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{
    ConnectInfo, FromRequestParts, MatchedPath, OriginalUri, RawPathParams, State,
};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use crosswire_proto::is_upgrade_request;
use http::Request;
use tower::ServiceExt;

use super::Crosswire;
use crate::server::admission::admit_another;
use crate::server::service::{
    WsRoute, draining_refusal, too_many_handshakes, upgrade_required, websocket_disabled,
};
use crate::server::tracker::ConnectionSlot;
use crate::server::upgrade::upgrade;
use crate::ws::DynHandler;

/// What axum hands a request of ours.
type AxumRequest = Request<axum::body::Body>;

/// The address `peer.remote_address()` reads when the app was not served
/// with `into_make_service_with_connect_info`.
pub(super) const UNKNOWN_REMOTE: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// One handler, served on whatever path the app routes to it.
pub(super) struct Endpoint {
    crosswire: Crosswire,
    handler: Arc<dyn DynHandler>,
}

impl Endpoint {
    pub(super) fn new(crosswire: Crosswire, handler: Arc<dyn DynHandler>) -> Self {
        Self { crosswire, handler }
    }

    /// Upgrades to the hooks, `426` to everything else.
    pub(super) fn into_method_router<S>(self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoint = Arc::new(self);
        any(move |request: AxumRequest| {
            let endpoint = Arc::clone(&endpoint);
            async move {
                if is_upgrade_request(request.headers()) {
                    endpoint.upgrade(request).await
                } else {
                    upgrade_required()
                }
            }
        })
    }

    /// Upgrades to the hooks, everything else to `http`.
    pub(super) fn into_method_router_or<S>(self, http: MethodRouter<S>) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let endpoint = Arc::new(self);
        any(move |State(state): State<S>, request: AxumRequest| {
            let endpoint = Arc::clone(&endpoint);
            let http = http.clone();
            async move {
                if is_upgrade_request(request.headers()) {
                    return endpoint.upgrade(request).await;
                }
                match http.with_state(state).oneshot(request).await {
                    Ok(response) => response.into_response(),
                    Err(never) => match never {},
                }
            }
        })
    }

    /// Answers an upgrade request, counted by status when metrics are on
    /// (as `App` counts its own).
    async fn upgrade(&self, request: AxumRequest) -> Response {
        let response = self.answer_upgrade(request).await;
        self.crosswire.routes().count_upgrade(&response);
        response
    }

    /// What `App` does with an upgrade request on a WebSocket path, in the
    /// same order: draining, the handshake rate, `[websocket] enabled`,
    /// then (here, since the app's server accepted the connection)
    /// `max_connections`, then the handshake itself.
    async fn answer_upgrade(&self, request: AxumRequest) -> Response {
        let routes = self.crosswire.routes();
        // No connection to take over: the request did not come from a
        // server that can upgrade (`Router::oneshot`, or a layer that
        // rebuilt it without its extensions). A 101 would be followed by
        // nothing; `426`, as axum's own `WebSocketUpgrade` answers.
        if request
            .extensions()
            .get::<hyper::upgrade::OnUpgrade>()
            .is_none()
        {
            return upgrade_required();
        }
        if routes.shared.is_shutting_down() {
            return draining_refusal();
        }
        let remote = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        if let Some(remote) = remote
            && !routes.handshake_rate.admit(remote.ip())
        {
            routes.handshake_rate.log_refusal(remote);
            return too_many_handshakes();
        }
        if !routes.websocket_enabled {
            return websocket_disabled();
        }
        // Counted from here, so handshakes in flight count too; the guard
        // moves into the connection's task at the upgrade, and is dropped
        // with the refusal otherwise.
        let guard = match admit_another(routes, 0, remote.map(|remote| remote.ip())) {
            Ok(guard) => guard,
            Err(refusal) => {
                if let Some(refused) = routes.upgrade_refusals.due() {
                    let remote = remote.map_or_else(|| "unknown".to_owned(), |r| r.to_string());
                    tracing::warn!(
                        target: "crosswire::upgrade",
                        %remote,
                        limit = refusal.setting(),
                        value = refusal.limit(),
                        refused,
                        "WebSocket refused at a connection limit: 503"
                    );
                }
                return refusal.response();
            }
        };
        let slot = ConnectionSlot::new(guard);

        let (mut parts, body) = request.into_parts();
        let pattern: Arc<str> = match parts.extensions.get::<MatchedPath>() {
            Some(matched) => Arc::from(matched.as_str()),
            None => Arc::from(parts.uri.path()),
        };
        // Under `Router::nest` the path was cut to the nested part; hooks
        // see the URL the client asked for, as under `App`.
        if let Some(OriginalUri(uri)) = parts.extensions.get::<OriginalUri>().cloned() {
            parts.uri = uri;
        }
        // As `App` gives them: matched against the path as sent, not
        // percent-decoded (axum's own `RawPathParams` decodes them).
        let params = match raw_params(&pattern, parts.uri.path()) {
            Some(params) => params,
            None => match RawPathParams::from_request_parts(&mut parts, &()).await {
                Ok(params) => params
                    .iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect(),
                Err(_) => Vec::new(),
            },
        };
        let route = WsRoute {
            handler: Arc::clone(&self.handler),
            pattern,
        };
        let request = Request::from_parts(parts, body);
        upgrade(
            routes,
            route,
            params,
            remote.unwrap_or(UNKNOWN_REMOTE),
            &slot,
            request,
        )
        .await
    }
}

/// The parameters of `pattern` in `path`, as matched by the same router
/// `App` uses; `None` if the pattern does not take the path (a nested
/// router whose prefix the pattern does not show).
fn raw_params(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let mut router = matchit::Router::new();
    router.insert(pattern, ()).ok()?;
    let matched = router.at(path).ok()?;
    Some(
        matched
            .params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
    )
}
