//! A client that announces a request body and then stops sending it gets
//! `400` once `[server] body_read_timeout` passes with no byte, and loses
//! the connection; a body that keeps coming, however slowly, is read whole.

use std::time::{Duration, Instant};

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const LIMIT: Duration = Duration::from_millis(400);

async fn server() -> TestServer {
    let mut config = Config::default();
    config.server.body_read_timeout = LIMIT;
    let app = App::with_config(config).route(
        "/api/echo",
        axum::routing::post(|body: bytes::Bytes| async move { format!("got {}", body.len()) }),
    );
    start(app).await
}

/// Reads until the server closes the connection (or `PATIENCE` runs out).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open: {}", String::from_utf8_lossy(&answer)),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_that_stops_coming_gets_400_and_the_connection_closes() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(started.elapsed() >= LIMIT, "{:?}", started.elapsed());
    // The server goes on serving.
    let answer = raw_http(
        server.addr,
        "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    )
    .await;
    assert!(answer.ends_with("got 3"), "{answer}");
}

#[tokio::test]
async fn a_body_that_keeps_coming_slowly_is_read_whole() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    // Longer in all than the limit; no pause is.
    for part in [b"ab", b"cd", b"ef"] {
        tokio::time::sleep(LIMIT / 2).await;
        stream.write_all(part).await.unwrap();
    }
    let answer = read_to_close(&mut stream).await;
    assert!(answer.ends_with("got 6"), "{answer}");
}
