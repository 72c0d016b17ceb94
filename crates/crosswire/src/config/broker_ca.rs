//! The certificate authorities a broker's TLS connection trusts
//! (`[broker] ca_file`).
//!
//! Each broker crate hands them to its client in its own way; reading and
//! checking the file here gives both the same error, naming the setting,
//! before any connection is tried.

use crate::broker::BrokerConfigError;

use super::BrokerConfig;

/// What every PEM certificate starts with.
const PEM_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";

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
        let shown = path.display();
        let text = std::fs::read_to_string(path).map_err(|error| {
            BrokerConfigError::new(
                "broker.ca_file",
                format_args!("cannot read {shown}: {error}"),
            )
        })?;
        if !text.contains(PEM_CERTIFICATE) {
            return Err(BrokerConfigError::new(
                "broker.ca_file",
                format_args!("{shown} holds no PEM certificate ({PEM_CERTIFICATE})"),
            ));
        }
        Ok(Some(text))
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
}
