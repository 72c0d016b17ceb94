use crosswire::PushError;
use crosswire::config::Config;
use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_its_queue_stays_in_budget() {
    const BUDGET: usize = 64 * 1024;
    let mut config = Config::default();
    config.sse.queue_bytes = BUDGET;
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::with_config(config).route("/events", route)).await;

    // The client reads the response head, then never reads again.
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&stream);

    // Push until the stream gives up: first the kernel's socket buffers and
    // the write in progress fill, then our queue, which must not grow past
    // its budget. The loop is bounded in case the server never gives up.
    let mut most_held = 0;
    let (pushed, error) = push_until_refused(&stream, BUDGET, |stream| {
        most_held = most_held.max(stream.buffered_amount());
    })
    .await;
    assert_eq!(error, PushError::QueueFull { limit: BUDGET });
    assert!(
        most_held <= BUDGET,
        "held {most_held} bytes with a {BUDGET}-byte budget"
    );
    assert!(pushed * 1000 > BUDGET);
    closed_at(&mut probe).await;
    assert_eq!(stream.buffered_amount(), 0);
    assert_eq!(stream.try_push("more"), Err(PushError::Closed));

    // The server dropped the connection rather than ending the response
    // behind everything the client never read.
    assert!(!client.read_until_closed().await);
}

/// The value of `name` in the server's `/metrics`.
async fn gauge(server: &TestServer, name: &str) -> u64 {
    let answer = raw_http(
        server.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    answer
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_connection_after_the_send_timeout() {
    stops_reading_and_loses_its_connection(false).await;
}

/// As above for a stream asked for after another request on the same
/// connection, which hyper serves rather than the server's own writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_asked_for_second_on_its_connection_is_closed_after_the_send_timeout_too() {
    stops_reading_and_loses_its_connection(true).await;
}

async fn stops_reading_and_loses_its_connection(after_another_request: bool) {
    const BUDGET: usize = 64 * 1024;
    let mut config = Config::default();
    config.sse.queue_bytes = BUDGET;
    config.sse.send_timeout = std::time::Duration::from_millis(500);
    config.metrics.enabled = true;
    let (route, mut streams) = stream_route(|_| {});
    let app = App::with_config(config)
        .route("/events", route)
        .route("/hello", axum::routing::get(|| async { "hello" }));
    let server = start(app).await;

    // The client reads the response head, then never reads again, and
    // stays connected.
    let _client = if after_another_request {
        Stalled::Raw(second_request_for_events(&server).await)
    } else {
        Stalled::Sse(SseClient::get(server.addr, "/events", "").await)
    };
    let stream = next_stream(&mut streams).await;
    assert_eq!(gauge(&server, "crosswire_sse_streams_open").await, 1);
    push_until_refused(&stream, BUDGET, |_| {}).await;

    // The stream ended for its queue; the write its client stopped taking
    // gives up after the send timeout, and the connection with it, though
    // the client never reads again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while gauge(&server, "crosswire_sse_streams_open").await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled response was still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_serves_events(&server).await;
}

/// A client kept connected, never reading again.
#[allow(dead_code, reason = "held only to keep the connection open")]
enum Stalled {
    Sse(SseClient),
    Raw(tokio::net::TcpStream),
}

/// A connection that asked for `/hello`, read its answer, then asked for
/// `/events` on the same connection and read only the first bytes.
async fn second_request_for_events(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"hello") {
        let read = tokio::time::timeout(PATIENCE, socket.read(&mut buf))
            .await
            .expect("no answer to the first request")
            .unwrap();
        assert!(read > 0, "closed after the first request");
        answer.extend_from_slice(&buf[..read]);
    }
    socket
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let read = tokio::time::timeout(PATIENCE, socket.read(&mut buf))
        .await
        .expect("no answer to the second request")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    socket
}

/// Another client still gets a stream.
async fn assert_serves_events(server: &TestServer) {
    let other = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(other.status, 200);
}
