//! `GET /metrics`: on the app's own port (the server's request routing asks
//! [`is_scrape`] first), or on an address of its own
//! ([`serve_own_address`]), which answers nothing else.
//!
//! The address of its own is a small HTTP/1.1 server of its own, not the
//! app's router: nothing the app mounts (routes, static files, WebSockets)
//! is reachable there, so it can be opened to a Prometheus on another
//! network without opening the app.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, Request, StatusCode, header};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::render::CONTENT_TYPE;

/// Produces the exposition text when scraped; `None` when metrics are off.
pub(crate) type Render = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// True when `request` is a scrape of `path` (`GET` or `HEAD`).
pub(crate) fn is_scrape<B>(request: &Request<B>, path: &str) -> bool {
    request.uri().path() == path && matches!(*request.method(), Method::GET | Method::HEAD)
}

/// The `200` answer to a scrape, with the exposition text.
pub(crate) fn exposition(text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Answers one request on the metrics address: the exposition at `path`,
/// `405` for other methods there, `404` everywhere else.
fn answer<B>(request: &Request<B>, path: &str, render: &Render) -> Response {
    if request.uri().path() != path {
        return (
            StatusCode::NOT_FOUND,
            "not found; metrics are served at the metrics path\n",
        )
            .into_response();
    }
    if !is_scrape(request, path) {
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, "use GET\n").into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match render() {
        Some(text) => exposition(text),
        None => (StatusCode::NOT_FOUND, "metrics are off\n").into_response(),
    }
}

/// Serves the metrics at `path` on `listener` until the task is dropped.
/// Each connection's request head must arrive within `header_read_timeout`.
pub(crate) async fn serve_own_address(
    listener: TcpListener,
    path: String,
    render: Render,
    header_read_timeout: Duration,
) {
    let path: Arc<str> = Arc::from(path);
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(target: "crosswire::server", %error, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let path = Arc::clone(&path);
        let render = Arc::clone(&render);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = answer(&request, &path, &render);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(target: "crosswire::server", %remote, %error, "metrics connection ended");
            }
        });
    }
}
