//! Certificates the TLS tests make: an authority of their own and the
//! certificates it signs, for the broker servers and for the nodes that
//! show one (mutual TLS).

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A certificate authority, in memory.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: with rcgen's default name on both, OpenSSL
        // (Redis) would take a certificate it signed for a self-signed one.
        params
            .distinguished_name
            .push(DnType::CommonName, "Crosswire test authority");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// Its own certificate, in PEM: what a `ca_file` holds.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A new certificate for `localhost` and 127.0.0.1 that it signed, and
    /// the certificate's key, in PEM.
    pub fn sign(&self) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}
