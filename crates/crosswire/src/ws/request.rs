//! What a WebSocket handler knows about the HTTP request that opened it.
//!
//! The same value is given to the `upgrade` hook and kept by the [`Peer`](crate::Peer)
//! (`peer.request()`), so every hook sees the URL, headers, route parameters and
//! remote address of its connection.
//!
//! A peer keeps this for as long as its connection lives, so it is stored
//! compactly: the URL as one string, the headers as one buffer of
//! `name:value` lines, and a [`HeaderMap`] built only if someone asks for it.
//! The copy also detaches it from hyper, which parses requests in place:
//! keeping hyper's header values would pin the connection's whole read
//! buffer (kilobytes) for every idle peer.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The request that asked for a WebSocket upgrade. Cheap to clone.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `http://host/path?query`.
    url: Box<str>,
    /// Where the path starts in `url`.
    path_start: usize,
    /// Each header as `name:value\n` (names are lower-case, values hold no
    /// newline: both are guaranteed by the `http` types they came from).
    raw_headers: Box<[u8]>,
    /// The headers as a map, built on first use (boxed: most peers never
    /// ask, and the empty cell is then a pointer, not a whole map).
    headers: OnceLock<Box<HeaderMap>>,
    remote_addr: SocketAddr,
    /// The route pattern that matched (`/users/{id}`), shared by every
    /// connection on the route.
    route: Arc<str>,
    params: Box<[(Box<str>, Box<str>)]>,
    protocols: Box<[String]>,
    extensions: Option<Box<str>>,
}

impl UpgradeRequest {
    /// Builds the request description; `url` is rebuilt from `Host` and the path.
    pub(crate) fn new(
        parts: &http::request::Parts,
        remote_addr: SocketAddr,
        route: Arc<str>,
        params: Vec<(String, String)>,
        protocols: Vec<String>,
        extensions: Option<String>,
    ) -> Self {
        // Each buffer is sized before it is filled, so building one is a
        // single allocation of exactly its length (a handshake made several
        // growing and shrinking ones here, a tenth of its CPU in malloc).
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty())
            .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
            .unwrap_or("localhost");
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        const SCHEME: &str = "http://";
        let mut url = String::with_capacity(SCHEME.len() + host.len() + path.len());
        url.push_str(SCHEME);
        url.push_str(host);
        let path_start = url.len();
        url.push_str(path);
        let raw_len = parts
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut raw_headers = Vec::with_capacity(raw_len);
        for (name, value) in &parts.headers {
            raw_headers.extend_from_slice(name.as_str().as_bytes());
            raw_headers.push(b':');
            raw_headers.extend_from_slice(value.as_bytes());
            raw_headers.push(b'\n');
        }
        Self {
            inner: Arc::new(Inner {
                path_start,
                url: url.into_boxed_str(),
                raw_headers: raw_headers.into_boxed_slice(),
                headers: OnceLock::new(),
                remote_addr,
                route,
                params: params
                    .into_iter()
                    .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                    .collect(),
                protocols: protocols.into_boxed_slice(),
                extensions: extensions.map(String::into_boxed_str),
            }),
        }
    }

    /// Bytes of the shared part, and of what it holds on the heap.
    #[cfg(test)]
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let inner = &self.inner;
        let heap = inner.url.len()
            + inner.raw_headers.len()
            + inner
                .params
                .iter()
                .map(|(k, v)| std::mem::size_of::<(Box<str>, Box<str>)>() + k.len() + v.len())
                .sum::<usize>()
            + inner.protocols.iter().map(|p| 24 + p.len()).sum::<usize>()
            + inner.extensions.as_ref().map_or(0, |e| e.len());
        (std::mem::size_of::<Inner>(), heap)
    }

    /// The full URL, rebuilt from the `Host` header and the request target,
    /// like `http://localhost:3000/api/ws/chat?room=1`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The request target as received: path and query.
    pub fn path_and_query(&self) -> &str {
        &self.inner.url[self.inner.path_start..]
    }

    /// The path of the request target.
    pub fn path(&self) -> &str {
        let target = self.path_and_query();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query()
            .split_once('?')
            .map(|(_, query)| query)
    }

    /// All request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers.get_or_init(|| {
            let mut map = HeaderMap::new();
            for (name, value) in self.raw_header_lines() {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
                {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }

    /// One header as text (the first, if repeated), looked up
    /// case-insensitively; `None` if absent or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw_header_lines()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .filter(|value| {
                value
                    .bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
            })
    }

    fn raw_header_lines(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.inner
            .raw_headers
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let colon = line.iter().position(|&b| b == b':')?;
                Some((&line[..colon], &line[colon + 1..]))
            })
    }

    /// The client's address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_addr
    }

    /// The route pattern that matched, as it was registered: `/users/{id}`
    /// for a request to `/users/42`. Connection log spans carry it as
    /// `route`, so one route's connections can be found together.
    pub fn route(&self) -> &str {
        &self.inner.route
    }

    /// A route parameter, such as `id` for the route `/users/{id}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .params
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// All route parameters, in route order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner.params.iter().map(|(k, v)| (&**k, &**v))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str, headers: &[(&str, &str)]) -> UpgradeRequest {
        let mut builder = http::Request::builder().uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        UpgradeRequest::new(
            &parts,
            "127.0.0.1:5000".parse().unwrap(),
            Arc::from("/rooms/{room}"),
            vec![("room".into(), "blue".into())],
            vec![],
            None,
        )
    }

    #[test]
    fn url_path_and_query_come_from_host_and_target() {
        let req = request("/chat?x=1&y=2", &[("host", "example.com:3000")]);
        assert_eq!(req.url(), "http://example.com:3000/chat?x=1&y=2");
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("x=1&y=2"));
        assert_eq!(req.path_and_query(), "/chat?x=1&y=2");
        assert_eq!(request("/", &[("host", "h")]).query(), None);
        assert_eq!(req.param("room"), Some("blue"));
    }

    #[test]
    fn headers_keep_repeats_and_colons_in_values() {
        let req = request(
            "/",
            &[
                ("host", "h"),
                ("x-a", "1"),
                ("x-a", "2"),
                ("x-time", "12:30:00"),
            ],
        );
        assert_eq!(req.header("X-A"), Some("1"));
        assert_eq!(req.header("x-time"), Some("12:30:00"));
        assert_eq!(req.header("missing"), None);
        let all: Vec<_> = req.headers().get_all("x-a").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(req.headers()["x-time"], "12:30:00");
    }
}
