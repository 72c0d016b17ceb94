//! The certificate every handshake gets, swappable while the server runs.
//!
//! rustls asks a resolver for the certificate at each handshake. Ours hands
//! out the one current `Arc<CertifiedKey>`; a reload replaces it, so new
//! handshakes get the new certificate and open connections, which finished
//! their handshake long ago, are not touched.

use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The current certificate and key.
#[derive(Debug)]
pub(crate) struct Reloadable {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloadable {
    pub(crate) fn new(certified: Arc<CertifiedKey>) -> Self {
        Self {
            current: RwLock::new(certified),
        }
    }

    /// Makes `certified` the certificate of every later handshake.
    pub(crate) fn replace(&self, certified: Arc<CertifiedKey>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = certified;
    }
}

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}
