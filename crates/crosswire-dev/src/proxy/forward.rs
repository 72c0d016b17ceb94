//! Forwarding one request over a fresh connection to the app.
//!
//! A connection per request keeps the proxy simple and correct across
//! restarts (no pooled connection to an app that is gone); on loopback it
//! costs next to nothing. A WebSocket upgrade (or any `Upgrade`) is sent as
//! is; when the app answers 101, both sides are upgraded and joined by
//! `copy_bidirectional`, so frames pass untouched, close codes included.

use std::net::SocketAddr;

use http::header::{
    ACCEPT, ACCEPT_ENCODING, CONNECTION, HOST, HeaderName, HeaderValue, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING,
    UPGRADE,
};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{Body, BoxError, text_response};
use crate::inject;

/// Sends `request` to the app over `stream` and returns its answer, with the
/// reload script (from `script`) in HTML pages.
pub(super) async fn forward(
    stream: TcpStream,
    mut request: Request<Incoming>,
    remote: SocketAddr,
    script: impl FnOnce() -> String,
) -> Response<Body> {
    let upgrade = wants_upgrade(request.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));
    let method = request.method().clone();
    prepare(&mut request, remote, upgrade);

    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(pair) => pair,
            Err(error) => return bad_gateway(&error),
        };
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            tracing::debug!(target: "crosswire::dev", %error, "app connection");
        }
    });
    let mut response = match sender.send_request(request).await {
        Ok(response) => response,
        Err(error) => return bad_gateway(&error),
    };

    if response.status() == StatusCode::SWITCHING_PROTOCOLS
        && let Some(client_upgrade) = client_upgrade
    {
        let app_upgrade = hyper::upgrade::on(&mut response);
        tokio::spawn(tunnel(client_upgrade, app_upgrade));
        return response.map(|_| Empty::new().map_err(|never| match never {}).boxed_unsync());
    }

    strip_hop_by_hop(response.headers_mut());
    if inject::wants_script(&method, response.status(), response.headers()) {
        let (mut parts, body) = response.into_parts();
        return match inject::inject(&mut parts.headers, body, &script()).await {
            Ok(body) => Response::from_parts(parts, body),
            Err(error) => bad_gateway(&*error),
        };
    }
    response.map(|body| body.map_err(BoxError::from).boxed_unsync())
}

/// Joins the browser's and the app's upgraded connections, byte for byte,
/// until either side closes.
async fn tunnel(client: OnUpgrade, app: OnUpgrade) {
    let (client, app) = match tokio::try_join!(client, app) {
        Ok(pair) => pair,
        Err(error) => {
            tracing::debug!(target: "crosswire::dev", %error, "upgrade failed");
            return;
        }
    };
    let (mut client, mut app) = (TokioIo::new(client), TokioIo::new(app));
    // An error here is one side dropping the connection; the other side
    // then sees its end closed, as it would without the proxy.
    let _ = tokio::io::copy_bidirectional(&mut client, &mut app).await;
}

/// Whether the request asks to switch protocols (`Connection: upgrade` and
/// an `Upgrade` header).
fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// Makes the browser's request the app's: origin-form URI, hop-by-hop
/// headers dropped (an upgrade keeps its `Upgrade`), `X-Forwarded-*` added.
/// `Host` stays, so the app's same-origin checks see the browser's origin.
fn prepare(request: &mut Request<Incoming>, remote: SocketAddr, upgrade: bool) {
    if request.uri().authority().is_some() {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        if let Ok(uri) = path.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    let navigation = request.method() == Method::GET
        && request
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    let headers = request.headers_mut();
    let upgrade_to = headers.get(UPGRADE).cloned();
    strip_hop_by_hop(headers);
    if upgrade && let Some(protocol) = upgrade_to {
        headers.insert(UPGRADE, protocol);
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
    if navigation {
        // A page must come whole and uncompressed to get the reload script.
        headers.remove(ACCEPT_ENCODING);
        headers.remove(IF_NONE_MATCH);
        headers.remove(IF_MODIFIED_SINCE);
    }
    let host = headers.get(HOST).cloned();
    if let Ok(ip) = HeaderValue::from_str(&remote.ip().to_string()) {
        headers.append(HeaderName::from_static("x-forwarded-for"), ip);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static("http"),
    );
    if let Some(host) = host {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host);
    }
}

/// Removes the headers that describe one connection rather than the
/// message (RFC 9110, 7.6.1), including those `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        CONNECTION,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
        PROXY_AUTHENTICATE,
        PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn bad_gateway(error: &dyn std::error::Error) -> Response<Body> {
    text_response(
        StatusCode::BAD_GATEWAY,
        &format!("crosswire dev: the app did not answer: {error}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_need_both_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        assert!(!wants_upgrade(&headers));
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive, Upgrade"));
        assert!(wants_upgrade(&headers));
    }

    #[test]
    fn hop_by_hop_headers_go_including_those_connection_names() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("close, x-trace"));
        headers.insert("x-trace", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert!(headers.contains_key("x-kept"));
    }
}
