use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::*;
use crate::support::*;

/// Waits until the server closes `stream`; fails if it stays open.
async fn assert_closed_by_server(mut stream: TcpStream) {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server kept a connection whose handshake never finished"),
        }
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_tls_is_closed_while_others_are_served() {
    let cert = TestCert::new();
    let config = tls_config(
        &cert.cert_path(),
        &cert.key_path(),
        "handshake_timeout = \"300ms\"\n",
    );
    let app = crosswire::App::with_config(config).route("/hello", get(|| async { "hello" }));
    let server = start(app).await;

    // One says nothing at all; another starts a ClientHello and stops.
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();

    let mut http = https1(&server, &cert).await;
    let response = http.send_request(request("/hello")).await.unwrap();
    assert_eq!(body_text(response).await, "hello");

    assert_closed_by_server(silent).await;
    assert_closed_by_server(partial).await;
}
