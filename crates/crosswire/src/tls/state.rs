//! The server's TLS acceptor and the reloadable certificate behind it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use tokio_rustls::TlsAcceptor;

use super::TlsError;
use super::certs;
use super::resolver::Reloadable;

/// ALPN protocols offered, in order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Everything a connection needs for its handshake, shared by every worker.
pub(crate) struct TlsState {
    acceptor: TlsAcceptor,
    resolver: Arc<Reloadable>,
    provider: Arc<CryptoProvider>,
    cert: PathBuf,
    key: PathBuf,
    handshake_timeout: Duration,
}

impl TlsState {
    /// Reads `cert` and `key` and builds the acceptor.
    pub(crate) fn load(
        cert: PathBuf,
        key: PathBuf,
        handshake_timeout: Duration,
    ) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = certs::load(&cert, &key, &provider)?;
        let resolver = Arc::new(Reloadable::new(certified));
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Setup(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&resolver) as _);
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            resolver,
            provider,
            cert,
            key,
            handshake_timeout,
        })
    }

    /// Reads the files again; on success later handshakes use the new
    /// certificate. On failure the old one stays, and the error is logged.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        match certs::load(&self.cert, &self.key, &self.provider) {
            Ok(certified) => {
                self.resolver.replace(certified);
                tracing::info!(target: "crosswire::tls", cert = %self.cert.display(), "TLS certificate reloaded");
                Ok(())
            }
            Err(error) => {
                tracing::error!(target: "crosswire::tls", %error, "TLS certificate reload failed; keeping the previous one");
                Err(error)
            }
        }
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// `[server.tls] handshake_timeout`.
    pub(crate) fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }
}

impl std::fmt::Debug for TlsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsState")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}
