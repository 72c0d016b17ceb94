//! Rejections of an upgrade request, each mapped to its HTTP response.

use http::header::{ALLOW, SEC_WEBSOCKET_VERSION};
use http::{HeaderMap, HeaderValue, StatusCode};

/// Why an upgrade request was refused; carries the status and headers of the refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The request method is not `GET`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request is older than HTTP/1.1.
    #[error("unsupported http version")]
    UnsupportedHttpVersion,
    /// No `Upgrade` header lists `websocket`.
    #[error("missing upgrade: websocket")]
    MissingUpgrade,
    /// No `Connection` header lists `upgrade`.
    #[error("missing connection: upgrade")]
    MissingConnectionUpgrade,
    /// There is no `Sec-WebSocket-Key` header.
    #[error("missing sec-websocket-key")]
    MissingKey,
    /// The `Sec-WebSocket-Key` is repeated or is not 16 bytes encoded in base64.
    #[error("invalid sec-websocket-key")]
    InvalidKey,
    /// `Sec-WebSocket-Version` is missing or is not `13`.
    #[error("unsupported sec-websocket-version")]
    UnsupportedVersion,
    /// `Sec-WebSocket-Extensions` does not follow RFC 6455's grammar.
    #[error("malformed sec-websocket-extensions")]
    InvalidExtensions,
}

impl HandshakeError {
    /// The response status: 405 for the method, 426 for the version, 400 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Short human-readable text for the response body.
    pub fn reason(&self) -> &'static str {
        match self {
            HandshakeError::MethodNotAllowed => "WebSocket upgrades must use GET",
            HandshakeError::UnsupportedHttpVersion => "WebSocket upgrades require HTTP/1.1",
            HandshakeError::MissingUpgrade => "Upgrade header must include websocket",
            HandshakeError::MissingConnectionUpgrade => "Connection header must include upgrade",
            HandshakeError::MissingKey => "Sec-WebSocket-Key header is required",
            HandshakeError::InvalidKey => "Sec-WebSocket-Key must be 16 bytes, base64-encoded",
            HandshakeError::UnsupportedVersion => "Sec-WebSocket-Version must be 13",
            HandshakeError::InvalidExtensions => "Sec-WebSocket-Extensions header is malformed",
        }
    }

    /// Headers the response must carry (426 → `Sec-WebSocket-Version: 13`, 405 → `Allow: GET`).
    pub fn response_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        match self {
            // Section 4.4: tell the client which version to retry with.
            HandshakeError::UnsupportedVersion => {
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            // RFC 9110, section 15.5.6: a 405 must list the allowed methods.
            HandshakeError::MethodNotAllowed => {
                headers.insert(ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::HandshakeError;
    use http::StatusCode;

    #[test]
    fn wrong_method_is_405_with_allow() {
        let error = HandshakeError::MethodNotAllowed;
        assert_eq!(error.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error.response_headers()["allow"], "GET");
    }

    #[test]
    fn wrong_version_is_426_with_supported_version() {
        let error = HandshakeError::UnsupportedVersion;
        assert_eq!(error.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(error.response_headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn other_rejections_are_400_without_headers() {
        for error in [
            HandshakeError::UnsupportedHttpVersion,
            HandshakeError::MissingUpgrade,
            HandshakeError::MissingConnectionUpgrade,
            HandshakeError::MissingKey,
            HandshakeError::InvalidKey,
            HandshakeError::InvalidExtensions,
        ] {
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
            assert!(error.response_headers().is_empty(), "{error}");
            assert!(!error.reason().is_empty());
        }
    }
}
