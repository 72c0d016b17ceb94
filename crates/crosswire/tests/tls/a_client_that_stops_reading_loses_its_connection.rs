//! `[sse] send_timeout` over TLS: a client that stops reading an event
//! stream loses its connection once a write has taken nothing for the
//! limit, as on plain HTTP, and the server keeps serving everyone else.

use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::*;
use crate::sse_client::{next_stream, push_until_refused, stream_route};
use crate::support::*;

const BUDGET: usize = 64 * 1024;

/// The value of `name` in the server's metrics.
fn gauge(server: &TestServer, name: &str) -> u64 {
    let text = server.handle.metrics_text().expect("metrics are on");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_stops_reading_an_event_stream_loses_its_connection() {
    let cert = TestCert::new();
    let mut config = tls_config(&cert.cert_path(), &cert.key_path(), "");
    config.sse.queue_bytes = BUDGET;
    config.sse.send_timeout = std::time::Duration::from_millis(500);
    config.metrics.enabled = true;
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::with_config(config).route("/events", route)).await;

    // The client asks for a stream over HTTP/1.1, reads the first bytes of
    // the answer, then never reads again and stays connected.
    let mut stalled = tls_connect(&server, &[&cert], &[b"http/1.1"]).await;
    stalled
        .write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(PATIENCE, stalled.read(&mut buf))
        .await
        .expect("no answer")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let stream = next_stream(&mut streams).await;
    assert_eq!(gauge(&server, "crosswire_sse_streams_open"), 1);

    // Push until the stream gives up for its queue: the socket's buffers
    // and the TLS layer's fill first.
    push_until_refused(&stream, BUDGET, |_| {}).await;

    // The write the client stopped taking gives up after the send timeout,
    // and the connection with it, though the client never reads again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while gauge(&server, "crosswire_sse_streams_open") != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled connection was still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The client, reading again, finds the connection closed after what
    // the socket held: the server did not end the response cleanly behind
    // everything the client never read.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(PATIENCE, stalled.read_to_end(&mut rest))
        .await
        .expect("the stalled connection was still open");
    assert!(
        ended.is_err() || !String::from_utf8_lossy(&rest).ends_with("0\r\n\r\n"),
        "the response ended cleanly"
    );

    // Everyone else is still served, over HTTP/1.1 and HTTP/2.
    let mut http1 = https1(&server, &cert).await;
    let response = http1.send_request(request("/events")).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut http2 = https2(&server, &cert).await;
    let response = http2.send_request(request2("/events")).await.unwrap();
    assert_eq!(response.status(), 200);
}
