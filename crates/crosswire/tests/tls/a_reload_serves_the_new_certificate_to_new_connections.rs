use axum::routing::get;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn new_handshakes_get_the_new_certificate_and_open_connections_go_on() {
    let first = TestCert::new();
    let second = TestCert::new();
    let app = tls_app(&first).route("/hello", get(|| async { "hello" }));
    let server = start(app).await;

    let old = tls_connect(&server, &[&first, &second], &[b"http/1.1"]).await;
    assert_eq!(presented(&old), first.der);
    let (mut old_http, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(old))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = old_http.send_request(request("/hello")).await.unwrap();
    assert_eq!(body_text(response).await, "hello");

    first.overwrite_with(&second);
    server.handle.reload_tls().unwrap();

    let new = tls_connect(&server, &[&first, &second], &[b"http/1.1"]).await;
    assert_eq!(presented(&new), second.der);
    // The connection made before the reload is still served.
    let response = old_http.send_request(request("/hello")).await.unwrap();
    assert_eq!(body_text(response).await, "hello");
}

#[tokio::test]
async fn a_failed_reload_keeps_the_current_certificate() {
    let first = TestCert::new();
    let other = TestCert::new();
    let server = start(tls_app(&first)).await;

    // The key of another certificate: refused, the old pair stays.
    std::fs::write(first.key_path(), &other.key_pem).unwrap();
    let error = server.handle.reload_tls().unwrap_err();
    assert!(
        matches!(error, crosswire::TlsError::KeyMismatch { .. }),
        "{error:?}"
    );
    std::fs::remove_file(first.cert_path()).unwrap();
    let error = server.handle.reload_tls().unwrap_err();
    assert!(
        matches!(error, crosswire::TlsError::Read { .. }),
        "{error:?}"
    );

    let stream = tls_connect(&server, &[&first], &[b"http/1.1"]).await;
    assert_eq!(presented(&stream), first.der);
}

#[tokio::test]
async fn reload_without_tls_says_so() {
    let server = start(crosswire::App::new()).await;
    assert!(matches!(
        server.handle.reload_tls(),
        Err(crosswire::TlsError::NotConfigured)
    ));
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_certificate() {
    use tokio::signal::unix::{SignalKind, signal};
    // Listening here first makes SIGHUP harmless to this test process
    // whatever else runs in it (its default action would end the process).
    let mut hangups = signal(SignalKind::hangup()).unwrap();

    let first = TestCert::new();
    let second = TestCert::new();
    let server = start(tls_app(&first)).await;
    // Served once: the server's run (and its SIGHUP listener) has started.
    let stream = tls_connect(&server, &[&first, &second], &[b"http/1.1"]).await;
    assert_eq!(presented(&stream), first.der);

    first.overwrite_with(&second);
    rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::HUP).unwrap();
    tokio::time::timeout(PATIENCE, hangups.recv())
        .await
        .expect("SIGHUP not delivered");
    // The server's listener sees the same signal; wait for its reload.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let stream = tls_connect(&server, &[&first, &second], &[b"http/1.1"]).await;
        if presented(&stream) == second.der {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the certificate was not reloaded after SIGHUP"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
