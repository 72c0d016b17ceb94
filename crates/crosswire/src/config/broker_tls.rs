//! The files of a broker's TLS connection: the certificate authorities it
//! trusts (`[broker] ca_file`) and the client certificate it shows a
//! broker that asks for one (`cert_file`, `key_file`).
//!
//! Each broker crate hands them to its client in its own way; reading and
//! checking the files here gives both the same errors, naming the setting,
//! before any connection is tried.

use std::fmt;
use std::path::Path;

use crate::broker::BrokerConfigError;

use super::BrokerConfig;

/// What every PEM certificate starts with.
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
/// What the first line of every PEM private key (PKCS#8, PKCS#1 or SEC1)
/// ends with.
const PEM_PRIVATE_KEY: &str = "PRIVATE KEY-----";

/// A client certificate chain and its private key, in PEM. Its `Debug`
/// hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, the client's own certificate first.
    pub cert_pem: String,
    /// The private key of the first certificate.
    pub key_pem: String,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"***")
            .finish()
    }
}

/// The text of the file at `path` for the setting `key`; it must hold
/// `marker`, the start of a PEM `what`.
fn read_pem(
    key: &'static str,
    path: &Path,
    marker: &str,
    what: &str,
) -> Result<String, BrokerConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|error| {
        BrokerConfigError::new(key, format_args!("cannot read {shown}: {error}"))
    })?;
    if !text.contains(marker) {
        return Err(BrokerConfigError::new(
            key,
            format_args!("{shown} holds no PEM {what}"),
        ));
    }
    Ok(text)
}

impl BrokerConfig {
    /// The PEM text of [`ca_file`](BrokerConfig::ca_file), if set: an
    /// error naming `broker.ca_file` when it cannot be read or holds no
    /// certificate.
    ///
    /// ```
    /// let config = crosswire::BrokerConfig::default();
    /// assert_eq!(config.ca_certificates().unwrap(), None);
    /// ```
    pub fn ca_certificates(&self) -> Result<Option<String>, BrokerConfigError> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        read_pem("broker.ca_file", path, PEM_CERTIFICATE, "certificate").map(Some)
    }

    /// The client certificate of [`cert_file`](BrokerConfig::cert_file)
    /// and [`key_file`](BrokerConfig::key_file), if set: an error naming
    /// the setting when only one is set, or when a file cannot be read or
    /// holds no certificate or key.
    ///
    /// ```
    /// let mut config = crosswire::BrokerConfig::default();
    /// assert_eq!(config.client_identity().unwrap(), None);
    /// config.cert_file = Some("client.pem".into());
    /// let error = config.client_identity().unwrap_err();
    /// assert_eq!(error.key(), "broker.key_file");
    /// ```
    pub fn client_identity(&self) -> Result<Option<ClientIdentity>, BrokerConfigError> {
        match (&self.cert_file, &self.key_file) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(BrokerConfigError::new(
                "broker.key_file",
                "cert_file is set without the key_file of its private key",
            )),
            (None, Some(_)) => Err(BrokerConfigError::new(
                "broker.cert_file",
                "key_file is set without the cert_file of its certificate",
            )),
            (Some(cert), Some(key)) => Ok(Some(ClientIdentity {
                cert_pem: read_pem("broker.cert_file", cert, PEM_CERTIFICATE, "certificate")?,
                key_pem: read_pem("broker.key_file", key, PEM_PRIVATE_KEY, "private key")?,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(contents: Option<&str>) -> (tempfile::TempDir, BrokerConfig) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        let config = BrokerConfig {
            ca_file: Some(path),
            ..BrokerConfig::default()
        };
        (dir, config)
    }

    #[test]
    fn a_missing_or_empty_file_names_the_setting() {
        for contents in [None, Some(""), Some("not a certificate\n")] {
            let (_dir, config) = with_file(contents);
            let error = config.ca_certificates().unwrap_err();
            assert_eq!(error.key(), "broker.ca_file", "{contents:?}");
        }
    }

    #[test]
    fn a_pem_file_is_read() {
        let pem = format!("{PEM_CERTIFICATE}\nMIIB\n-----END CERTIFICATE-----\n");
        let (_dir, config) = with_file(Some(&pem));
        assert_eq!(config.ca_certificates().unwrap(), Some(pem));
    }

    #[test]
    fn a_client_certificate_needs_both_files_each_holding_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let cert_pem = format!("{PEM_CERTIFICATE}\nMIIB\n-----END CERTIFICATE-----\n");
        let key_pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
        std::fs::write(&cert, &cert_pem).unwrap();
        std::fs::write(&key, key_pem).unwrap();
        let config = |cert_file: Option<&Path>, key_file: Option<&Path>| BrokerConfig {
            cert_file: cert_file.map(Path::to_path_buf),
            key_file: key_file.map(Path::to_path_buf),
            ..BrokerConfig::default()
        };
        let identity = config(Some(&cert), Some(&key))
            .client_identity()
            .unwrap()
            .unwrap();
        assert_eq!(identity.cert_pem, cert_pem);
        assert_eq!(identity.key_pem, key_pem);
        assert!(
            !format!("{identity:?}").contains("MIIE"),
            "the key is hidden"
        );

        let fails = |config: BrokerConfig| config.client_identity().unwrap_err().key();
        assert_eq!(fails(config(Some(&cert), None)), "broker.key_file");
        assert_eq!(fails(config(None, Some(&key))), "broker.cert_file");
        // The wrong file for each: neither holds what it should.
        assert_eq!(fails(config(Some(&key), Some(&key))), "broker.cert_file");
        assert_eq!(fails(config(Some(&cert), Some(&cert))), "broker.key_file");
        let missing = dir.path().join("missing.pem");
        assert_eq!(
            fails(config(Some(&cert), Some(&missing))),
            "broker.key_file"
        );
    }
}
