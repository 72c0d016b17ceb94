//! Checks of an upgrade request against section 4.2.1.

use super::accept::accept_key;
use super::request::Handshake;
use super::tokens::{has_token, list_items};
use crate::error::HandshakeError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, Method, Version};

/// Length of a decoded `Sec-WebSocket-Key`.
const KEY_LEN: usize = 16;
/// Length of a 16-byte key in padded base64, checked before decoding anything.
const ENCODED_KEY_LEN: usize = 24;
/// The only protocol version this crate speaks.
const SUPPORTED_VERSION: &[u8] = b"13";

/// True if the request asks for a WebSocket upgrade (an `Upgrade` header whose comma-separated
/// tokens include `websocket`, case-insensitive). Requests for which this is false are plain HTTP.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use crosswire_proto::is_upgrade_request;
///
/// let mut headers = HeaderMap::new();
/// assert!(!is_upgrade_request(&headers));
/// headers.insert("upgrade", HeaderValue::from_static("WebSocket"));
/// assert!(is_upgrade_request(&headers));
/// ```
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    has_token(headers, &UPGRADE, "websocket")
}

/// Validates an upgrade request: GET (else 405), HTTP/1.1 or later (else 400), Upgrade: websocket,
/// Connection containing the token `upgrade` (case-insensitive, comma lists), Sec-WebSocket-Key
/// that base64-decodes to exactly 16 bytes, Sec-WebSocket-Version: 13 (else 426).
///
/// # Errors
///
/// The first failed check, in the order above, as a [`HandshakeError`] that
/// knows the status, headers and body text of the refusal. A missing
/// `Sec-WebSocket-Version` counts as unsupported, so the client learns which
/// version to send.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
/// use crosswire_proto::validate_request;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("upgrade", HeaderValue::from_static("websocket"));
/// headers.insert("connection", HeaderValue::from_static("keep-alive, Upgrade"));
/// headers.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
/// headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
/// headers.insert("sec-websocket-protocol", HeaderValue::from_static("chat, superchat"));
///
/// let handshake = validate_request(&Method::GET, Version::HTTP_11, &headers)?;
/// assert_eq!(handshake.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert_eq!(handshake.protocols(), ["chat", "superchat"]);
///
/// let error = validate_request(&Method::POST, Version::HTTP_11, &headers).unwrap_err();
/// assert_eq!(error.status(), StatusCode::METHOD_NOT_ALLOWED);
/// # Ok::<(), crosswire_proto::HandshakeError>(())
/// ```
pub fn validate_request(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<Handshake, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if version < Version::HTTP_11 {
        return Err(HandshakeError::UnsupportedHttpVersion);
    }
    if !is_upgrade_request(headers) {
        return Err(HandshakeError::MissingUpgrade);
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let key = client_key(headers)?;
    if !speaks_version_13(headers) {
        return Err(HandshakeError::UnsupportedVersion);
    }
    Ok(Handshake::new(
        accept_key(key),
        offered_protocols(headers),
        offered_extensions(headers),
    ))
}

/// The single `Sec-WebSocket-Key`, as sent, once it is known to encode 16 bytes.
fn client_key(headers: &HeaderMap) -> Result<&[u8], HandshakeError> {
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).into_iter();
    let key = keys.next().ok_or(HandshakeError::MissingKey)?;
    // Section 4.1 allows exactly one key; with several, none can be trusted.
    if keys.next().is_some() {
        return Err(HandshakeError::InvalidKey);
    }
    let key = key.as_bytes().trim_ascii();
    if key.len() != ENCODED_KEY_LEN {
        return Err(HandshakeError::InvalidKey);
    }
    // Decoded on the stack: a key is checked, not kept.
    let mut decoded = [0u8; ENCODED_KEY_LEN / 4 * 3];
    match STANDARD.decode_slice(key, &mut decoded) {
        Ok(len) if len == KEY_LEN => Ok(key),
        _ => Err(HandshakeError::InvalidKey),
    }
}

/// True if the client sent exactly one `Sec-WebSocket-Version`, and it is 13.
fn speaks_version_13(headers: &HeaderMap) -> bool {
    let mut versions = list_items(headers, &SEC_WEBSOCKET_VERSION);
    versions.next() == Some(SUPPORTED_VERSION) && versions.next().is_none()
}

/// Every offered subprotocol, in order; items that are not text are skipped.
fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    list_items(headers, &SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|item| std::str::from_utf8(item).ok())
        .map(str::to_owned)
        .collect()
}

/// The extension offers joined into one list, or `None` if there are none.
///
/// Bytes that are not text are kept (as U+FFFD), so that negotiating the
/// list finds it malformed rather than silently ignoring that header.
fn offered_extensions(headers: &HeaderMap) -> Option<String> {
    let offers: Vec<String> = headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .filter(|offer| !offer.is_empty())
        .collect();
    (!offers.is_empty()).then(|| offers.join(", "))
}

#[cfg(test)]
mod tests {
    use super::validate_request;
    use crate::error::HandshakeError;
    use http::{HeaderMap, HeaderValue, Method, Version};

    const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn valid_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("upgrade", HeaderValue::from_static("websocket"));
        headers.insert("connection", HeaderValue::from_static("Upgrade"));
        headers.insert("sec-websocket-key", HeaderValue::from_static(SAMPLE_KEY));
        headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
        headers
    }

    fn validate(headers: &HeaderMap) -> Result<crate::Handshake, HandshakeError> {
        validate_request(&Method::GET, Version::HTTP_11, headers)
    }

    fn with(name: &'static str, value: &'static str) -> HeaderMap {
        let mut headers = valid_headers();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    fn without(name: &'static str) -> HeaderMap {
        let mut headers = valid_headers();
        headers.remove(name);
        headers
    }

    #[test]
    fn valid_request_is_accepted_with_rfc_accept_value() {
        let handshake = validate(&valid_headers()).expect("valid request");
        assert_eq!(handshake.accept(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert!(handshake.protocols().is_empty());
        assert_eq!(handshake.extensions(), None);
    }

    #[test]
    fn non_get_method_is_rejected() {
        let result = validate_request(&Method::POST, Version::HTTP_11, &valid_headers());
        assert_eq!(result.err(), Some(HandshakeError::MethodNotAllowed));
    }

    #[test]
    fn http_10_is_rejected() {
        let result = validate_request(&Method::GET, Version::HTTP_10, &valid_headers());
        assert_eq!(result.err(), Some(HandshakeError::UnsupportedHttpVersion));
    }

    #[test]
    fn later_http_versions_are_accepted() {
        assert!(validate_request(&Method::GET, Version::HTTP_2, &valid_headers()).is_ok());
    }

    #[test]
    fn missing_upgrade_is_rejected() {
        assert_eq!(
            validate(&without("upgrade")).err(),
            Some(HandshakeError::MissingUpgrade)
        );
        assert_eq!(
            validate(&with("upgrade", "h2c")).err(),
            Some(HandshakeError::MissingUpgrade)
        );
    }

    #[test]
    fn upgrade_token_is_case_insensitive_in_a_list() {
        assert!(validate(&with("upgrade", "foo, WebSocket")).is_ok());
    }

    #[test]
    fn missing_connection_upgrade_is_rejected() {
        assert_eq!(
            validate(&without("connection")).err(),
            Some(HandshakeError::MissingConnectionUpgrade)
        );
        assert_eq!(
            validate(&with("connection", "keep-alive")).err(),
            Some(HandshakeError::MissingConnectionUpgrade)
        );
    }

    #[test]
    fn connection_upgrade_may_be_in_a_list() {
        assert!(validate(&with("connection", "keep-alive, UPGRADE")).is_ok());
    }

    #[test]
    fn missing_key_is_rejected() {
        assert_eq!(
            validate(&without("sec-websocket-key")).err(),
            Some(HandshakeError::MissingKey)
        );
    }

    #[test]
    fn key_not_decoding_to_16_bytes_is_rejected() {
        for key in [
            "",
            "not base64 at all!!!!!!!",
            "dGhlIHNhbXBsZSBub25jZQ",
            "dGhlIHNhbXBsZSBub25jZSE=",
            "dGhlIHNhbXBsZSBub25jZQ==dGhl",
        ] {
            let mut headers = valid_headers();
            headers.insert(
                "sec-websocket-key",
                HeaderValue::from_str(key).expect("test key"),
            );
            assert_eq!(
                validate(&headers).err(),
                Some(HandshakeError::InvalidKey),
                "{key:?}"
            );
        }
    }

    #[test]
    fn repeated_key_is_rejected() {
        let mut headers = valid_headers();
        headers.append("sec-websocket-key", HeaderValue::from_static(SAMPLE_KEY));
        assert_eq!(validate(&headers).err(), Some(HandshakeError::InvalidKey));
    }

    #[test]
    fn version_other_than_13_is_rejected() {
        assert_eq!(
            validate(&with("sec-websocket-version", "8")).err(),
            Some(HandshakeError::UnsupportedVersion)
        );
        assert_eq!(
            validate(&with("sec-websocket-version", "13, 8")).err(),
            Some(HandshakeError::UnsupportedVersion)
        );
    }

    #[test]
    fn missing_version_is_rejected_as_unsupported() {
        assert_eq!(
            validate(&without("sec-websocket-version")).err(),
            Some(HandshakeError::UnsupportedVersion)
        );
    }

    #[test]
    fn protocols_are_collected_trimmed_in_order() {
        let mut headers = with("sec-websocket-protocol", " chat ,superchat");
        headers.append(
            "sec-websocket-protocol",
            HeaderValue::from_static("v2.json"),
        );
        let handshake = validate(&headers).expect("valid request");
        assert_eq!(handshake.protocols(), ["chat", "superchat", "v2.json"]);
    }

    #[test]
    fn extensions_are_joined() {
        let mut headers = with(
            "sec-websocket-extensions",
            "permessage-deflate; client_max_window_bits",
        );
        headers.append(
            "sec-websocket-extensions",
            HeaderValue::from_static("x-foo"),
        );
        let handshake = validate(&headers).expect("valid request");
        assert_eq!(
            handshake.extensions(),
            Some("permessage-deflate; client_max_window_bits, x-foo")
        );
    }

    #[test]
    fn an_extensions_header_that_is_not_text_is_malformed_not_ignored() {
        let mut headers = valid_headers();
        headers.insert(
            "sec-websocket-extensions",
            HeaderValue::from_bytes(b"permessage-deflate; x=\xe9").expect("obs-text is allowed"),
        );
        let handshake = validate(&headers).expect("valid request");
        let negotiated = handshake.negotiate_deflate(crate::deflate::Policy::default());
        assert_eq!(negotiated, Err(HandshakeError::InvalidExtensions));
    }
}
