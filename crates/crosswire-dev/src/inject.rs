//! Putting the reload script into HTML pages.
//!
//! The page has to listen on the reload channel, and the app should not have
//! to know, so the proxy inserts a small inline script before `</body>` of
//! every HTML response it forwards. Only plain HTML is touched: a compressed
//! body or any other type passes through byte for byte. (The proxy asks the
//! app for uncompressed pages, so compression rarely gets in the way.)
//!
//! The page is buffered to insert the script, and `Content-Length` follows
//! the new size. Its validators (`ETag`, `Last-Modified`) are dropped and it
//! is marked `no-store`: the script names the build it came with, and a
//! cached copy from an older build would reload forever.

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderValue, LAST_MODIFIED,
};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};

use crate::proxy::{Body, BoxError};

/// The largest page that gets the script; larger ones pass through as they
/// are (and the rest of the body streams on).
const MAX_PAGE: usize = 8 << 20;

/// The reload script's source: a function of its settings.
const CLIENT: &str = include_str!("reload/client.js");

/// The `<script>` element for pages served now: the client with the channel's
/// address and the id of the build serving the page.
pub(crate) fn script_tag(path: &str, port: Option<u16>, build_id: &str) -> String {
    let settings = serde_json::json!({ "path": path, "port": port, "id": build_id });
    // `<` never appears in the JSON as is, so no value can close the element.
    let settings = settings.to_string().replace('<', "\\u003c");
    format!(
        "<script data-crosswire-dev>\n({})({settings});\n</script>\n",
        CLIENT.trim_end()
    )
}

/// Whether a response to `method` with this status and these headers is a
/// page that gets the script.
pub(crate) fn wants_script(method: &Method, status: StatusCode, headers: &HeaderMap) -> bool {
    let html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let plain = headers
        .get(CONTENT_ENCODING)
        .is_none_or(|v| v.as_bytes().eq_ignore_ascii_case(b"identity"));
    let has_body = *method != Method::HEAD
        && !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED;
    html && plain && has_body
}

/// `html` with `script` before its last `</body>` (or `</html>`, or at the
/// end when it has neither: browsers run a script there too).
pub(crate) fn insert(html: &[u8], script: &str) -> Vec<u8> {
    let at = rfind_tag(html, b"</body")
        .or_else(|| rfind_tag(html, b"</html"))
        .unwrap_or(html.len());
    let mut page = Vec::with_capacity(html.len() + script.len());
    page.extend_from_slice(&html[..at]);
    page.extend_from_slice(script.as_bytes());
    page.extend_from_slice(&html[at..]);
    page
}

/// The position of the last `tag`, compared ASCII case-insensitively.
fn rfind_tag(html: &[u8], tag: &[u8]) -> Option<usize> {
    html.windows(tag.len())
        .rposition(|window| window.eq_ignore_ascii_case(tag))
}

/// The response's body with the script inserted, and its headers fixed.
pub(crate) async fn inject(
    headers: &mut HeaderMap,
    mut body: Incoming,
    script: &str,
) -> Result<Body, BoxError> {
    let mut page = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers: nothing to keep for a page
        };
        if page.len() + data.len() > MAX_PAGE {
            // Too big to hold: send what came so far and stream the rest.
            page.extend_from_slice(&data);
            let head = Frame::data(page.freeze());
            let head = futures_util::stream::iter([Ok::<_, BoxError>(head)]);
            let rest = body
                .into_data_stream()
                .map(|data| data.map(Frame::data).map_err(BoxError::from));
            return Ok(StreamBody::new(head.chain(rest)).boxed_unsync());
        }
        page.extend_from_slice(&data);
    }
    let page = Bytes::from(insert(&page, script));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(page.len()));
    headers.remove(ETAG);
    headers.remove(LAST_MODIFIED);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Full::new(page)
        .map_err(|never| match never {})
        .boxed_unsync())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages in any charset get the script: it must read the same in all.
    #[test]
    fn the_injected_script_is_ascii() {
        assert!(CLIENT.is_ascii());
    }

    const SCRIPT: &str = "<script>x</script>";

    #[test]
    fn the_script_goes_before_the_last_closing_body_tag() {
        let page = b"<html><body><p>&lt;/body&gt;</p></BODY>\n</html>";
        assert_eq!(
            String::from_utf8(insert(page, SCRIPT)).unwrap(),
            "<html><body><p>&lt;/body&gt;</p><script>x</script></BODY>\n</html>"
        );
        assert_eq!(
            String::from_utf8(insert(b"<p>hi</p></html>", SCRIPT)).unwrap(),
            "<p>hi</p><script>x</script></html>"
        );
        assert_eq!(
            String::from_utf8(insert(b"<p>hi</p>", SCRIPT)).unwrap(),
            "<p>hi</p><script>x</script>"
        );
    }

    #[test]
    fn only_plain_html_bodies_get_the_script() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let html = headers(&[("content-type", "text/html; charset=utf-8")]);
        assert!(wants_script(&Method::GET, StatusCode::OK, &html));
        assert!(wants_script(&Method::GET, StatusCode::NOT_FOUND, &html));
        assert!(!wants_script(&Method::HEAD, StatusCode::OK, &html));
        assert!(!wants_script(&Method::GET, StatusCode::NOT_MODIFIED, &html));
        let gzip = headers(&[("content-type", "text/html"), ("content-encoding", "gzip")]);
        assert!(!wants_script(&Method::GET, StatusCode::OK, &gzip));
        let json = headers(&[("content-type", "application/json")]);
        assert!(!wants_script(&Method::GET, StatusCode::OK, &json));
        assert!(!wants_script(
            &Method::GET,
            StatusCode::OK,
            &HeaderMap::new()
        ));
    }

    #[test]
    fn the_tag_carries_its_settings_and_cannot_be_closed_early() {
        let tag = script_tag("/__crosswire/reload", Some(3002), "</script>");
        assert!(tag.starts_with("<script data-crosswire-dev>"), "{tag}");
        assert!(tag.contains(r#""path":"/__crosswire/reload""#), "{tag}");
        assert!(tag.contains(r#""port":3002"#), "{tag}");
        assert_eq!(tag.matches("</script>").count(), 1, "{tag}");
    }
}
