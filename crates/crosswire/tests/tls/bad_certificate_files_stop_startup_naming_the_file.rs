use std::path::Path;

use crosswire::{App, ServeError, TlsError};

use crate::client::*;

/// Starting a server with `cert` and `key` fails; returns the error.
async fn startup_error(cert: &Path, key: &Path) -> TlsError {
    let app = App::with_config(tls_config(cert, key, ""));
    match app.listen_on("127.0.0.1:0").await {
        Err(ServeError::Tls(error)) => error,
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("the server started with bad TLS files"),
    }
}

fn assert_names(error: &TlsError, path: &Path) {
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "{message:?} does not name {}",
        path.display()
    );
}

#[tokio::test]
async fn a_missing_certificate_or_key_file_is_named() {
    let good = TestCert::new();
    let missing = good.dir.path().join("nope.pem");

    let error = startup_error(&missing, &good.key_path()).await;
    assert!(
        matches!(
            error,
            TlsError::Read {
                what: "certificate",
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &missing);

    let error = startup_error(&good.cert_path(), &missing).await;
    assert!(
        matches!(
            error,
            TlsError::Read {
                what: "private key",
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &missing);
}

#[tokio::test]
async fn an_unreadable_file_is_named() {
    let good = TestCert::new();
    // A directory cannot be read as a file, whoever runs the test.
    let error = startup_error(good.dir.path(), &good.key_path()).await;
    assert!(matches!(error, TlsError::Read { .. }), "{error:?}");
    assert_names(&error, good.dir.path());
}

#[tokio::test]
async fn bad_pem_is_named() {
    let good = TestCert::new();
    let dir = tempfile::tempdir().unwrap();

    // Not PEM at all: no certificate in it.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text\n").unwrap();
    let error = startup_error(&text, &good.key_path()).await;
    assert!(
        matches!(
            error,
            TlsError::BadPem {
                what: "certificate",
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &text);
    assert!(
        error.to_string().contains("no certificate found"),
        "{error}"
    );

    // A PEM block whose body is not base64.
    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let error = startup_error(&broken, &good.key_path()).await;
    assert!(matches!(error, TlsError::BadPem { .. }), "{error:?}");
    assert_names(&error, &broken);

    // A certificate where the key should be.
    let error = startup_error(&good.cert_path(), &good.cert_path()).await;
    assert!(
        matches!(
            error,
            TlsError::BadPem {
                what: "private key",
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &good.cert_path());
}

#[tokio::test]
async fn a_key_of_another_certificate_is_named_with_both_files() {
    let first = TestCert::new();
    let second = TestCert::new();
    let error = startup_error(&first.cert_path(), &second.key_path()).await;
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error:?}");
    assert_names(&error, &first.cert_path());
    assert_names(&error, &second.key_path());
}

#[tokio::test]
async fn a_certificate_without_a_key_is_refused() {
    let good = TestCert::new();
    let text = format!(
        "[server.tls]\ncert = {:?}\n",
        good.cert_path().display().to_string()
    );
    let config = crosswire::Config::from_toml(&text, "test.toml").unwrap();
    match App::with_config(config).listen_on("127.0.0.1:0").await {
        Err(ServeError::Tls(TlsError::Incomplete { set: "cert" })) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("the server started with a certificate and no key"),
    }
}

#[tokio::test]
async fn a_certificate_missing_a_line_is_refused() {
    let good = TestCert::new();
    let dir = tempfile::tempdir().unwrap();
    // One whole base64 line gone: the PEM still decodes, the DER in it does not.
    let pem = std::fs::read_to_string(good.cert_path()).unwrap();
    let mut lines: Vec<&str> = pem.lines().collect();
    lines.remove(5);
    let cut = dir.path().join("cut.pem");
    std::fs::write(&cut, lines.join("\n") + "\n").unwrap();
    let error = startup_error(&cut, &good.key_path()).await;
    assert!(
        matches!(
            error,
            TlsError::BadPem {
                what: "certificate",
                ..
            }
        ),
        "{error:?}"
    );
    assert_names(&error, &cut);
}
