//! The `upgrade` hook's answer: accept (with headers, context, subprotocol) or
//! reject with any HTTP response.

use std::any::Any;
use std::sync::Arc;

use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue};

/// What the `upgrade` hook returns: `Ok` to switch protocols, `Err` with the
/// exact response to send instead (status, reason phrase, headers and body are
/// written as given).
pub type UpgradeResult = Result<Accept, Response>;

/// Accepts an upgrade, optionally adding headers to the `101` response, setting
/// the peer's context and choosing a subprotocol.
///
/// ```
/// use crosswire::Accept;
///
/// let accept = Accept::new()
///     .header("x-powered-by", "crosswire")
///     .context(String::from("user-42"))
///     .protocol("chat.v1");
/// ```
#[derive(Default)]
#[must_use]
pub struct Accept {
    pub(crate) headers: HeaderMap,
    pub(crate) context: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) protocol: Option<String>,
    pub(crate) invalid_header: Option<String>,
}

impl Accept {
    /// Accept with nothing added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header to the `101 Switching Protocols` response. Several values
    /// for one name are all sent. An invalid name or value fails the upgrade
    /// with 500, since it is a bug in the hook.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            _ => self.invalid_header = Some(name.to_owned()),
        }
        self
    }

    /// Sets the value `peer.context::<T>()` returns in every hook.
    pub fn context<T: Any + Send + Sync>(mut self, context: T) -> Self {
        self.context = Some(Arc::new(context));
        self
    }

    /// Selects a subprotocol. It must be one the client offered; any other is
    /// not sent (a client would fail the connection on it) and is logged.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }
}

impl std::fmt::Debug for Accept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accept")
            .field("headers", &self.headers)
            .field("has_context", &self.context.is_some())
            .field("protocol", &self.protocol)
            .finish()
    }
}
