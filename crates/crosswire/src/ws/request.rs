//! What a WebSocket handler knows about the HTTP request that opened it.
//!
//! The same value is given to the `upgrade` hook and kept by the [`Peer`](crate::Peer)
//! (`peer.request()`), so every hook sees the URL, headers, route parameters and
//! remote address of its connection.
//!
//! A peer keeps this for as long as its connection lives, so it is stored
//! compactly: the URL and the headers (as `name:value` lines) in one
//! buffer, route parameters and subprotocols behind one pointer that most
//! connections leave empty, and a [`HeaderMap`] built only if someone asks
//! for it.
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
    /// `http://host/path?query`, then each header as `name:value\n` (names
    /// are lower-case, values hold no newline: both are guaranteed by the
    /// `http` types they came from). One allocation for both.
    text: Box<[u8]>,
    /// Where the headers start in `text` (the URL's length).
    url_len: u32,
    /// Where the path starts in `text`.
    path_start: u32,
    /// The headers as a map, built on first use (boxed: most peers never
    /// ask, and the empty cell is then a pointer, not a whole map).
    headers: OnceLock<Box<HeaderMap>>,
    remote_addr: SocketAddr,
    /// The route pattern that matched (`/users/{id}`), shared by every
    /// connection on the route.
    route: Arc<str>,
    /// What only some connections have; `None` for most, which then keep
    /// a pointer instead of three empty lists.
    extras: Option<Box<Extras>>,
}

/// Route parameters, offered subprotocols and the extensions header.
#[derive(Debug)]
struct Extras {
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
        let url_len = SCHEME.len() + host.len() + path.len();
        let headers_len: usize = parts
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 2)
            .sum();
        let mut text = Vec::with_capacity(url_len + headers_len);
        text.extend_from_slice(SCHEME.as_bytes());
        text.extend_from_slice(host.as_bytes());
        let path_start = text.len();
        text.extend_from_slice(path.as_bytes());
        for (name, value) in &parts.headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.push(b':');
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
        let extras =
            (!params.is_empty() || !protocols.is_empty() || extensions.is_some()).then(|| {
                Box::new(Extras {
                    params: params
                        .into_iter()
                        .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                        .collect(),
                    protocols: protocols.into_boxed_slice(),
                    extensions: extensions.map(String::into_boxed_str),
                })
            });
        Self {
            inner: Arc::new(Inner {
                // A head is at most `max_header_bytes` (kilobytes), far
                // below `u32::MAX`; saturating keeps a bad limit harmless.
                url_len: u32::try_from(url_len).unwrap_or(u32::MAX),
                path_start: u32::try_from(path_start).unwrap_or(u32::MAX),
                text: text.into_boxed_slice(),
                headers: OnceLock::new(),
                remote_addr,
                route,
                extras,
            }),
        }
    }

    /// Bytes of the shared part, and of what it holds on the heap.
    #[cfg(test)]
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let inner = &self.inner;
        let extras = inner.extras.as_ref().map_or(0, |extras| {
            std::mem::size_of::<Extras>()
                + extras
                    .params
                    .iter()
                    .map(|(k, v)| std::mem::size_of::<(Box<str>, Box<str>)>() + k.len() + v.len())
                    .sum::<usize>()
                + extras.protocols.iter().map(|p| 24 + p.len()).sum::<usize>()
                + extras.extensions.as_ref().map_or(0, |e| e.len())
        });
        (std::mem::size_of::<Inner>(), inner.text.len() + extras)
    }

    /// `text[range]` as text: the URL part was built from `&str`s, so this
    /// only checks it again (a URL is short) rather than trusting it.
    fn url_text(&self, start: u32) -> &str {
        let inner = &self.inner;
        inner
            .text
            .get(start as usize..inner.url_len as usize)
            .and_then(|url| std::str::from_utf8(url).ok())
            .unwrap_or_default()
    }

    /// The full URL, rebuilt from the `Host` header and the request target,
    /// like `http://localhost:3000/api/ws/chat?room=1`.
    pub fn url(&self) -> &str {
        self.url_text(0)
    }

    /// The request target as received: path and query.
    pub fn path_and_query(&self) -> &str {
        self.url_text(self.inner.path_start)
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
            .text
            .get(self.inner.url_len as usize..)
            .unwrap_or_default()
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

    /// A route parameter, such as `id` for the route `/users/{id}`, as the
    /// client sent it: percent-encoded (`caf%C3%A9`), as h3's
    /// `getRouterParam` gives it. See [`param_decoded`](Self::param_decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner
            .extras
            .as_ref()?
            .params
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// A route parameter percent-decoded (`caf%C3%A9` is `café`), as axum's
    /// `Path` gives parameters to HTTP handlers, so a WebSocket route and an
    /// HTTP route name the same room the same way. Bytes that are not UTF-8
    /// once decoded are replaced with U+FFFD.
    ///
    /// ```
    /// # use crosswire::prelude::*;
    /// let handler = hooks().open(|peer: Peer| async move {
    ///     let room = peer.request().param_decoded("room").unwrap_or_default();
    ///     peer.subscribe(format!("room:{room}"));
    /// });
    /// # let _ = App::new().websocket("/rooms/{room}", handler);
    /// ```
    pub fn param_decoded(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        self.param(name)
            .map(|raw| percent_encoding::percent_decode_str(raw).decode_utf8_lossy())
    }

    /// All route parameters, as sent, in route order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .extras
            .iter()
            .flat_map(|extras| extras.params.iter())
            .map(|(k, v)| (&**k, &**v))
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        self.inner
            .extras
            .as_ref()
            .map_or(&[], |extras| &extras.protocols)
    }

    /// The raw `Sec-WebSocket-Extensions` header the client sent.
    pub fn extensions(&self) -> Option<&str> {
        self.inner
            .extras
            .as_ref()
            .and_then(|extras| extras.extensions.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a handshake hands over besides the request head.
    struct Negotiated {
        route: &'static str,
        params: Vec<(String, String)>,
        protocols: Vec<String>,
        extensions: Option<String>,
    }

    fn built(parts: &http::request::Parts, negotiated: Negotiated) -> UpgradeRequest {
        UpgradeRequest::new(
            parts,
            "127.0.0.1:5000".parse().unwrap(),
            Arc::from(negotiated.route),
            negotiated.params,
            negotiated.protocols,
            negotiated.extensions,
        )
    }

    fn request(target: &str, headers: &[(&str, &str)]) -> UpgradeRequest {
        let mut builder = http::Request::builder().uri(target);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let negotiated = Negotiated {
            route: "/rooms/{room}",
            params: vec![("room".into(), "blue".into())],
            protocols: vec![],
            extensions: None,
        };
        built(&parts, negotiated)
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

    #[test]
    fn a_plain_request_keeps_no_extras_and_answers_empty() {
        let (parts, ()) = http::Request::builder()
            .uri("/chat")
            .header("host", "h")
            .body(())
            .unwrap()
            .into_parts();
        let negotiated = Negotiated {
            route: "/chat",
            params: vec![],
            protocols: vec![],
            extensions: None,
        };
        let req = built(&parts, negotiated);
        assert!(req.inner.extras.is_none());
        assert_eq!(req.params().count(), 0);
        assert_eq!(req.param("room"), None);
        assert!(req.protocols().is_empty());
        assert_eq!(req.extensions(), None);
        assert_eq!(req.url(), "http://h/chat");
    }

    #[test]
    fn protocols_extensions_and_params_are_kept() {
        let (parts, ()) = http::Request::builder()
            .uri("/rooms/blue?x=1")
            .header("host", "h")
            .header(
                "x-bytes",
                http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
            )
            .body(())
            .unwrap()
            .into_parts();
        let negotiated = Negotiated {
            route: "/rooms/{room}",
            params: vec![("room".into(), "blue".into())],
            protocols: vec!["chat.v2".into(), "chat.v1".into()],
            extensions: Some("permessage-deflate".into()),
        };
        let req = built(&parts, negotiated);
        assert_eq!(req.params().collect::<Vec<_>>(), [("room", "blue")]);
        assert_eq!(req.protocols(), ["chat.v2", "chat.v1"]);
        assert_eq!(req.extensions(), Some("permessage-deflate"));
        // A header value that is not text leaves the URL and the others intact.
        assert_eq!(req.url(), "http://h/rooms/blue?x=1");
        assert_eq!(req.path_and_query(), "/rooms/blue?x=1");
        assert_eq!(req.header("x-bytes"), None);
        assert_eq!(req.headers()["x-bytes"].as_bytes(), b"caf\xe9");
        assert_eq!(req.header("host"), Some("h"));
    }
}
