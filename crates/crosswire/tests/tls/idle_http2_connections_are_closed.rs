use std::time::Duration;

use axum::routing::get;
use bytes::Bytes;
use crosswire::App;
use http_body_util::Empty;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::client::*;
use crate::sse_client::stream_route;
use crate::support::*;

/// The idle time an HTTP/2 connection is given: `header_read_timeout`.
const IDLE: Duration = Duration::from_secs(1);

fn app(cert: &TestCert) -> App {
    let config = tls_config_with(
        &cert.cert_path(),
        &cert.key_path(),
        "workers = 1\nheader_read_timeout = \"1s\"\n",
        "",
    );
    let (events, _streams) = stream_route(|stream| stream.subscribe("ticks"));
    App::with_config(config)
        .route("/", get(|| async { "ok" }))
        .route("/events", events)
}

/// An HTTP/2 connection, and the task that ends when the server closes it.
async fn connect2(
    server: &TestServer,
    cert: &TestCert,
) -> (SendRequest<Empty<Bytes>>, JoinHandle<()>) {
    let stream = tls_connect(server, &[cert], &[b"h2"]).await;
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let ended = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, ended)
}

/// Waits for the server to close the connection; returns when it did.
async fn closed(ended: JoinHandle<()>) -> Instant {
    tokio::time::timeout(IDLE + PATIENCE, ended)
        .await
        .expect("the idle connection was not closed")
        .unwrap();
    Instant::now()
}

#[tokio::test]
async fn a_connection_without_a_request_is_closed_after_header_read_timeout() {
    let cert = TestCert::new();
    let server = start(app(&cert)).await;

    // Asked nothing at all.
    let (_sender, ended) = connect2(&server, &cert).await;
    let opened = Instant::now();
    assert!(closed(ended).await - opened >= IDLE - Duration::from_millis(100));

    // Asked once, then silent: the time counts from the end of the answer.
    let (mut sender, ended) = connect2(&server, &cert).await;
    let response = sender.send_request(request2("/")).await.unwrap();
    assert_eq!(body_text(response).await, "ok");
    let answered = Instant::now();
    assert!(closed(ended).await - answered >= IDLE - Duration::from_millis(100));
}

#[tokio::test]
async fn a_client_that_keeps_asking_keeps_its_connection() {
    let cert = TestCert::new();
    let server = start(app(&cert)).await;
    let (mut sender, ended) = connect2(&server, &cert).await;
    // Short requests, each answered at once, more often than the idle time.
    for _ in 0..6 {
        let response = sender.send_request(request2("/")).await.unwrap();
        assert_eq!(body_text(response).await, "ok");
        tokio::time::sleep(IDLE / 2).await;
        assert!(!ended.is_finished(), "closed while the client kept asking");
    }
    let asked = Instant::now();
    assert!(closed(ended).await - asked >= IDLE / 2 - Duration::from_millis(100));
}

#[tokio::test]
async fn an_open_event_stream_keeps_its_connection() {
    let cert = TestCert::new();
    let server = start(app(&cert)).await;
    let (mut sender, mut ended) = connect2(&server, &cert).await;
    let response = sender.send_request(request2("/events")).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();

    // Well past the idle time, the stream still delivers and the connection
    // still takes requests.
    tokio::time::sleep(IDLE * 3).await;
    assert!(!ended.is_finished(), "closed with a stream open");
    let deadline = Instant::now() + PATIENCE;
    while server.handle.subscriber_count("ticks") != 1 {
        assert!(Instant::now() < deadline, "stream not subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.handle.publish("ticks", "still here");
    let mut seen = String::new();
    assert_eq!(
        next_data_lines(&mut body, &mut seen, 1).await,
        ["still here"]
    );
    let response = sender.send_request(request2("/")).await.unwrap();
    assert_eq!(body_text(response).await, "ok");

    // Once the stream is gone, the connection is idle like any other.
    drop(body);
    let dropped = Instant::now();
    tokio::time::timeout(IDLE + PATIENCE, &mut ended)
        .await
        .expect("not closed after its stream ended")
        .unwrap();
    assert!(dropped.elapsed() >= IDLE - Duration::from_millis(100));
}
