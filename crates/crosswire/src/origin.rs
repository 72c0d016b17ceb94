//! Which web pages may open a WebSocket (or, opt-in, an event stream) on
//! this server: the `Origin` check.
//!
//! Browsers let any page open a WebSocket to any host, with the user's
//! cookies, and the same-origin policy does not apply to WebSockets: a page
//! on `evil.example` can talk to a chat server as its logged-in visitor
//! (cross-site WebSocket hijacking). What the server can trust is the
//! `Origin` header, which a browser always sets and a page cannot forge, so
//! OWASP asks every server to check it on upgrades.
//!
//! - No `Origin` header: not a browser (a CLI, a backend, a test), which no
//!   page can drive, so it is allowed.
//! - [`OriginPolicy::SameHost`] (no setting): an origin whose host and port
//!   equal the request's `Host` is allowed (the page came from this server),
//!   every other one is refused. `Origin: null` (sandboxed frames, `file:`
//!   pages, some redirects) is refused: it names no page to trust.
//! - [`OriginPolicy::List`]: only the listed origins, where
//!   `https://*.example.com` stands for the subdomains of `example.com` (any
//!   depth, not `example.com` itself, not `evil-example.com`).
//! - [`OriginPolicy::Any`] (`["*"]`): no check.
//!
//! Hosts compare without regard to case, and a missing port means the
//! scheme's default (80 for `http`/`ws`, 443 for `https`/`wss`). A `Host`
//! without a port matches an origin on its scheme's default port: behind a
//! TLS proxy, `Origin: https://example.com` arrives with `Host: example.com`.

use std::fmt;

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Uri};

/// Who may connect, from `allowed_origins`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginPolicy {
    /// No setting: the page must come from the host it connects to.
    SameHost,
    /// `["*"]`: every origin.
    Any,
    /// Only these origins.
    List(Vec<OriginPattern>),
}

/// One entry of `allowed_origins`: `scheme://host[:port]`, where the host
/// may start with `*.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OriginPattern {
    scheme: String,
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, kept as `.example.com`.
    Subdomains(String),
}

/// An origin or a `Host`, lowercased, with its port made explicit when the
/// scheme has a default one.
#[derive(Debug, PartialEq, Eq)]
struct Authority {
    host: String,
    port: Option<u16>,
}

/// An origin the policy refused, for the log line and the response.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The `Origin` as sent (shortened, lossy), or a note when there were several.
    pub(crate) origin: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

impl OriginPolicy {
    /// The policy for a setting: absent is [`SameHost`](Self::SameHost), a
    /// list holding `"*"` is [`Any`](Self::Any).
    pub(crate) fn from_setting(setting: Option<&[String]>) -> Result<Self, String> {
        let Some(entries) = setting else {
            return Ok(Self::SameHost);
        };
        let patterns = entries
            .iter()
            .filter(|entry| entry.trim() != "*")
            .map(|entry| OriginPattern::parse(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if patterns.len() < entries.len() {
            return Ok(Self::Any);
        }
        Ok(Self::List(patterns))
    }

    /// Checks the `Origin` of a request against the policy.
    pub(crate) fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), Refused> {
        let mut origins = headers.get_all(ORIGIN).into_iter();
        let Some(origin) = origins.next() else {
            return Ok(());
        };
        if origins.next().is_some() {
            return Err(Refused {
                origin: "(several Origin headers)".to_owned(),
            });
        }
        let refused = || Refused {
            origin: String::from_utf8_lossy(origin.as_bytes())
                .chars()
                .take(200)
                .collect(),
        };
        if *self == Self::Any {
            return Ok(());
        }
        let (scheme, authority) = origin
            .to_str()
            .ok()
            .and_then(parse_origin)
            .ok_or_else(refused)?;
        let allowed = match self {
            Self::Any => true,
            Self::SameHost => {
                request_host(headers, uri).is_some_and(|host| same_host(&scheme, &authority, &host))
            }
            Self::List(patterns) => patterns
                .iter()
                .any(|pattern| pattern.matches(&scheme, &authority)),
        };
        if allowed { Ok(()) } else { Err(refused()) }
    }
}

impl OriginPattern {
    /// Parses `https://example.com`, `http://localhost:3000` or
    /// `https://*.example.com`; the error says what was expected.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected an origin such as \"https://example.com\", \"http://localhost:3000\", \
                 \"https://*.example.com\" or \"*\", got \"{text}\""
            )
        };
        let (scheme, rest) = text.trim().split_once("://").ok_or_else(expected)?;
        let (host, wildcard) = match rest.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (rest, false),
        };
        let (_, authority) = parse_origin(&format!("{scheme}://{host}")).ok_or_else(expected)?;
        let scheme = scheme.to_ascii_lowercase();
        let host = if wildcard {
            HostPattern::Subdomains(format!(".{}", authority.host))
        } else {
            HostPattern::Exact(authority.host)
        };
        Ok(Self {
            scheme,
            host,
            port: authority.port,
        })
    }

    fn matches(&self, scheme: &str, origin: &Authority) -> bool {
        let host = match &self.host {
            HostPattern::Exact(host) => origin.host == *host,
            HostPattern::Subdomains(suffix) => {
                origin.host.len() > suffix.len() && origin.host.ends_with(suffix.as_str())
            }
        };
        self.scheme == scheme && host && self.port == origin.port
    }
}

/// `scheme://host[:port]` as a browser sends it: lowercase scheme, a host
/// with no `*`, path, user or query, and the default port filled in.
fn parse_origin(text: &str) -> Option<(String, Authority)> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let mut authority = parse_authority(rest)?;
    if authority.port.is_none() {
        authority.port = default_port(&scheme);
    }
    Some((scheme, authority))
}

/// `host[:port]` or `[v6]:port`, lowercased; `None` if anything else is there.
fn parse_authority(text: &str) -> Option<Authority> {
    let (host, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => {
            !v6.is_empty()
                && v6
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
        }
        None => {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
    };
    if !host_ok {
        return None;
    }
    let port = match port {
        Some(port) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            Some(port.parse().ok()?)
        }
        Some(_) => return None,
        None => None,
    };
    Some(Authority {
        host: host.to_ascii_lowercase(),
        port,
    })
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// The `Host` of the request (or the authority of an absolute URI).
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<Authority> {
    match headers.get(HOST) {
        Some(host) => parse_authority(host.to_str().ok()?.trim()),
        None => parse_authority(uri.authority()?.as_str()),
    }
}

/// The origin is the host the request was sent to. A `Host` without a port
/// stands for the default port of the origin's scheme.
fn same_host(scheme: &str, origin: &Authority, host: &Authority) -> bool {
    let port = host.port.or_else(|| default_port(scheme));
    origin.host == host.host && origin.port == port && port.is_some()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn check(policy: &OriginPolicy, origin: Option<&str>, host: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        policy.check(&headers, &Uri::from_static("/ws")).is_ok()
    }

    fn list(entries: &[&str]) -> OriginPolicy {
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        OriginPolicy::from_setting(Some(&entries)).unwrap()
    }

    #[test]
    fn same_host_allows_the_page_of_this_host_and_clients_without_origin() {
        let policy = OriginPolicy::SameHost;
        assert!(check(&policy, None, "example.com"));
        assert!(check(
            &policy,
            Some("http://localhost:3000"),
            "localhost:3000"
        ));
        assert!(check(
            &policy,
            Some("http://LocalHost:3000"),
            "localhost:3000"
        ));
        assert!(check(&policy, Some("HTTPS://Example.COM"), "example.com"));
        assert!(check(
            &policy,
            Some("https://example.com"),
            "example.com:443"
        ));
        assert!(check(&policy, Some("http://example.com"), "example.com:80"));
        assert!(check(&policy, Some("http://example.com:80"), "example.com"));
        assert!(check(&policy, Some("http://[::1]:3000"), "[::1]:3000"));
    }

    #[test]
    fn same_host_refuses_other_hosts_ports_and_null() {
        let policy = OriginPolicy::SameHost;
        assert!(!check(&policy, Some("http://evil.com"), "example.com"));
        assert!(!check(
            &policy,
            Some("http://localhost:3001"),
            "localhost:3000"
        ));
        assert!(!check(
            &policy,
            Some("https://example.com"),
            "example.com:80"
        ));
        assert!(!check(
            &policy,
            Some("https://example.com:8443"),
            "example.com"
        ));
        assert!(!check(
            &policy,
            Some("http://example.com:443"),
            "example.com"
        ));
        assert!(!check(&policy, Some("null"), "example.com"));
        assert!(!check(&policy, Some("file://"), "example.com"));
        assert!(!check(
            &policy,
            Some("http://example.com/path"),
            "example.com"
        ));
        assert!(!check(
            &policy,
            Some("http://user@example.com"),
            "example.com"
        ));
    }

    #[test]
    fn several_origin_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("example.com"));
        headers.append(ORIGIN, HeaderValue::from_static("http://example.com"));
        headers.append(ORIGIN, HeaderValue::from_static("http://example.com"));
        let uri = Uri::from_static("/");
        assert!(OriginPolicy::SameHost.check(&headers, &uri).is_err());
    }

    #[test]
    fn a_list_allows_exactly_its_origins() {
        let policy = list(&["https://example.com", "http://localhost:3000"]);
        assert!(check(&policy, Some("https://example.com"), "api.internal"));
        assert!(check(
            &policy,
            Some("https://example.com:443"),
            "api.internal"
        ));
        assert!(check(
            &policy,
            Some("http://localhost:3000"),
            "api.internal"
        ));
        assert!(check(&policy, None, "api.internal"));
        assert!(!check(&policy, Some("http://example.com"), "api.internal"));
        assert!(!check(
            &policy,
            Some("https://example.com:8443"),
            "api.internal"
        ));
        assert!(!check(
            &policy,
            Some("https://www.example.com"),
            "api.internal"
        ));
        // A list replaces the same-host rule.
        assert!(!check(&policy, Some("http://api.internal"), "api.internal"));
        assert!(!check(&policy, Some("null"), "api.internal"));
    }

    #[test]
    fn a_wildcard_matches_subdomains_only() {
        let policy = list(&["https://*.example.com"]);
        assert!(check(&policy, Some("https://app.example.com"), "x"));
        assert!(check(&policy, Some("https://a.b.Example.com"), "x"));
        assert!(!check(&policy, Some("https://example.com"), "x"));
        assert!(!check(&policy, Some("https://evil-example.com"), "x"));
        assert!(!check(&policy, Some("https://example.com.evil.com"), "x"));
        assert!(!check(&policy, Some("http://app.example.com"), "x"));
        assert!(!check(&policy, Some("https://app.example.com:8443"), "x"));
    }

    #[test]
    fn a_star_allows_everything() {
        let policy = list(&["https://example.com", "*"]);
        assert_eq!(policy, OriginPolicy::Any);
        let entries = vec!["*".to_owned(), "example.com".to_owned()];
        assert!(OriginPolicy::from_setting(Some(&entries)).is_err());
        assert!(check(&policy, Some("null"), "x"));
        assert!(check(&policy, Some("http://evil.com"), "x"));
    }

    #[test]
    fn bad_patterns_say_what_was_expected() {
        for bad in [
            "example.com",
            "https://",
            "https://*",
            "https://a.*.com",
            "https://*example.com",
            "https://example.com/",
            "https://example.com:port",
            "https://a:b:80",
            "https://[::1",
            "https://[]:80",
            "://example.com",
        ] {
            let error = OriginPattern::parse(bad).unwrap_err();
            assert!(error.contains("expected an origin"), "{bad}: {error}");
        }
    }
}
