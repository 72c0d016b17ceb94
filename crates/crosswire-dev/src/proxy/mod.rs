//! The proxy in front of the app: every request and every WebSocket upgrade
//! that reaches the dev server's port goes to the app, except the reload
//! channel's own upgrade.
//!
//! While the app restarts there is nothing to forward to. Rather than let
//! the browser see "connection refused", a request waits for the new app (up
//! to the hold time, 30 s by default), then gets a 503 that says why. When
//! the app is down for good (its build failed, it crashed) the 503 comes at
//! once; for a page it is an HTML page with the reload script, so it shows
//! the build error and reloads by itself once the app is back.

mod forward;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::inject;
use crate::reload::{self, Hub};
use crate::upstream::{self, Upstream, Verdict};

/// Errors of a streamed body.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body the dev server sends.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A response with a plain-text body.
pub(crate) fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(text.to_owned()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    if !text.is_empty() {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

/// Where the reload channel is, as pages see it.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    /// Its path.
    pub(crate) path: String,
    /// Its own port, or `None` when it shares the app's port.
    pub(crate) port: Option<u16>,
}

/// The request handler of one listening port.
#[derive(Debug, Clone)]
pub(crate) struct Proxy {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    upstream: watch::Receiver<Upstream>,
    hub: Arc<Hub>,
    channel: Channel,
    /// This port serves the reload channel and nothing else (`[dev.hmr] port`).
    reload_only: bool,
    hold: Duration,
}

impl Proxy {
    /// The handler of the app's port: the proxy, plus the reload channel
    /// when it has no port of its own.
    pub(crate) fn new(
        upstream: watch::Receiver<Upstream>,
        hub: Arc<Hub>,
        channel: Channel,
        hold: Duration,
    ) -> Self {
        Self::with(upstream, hub, channel, hold, false)
    }

    /// The handler of the reload channel's own port.
    pub(crate) fn reload_only(&self) -> Self {
        let inner = &self.inner;
        Self::with(
            inner.upstream.clone(),
            Arc::clone(&inner.hub),
            inner.channel.clone(),
            inner.hold,
            true,
        )
    }

    fn with(
        upstream: watch::Receiver<Upstream>,
        hub: Arc<Hub>,
        channel: Channel,
        hold: Duration,
        reload_only: bool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                upstream,
                hub,
                channel,
                reload_only,
                hold,
            }),
        }
    }

    /// Answers one request from `remote`.
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<Body> {
        let inner = &self.inner;
        let channel_here = inner.reload_only || inner.channel.port.is_none();
        if channel_here && reload::is_reload_upgrade(&request, &inner.channel.path) {
            return reload::accept(Arc::clone(&inner.hub), request);
        }
        if inner.reload_only {
            let text = format!(
                "this port serves only the live-reload channel of `crosswire dev`, at ws://…{}",
                inner.channel.path
            );
            return text_response(StatusCode::NOT_FOUND, &text);
        }
        let mut state = inner.upstream.clone();
        let until = Instant::now() + inner.hold;
        loop {
            let addr = match upstream::wait(&mut state, until, inner.hold).await {
                Verdict::Forward(addr) => addr,
                Verdict::Unavailable(reason) => return self.unavailable(&request, &reason),
            };
            match tokio::net::TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return forward::forward(stream, request, remote, || self.script_tag()).await;
                }
                // Refused: the app is stopping or just died, and the
                // request has not been sent, so it can wait for the next app.
                Err(_) => {
                    if !upstream::wait_past(&mut state, addr, until).await {
                        let text = format!("the app at {addr} refused the connection");
                        return text_response(StatusCode::BAD_GATEWAY, &text);
                    }
                }
            }
        }
    }

    /// The reload script for a page served now.
    fn script_tag(&self) -> String {
        let channel = &self.inner.channel;
        inject::script_tag(&channel.path, channel.port, &self.inner.hub.build_id())
    }

    /// 503 with the reason: a page (with the reload script) for a browser
    /// navigating, plain text for anything else.
    fn unavailable<B>(&self, request: &Request<B>, reason: &str) -> Response<Body> {
        let wants_page = request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        let mut response = if wants_page {
            let page = format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>crosswire dev: app unavailable</title></head>\n<body style=\"font: 15px/1.5 system-ui, sans-serif; padding: 24px\">\n<h1 style=\"font-size: 18px\">The app is not available</h1>\n<p>{}</p>\n<p>This page reloads by itself when the app is up.</p>\n{}</body></html>\n",
                escape_html(reason),
                self.script_tag()
            );
            let mut response = text_response(StatusCode::SERVICE_UNAVAILABLE, &page);
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        } else {
            text_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("crosswire dev: {reason}\n"),
            )
        };
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests;
