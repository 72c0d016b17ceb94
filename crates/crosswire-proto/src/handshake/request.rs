//! What an accepted upgrade request carries forward into the response.

use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use http::{HeaderMap, HeaderValue};

use crate::deflate::{Agreement, Policy, negotiate};
use crate::error::HandshakeError;

/// A valid upgrade request: the accept value to send back and what the client offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    accept: String,
    protocols: Vec<String>,
    extensions: Option<String>,
}

impl Handshake {
    pub(super) fn new(accept: String, protocols: Vec<String>, extensions: Option<String>) -> Self {
        Handshake {
            accept,
            protocols,
            extensions,
        }
    }

    /// The `Sec-WebSocket-Accept` value for the 101 response.
    pub fn accept(&self) -> &str {
        &self.accept
    }

    /// Subprotocols offered in `Sec-WebSocket-Protocol`, trimmed, in the client's order of preference.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The raw `Sec-WebSocket-Extensions` offer, several headers joined with `", "`.
    pub fn extensions(&self) -> Option<&str> {
        self.extensions.as_deref()
    }

    /// The permessage-deflate offer to accept, if the client made an acceptable one.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Method, Version};
    /// use crosswire_proto::deflate::Policy;
    /// use crosswire_proto::validate_request;
    ///
    /// let mut request = HeaderMap::new();
    /// request.insert("upgrade", HeaderValue::from_static("websocket"));
    /// request.insert("connection", HeaderValue::from_static("Upgrade"));
    /// request.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
    /// request.insert("sec-websocket-version", HeaderValue::from_static("13"));
    /// request.insert("sec-websocket-extensions", HeaderValue::from_static("permessage-deflate"));
    ///
    /// let handshake = validate_request(&Method::GET, Version::HTTP_11, &request)?;
    /// let agreement = handshake.negotiate_deflate(Policy::default())?.expect("offered");
    /// assert_eq!(agreement.response(), "permessage-deflate");
    /// # Ok::<(), crosswire_proto::HandshakeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HandshakeError::InvalidExtensions`] (400) when the header is malformed.
    pub fn negotiate_deflate(&self, policy: Policy) -> Result<Option<Agreement>, HandshakeError> {
        match &self.extensions {
            None => Ok(None),
            Some(offers) => {
                negotiate(offers, policy).map_err(|_| HandshakeError::InvalidExtensions)
            }
        }
    }

    /// The headers every 101 response to this request needs: `Upgrade`, `Connection` and `Sec-WebSocket-Accept`.
    ///
    /// A chosen subprotocol or extension is for the caller to add.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, Method, Version};
    /// use crosswire_proto::validate_request;
    ///
    /// let mut request = HeaderMap::new();
    /// request.insert("upgrade", HeaderValue::from_static("websocket"));
    /// request.insert("connection", HeaderValue::from_static("Upgrade"));
    /// request.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
    /// request.insert("sec-websocket-version", HeaderValue::from_static("13"));
    ///
    /// let handshake = validate_request(&Method::GET, Version::HTTP_11, &request)?;
    /// let response = handshake.response_headers();
    /// assert_eq!(response["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// assert_eq!(response["upgrade"], "websocket");
    /// # Ok::<(), crosswire_proto::HandshakeError>(())
    /// ```
    pub fn response_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        let accept = HeaderValue::from_str(&self.accept)
            .expect("base64 output is always a valid header value");
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        headers
    }
}
