//! What a server with metrics on does around each request: answer a scrape
//! of the metrics path on the app's port, and count how each WebSocket
//! upgrade request was answered (whatever answered it: the handshake
//! checks, the `Origin` check, the handshake rate, a draining server, the
//! `upgrade` hook).
//!
//! It wraps the request routing rather than reaching into each of its
//! answers, so a new refusal added there is counted without a word here.
//! With metrics off it is one branch and a call.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::BoxError;
use axum::body::HttpBody;
use axum::response::Response;
use bytes::Bytes;
use crosswire_proto::is_upgrade_request;
use http::Request;

use super::service::{Routes, handle};
use super::tracker::ConnectionSlot;
use crate::metrics::{Scrape, exposition, is_scrape};

/// Answers one request as [`handle`] does, with the metrics around it.
pub(crate) async fn handle_metered<B>(
    routes: Arc<Routes>,
    remote: SocketAddr,
    slot: ConnectionSlot,
    request: Request<B>,
) -> Result<Response, Infallible>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let Some(metrics) = routes.shared.metrics() else {
        return handle(routes, remote, slot, request).await;
    };
    if let Some(path) = metrics.app_path()
        && is_scrape(&request, path)
    {
        return Ok(exposition(render(&routes)));
    }
    let upgrade = is_upgrade_request(request.headers());
    let response = handle(Arc::clone(&routes), remote, slot, request).await?;
    if upgrade {
        routes.count_upgrade(&response);
    }
    Ok(response)
}

/// The exposition text of `routes`' server.
pub(crate) fn render(routes: &Routes) -> String {
    let connections = (routes.tracker.live(), routes.max_connections);
    Scrape::gather(&routes.shared, Some(connections))
        .map(Scrape::render)
        .unwrap_or_default()
}
