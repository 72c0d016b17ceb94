//! Reading the certificate chain and private key from PEM files.
//!
//! Each failure names the file it came from: at startup, a wrong path or a
//! key that belongs to another certificate must be obvious from one line.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

const CERT: &str = "certificate";
const KEY: &str = "private key";

/// Loads `cert` and `key` and checks that they belong together.
pub(crate) fn load(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = read_chain(cert)?;
    let key_der = read_key(key)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|error| TlsError::BadPem {
            what: KEY,
            path: key.to_owned(),
            reason: error.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::KeyMismatch {
                cert: cert.to_owned(),
                key: key.to_owned(),
            });
        }
        // The key type cannot tell its public key: nothing to compare.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        // The certificate itself does not parse (a line lost in a copy
        // leaves base64 that still decodes): every handshake would fail.
        Err(error) => {
            return Err(TlsError::BadPem {
                what: CERT,
                path: cert.to_owned(),
                reason: error.to_string(),
            });
        }
    }
    Ok(Arc::new(certified))
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

fn bad_pem(what: &'static str, path: &Path, error: &pem::Error) -> TlsError {
    let reason = match error {
        pem::Error::NoItemsFound => format!("no {what} found"),
        other => other.to_string(),
    };
    TlsError::BadPem {
        what,
        path: path.to_owned(),
        reason,
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(CERT, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| bad_pem(CERT, path, &error))?;
    if chain.is_empty() {
        return Err(bad_pem(CERT, path, &pem::Error::NoItemsFound));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(KEY, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|error| bad_pem(KEY, path, &error))
}
