//! TLS: `https://` and `wss://` on the server's one port (feature `tls`).
//!
//! With `[server.tls] cert` and `key` set, every accepted connection does a
//! TLS handshake first (bounded by `handshake_timeout`, so a client that never
//! finishes cannot hold a socket), then is served like a plain one: HTTP
//! routes and event streams over HTTP/1.1 or HTTP/2 (chosen by ALPN, `h2`
//! preferred), WebSocket upgrades over HTTP/1.1. Browsers open WebSockets on
//! an HTTP/1.1 connection of their own: Crosswire does not offer WebSockets
//! over HTTP/2 (RFC 8441 extended `CONNECT`).
//!
//! The crypto is rustls with the `ring` provider: it is already what the
//! NATS broker client builds, and it compiles with a C compiler alone, where
//! `aws-lc-rs` needs CMake and a much longer build.
//!
//! Certificates are reloaded from the same files on `SIGHUP` (or
//! [`ServerHandle::reload_tls`](crate::ServerHandle::reload_tls)): later
//! handshakes get the new certificate, open connections go on. A reload that
//! fails keeps the old certificate and logs why.

mod error;

pub use error::TlsError;

#[cfg(feature = "tls")]
mod certs;
#[cfg(feature = "tls")]
mod resolver;
#[cfg(feature = "tls")]
mod state;

#[cfg(feature = "tls")]
pub(crate) use state::TlsState;

use std::sync::Arc;

use crate::config::TlsConfig;

/// No TLS in this build: no state can exist.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub(crate) enum TlsState {}

#[cfg(not(feature = "tls"))]
impl TlsState {
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        match *self {}
    }
}

/// The TLS state `config` asks for: `None` for plain HTTP.
pub(crate) fn from_config(config: &TlsConfig) -> Result<Option<Arc<TlsState>>, TlsError> {
    let (cert, key) = match (&config.cert, &config.key) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(TlsError::Incomplete { set: "cert" }),
        (None, Some(_)) => return Err(TlsError::Incomplete { set: "key" }),
        (Some(cert), Some(key)) => (cert, key),
    };
    #[cfg(feature = "tls")]
    {
        TlsState::load(cert.clone(), key.clone(), config.handshake_timeout)
            .map(|state| Some(Arc::new(state)))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = (cert, key);
        Err(TlsError::NotBuilt)
    }
}

/// Reloads the certificate on every `SIGHUP` until aborted; `None` without
/// TLS (or off Unix).
pub(crate) fn reload_on_hangup(
    state: Option<&Arc<TlsState>>,
) -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(all(unix, feature = "tls"))]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let state = Arc::clone(state?);
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(error) => {
                tracing::warn!(target: "crosswire::tls", %error, "cannot listen for SIGHUP: certificates reload only through ServerHandle::reload_tls");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // A failed reload is logged by `reload`; the old
                // certificate stays.
                let _ = state.reload();
            }
        }))
    }
    #[cfg(not(all(unix, feature = "tls")))]
    {
        let _ = state;
        None
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(cert: Option<&str>, key: Option<&str>) -> TlsConfig {
        TlsConfig {
            cert: cert.map(PathBuf::from),
            key: key.map(PathBuf::from),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn no_certificate_means_plain_http() {
        assert!(from_config(&TlsConfig::default()).unwrap().is_none());
    }

    #[test]
    fn half_a_pair_is_refused() {
        let error = from_config(&config(Some("c.pem"), None)).unwrap_err();
        assert!(
            matches!(error, TlsError::Incomplete { set: "cert" }),
            "{error:?}"
        );
        let error = from_config(&config(None, Some("k.pem"))).unwrap_err();
        assert!(
            matches!(error, TlsError::Incomplete { set: "key" }),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("both `cert` and `key`"),
            "{error}"
        );
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn tls_asked_of_a_build_without_it_is_an_error_not_plain_http() {
        let error = from_config(&config(Some("c.pem"), Some("k.pem"))).unwrap_err();
        assert!(matches!(error, TlsError::NotBuilt), "{error:?}");
        assert!(error.to_string().contains("`tls` feature"), "{error}");
    }
}
