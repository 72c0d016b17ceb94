//! What can go wrong with the server's certificate, each naming the file.

use std::io;
use std::path::PathBuf;

/// The TLS certificate or key could not be used; fix the file named.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// `[server.tls]` is set but this build has no TLS support.
    #[error(
        "[server.tls] is set, but crosswire was built without its `tls` feature \
         (enable it in Cargo.toml: crosswire = {{ features = [\"tls\"] }})"
    )]
    NotBuilt,
    /// Only one of `cert` and `key` is set.
    #[error("[server.tls] needs both `cert` and `key`; only `{set}` is set")]
    Incomplete {
        /// The one that is set.
        set: &'static str,
    },
    /// [`ServerHandle::reload_tls`](crate::ServerHandle::reload_tls) on a
    /// server without `[server.tls]`.
    #[error("the server does not serve TLS ([server.tls] is not set)")]
    NotConfigured,
    /// The file could not be read (missing, a directory, no permission).
    #[error("cannot read TLS {what} file {path}: {source}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file as configured.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is not valid PEM, or holds nothing of the kind expected.
    #[error("TLS {what} file {path} is not usable PEM: {reason}")]
    BadPem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file as configured.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The private key does not belong to the first certificate.
    #[error("TLS private key {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration.
    #[error("TLS setup failed: {0}")]
    Setup(String),
}
