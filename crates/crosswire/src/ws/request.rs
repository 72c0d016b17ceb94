//! What a WebSocket handler knows about the HTTP request that opened it.
//!
//! The same value is given to the `upgrade` hook and kept by the [`Peer`](crate::Peer)
//! (`peer.request()`), so every hook sees the URL, headers, route parameters and
//! remote address of its connection.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};

/// The request that asked for a WebSocket upgrade. Cheap to clone.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    method: Method,
    uri: Uri,
    url: String,
    headers: HeaderMap,
    remote_addr: SocketAddr,
    params: Vec<(String, String)>,
    protocols: Vec<String>,
    extensions: Option<String>,
}

impl UpgradeRequest {
    /// Builds the request description; `url` is rebuilt from `Host` and the path.
    pub(crate) fn new(
        parts: &http::request::Parts,
        remote_addr: SocketAddr,
        params: Vec<(String, String)>,
        protocols: Vec<String>,
        extensions: Option<String>,
    ) -> Self {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_owned());
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        Self {
            inner: Arc::new(Inner {
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                url: format!("http://{host}{path}"),
                headers: parts.headers.clone(),
                remote_addr,
                params,
                protocols,
                extensions,
            }),
        }
    }

    /// The full URL, rebuilt from the `Host` header and the request target,
    /// like `http://localhost:3000/api/ws/chat?room=1`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The request target as received (path and query).
    pub fn uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// The path of the request target.
    pub fn path(&self) -> &str {
        self.inner.uri.path()
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.inner.uri.query()
    }

    /// The request method (always GET for an accepted upgrade).
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// One header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The client's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_addr
    }

    /// A route parameter, such as `id` for the route `/users/{id}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// All route parameters, in route order.
    pub fn params(&self) -> &[(String, String)] {
        &self.inner.params
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.inner.protocols
    }

    /// The raw `Sec-WebSocket-Extensions` header the client sent.
    pub fn extensions(&self) -> Option<&str> {
        self.inner.extensions.as_deref()
    }
}
