//! Comma-separated header lists.
//!
//! `Connection`, `Upgrade` and the `Sec-WebSocket-*` list headers may each be
//! sent several times, each time with a comma-separated list (RFC 9110,
//! section 5.3), so every lookup has to flatten both levels.

use http::{HeaderMap, HeaderName};

/// The non-empty, whitespace-trimmed items of every `name` header, in order.
pub(super) fn list_items<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
}

/// True if some `name` header lists `token`, compared case-insensitively.
pub(super) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    list_items(headers, name).any(|item| item.eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::{has_token, list_items};
    use http::header::CONNECTION;
    use http::{HeaderMap, HeaderValue};

    fn connection(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CONNECTION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn items_span_repeated_headers_and_commas() {
        let headers = connection(&["keep-alive, Upgrade", " ,close"]);
        let items: Vec<_> = list_items(&headers, &CONNECTION).collect();
        assert_eq!(items, [&b"keep-alive"[..], b"Upgrade", b"close"]);
    }

    #[test]
    fn tokens_match_case_insensitively() {
        let headers = connection(&["keep-alive, UPGRADE"]);
        assert!(has_token(&headers, &CONNECTION, "upgrade"));
    }

    #[test]
    fn token_must_match_a_whole_item() {
        let headers = connection(&["upgrades, no-upgrade"]);
        assert!(!has_token(&headers, &CONNECTION, "upgrade"));
    }
}
