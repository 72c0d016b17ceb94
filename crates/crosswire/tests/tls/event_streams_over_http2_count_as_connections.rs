//! Over HTTP/2 many event streams share one connection; they count against
//! `max_connections` and `max_connections_per_ip` as they would over
//! HTTP/1.1, where each takes a connection (the connection's own place
//! covers its first stream), so one client cannot hold more streams than
//! the limits allow by multiplexing them. A stream refused a place is
//! answered `503` before the app's handler runs.

use std::time::Duration;

use axum::routing::get;
use crosswire::App;
use crosswire::prelude::*;
use hyper::body::Incoming;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::client::*;
use crate::sse_client::stream_route;
use crate::support::*;

type Sender = hyper::client::conn::http2::SendRequest<http_body_util::Empty<bytes::Bytes>>;

async fn ask(http2: &Sender, path: &str) -> http::Response<Incoming> {
    let mut sender = http2.clone();
    let request = http::Request::get(format!("https://localhost{path}"))
        .header(http::header::ACCEPT, "text/event-stream")
        .body(http_body_util::Empty::new())
        .unwrap();
    tokio::time::timeout(PATIENCE, sender.send_request(request))
        .await
        .expect("no response in time")
        .unwrap()
}

fn refused(server: &TestServer, reason: &str) -> u64 {
    let text = server.handle.metrics_text().expect("metrics are on");
    let prefix = format!("crosswire_connections_refused_total{{reason=\"{reason}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str())?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
}

/// The app, and the event streams its handler made.
fn app(cert: &TestCert, server_lines: &str) -> (App, UnboundedReceiver<EventStream>) {
    let mut config = tls_config_with(&cert.cert_path(), &cert.key_path(), server_lines, "");
    config.metrics.enabled = true;
    let (route, made) = stream_route(|_| {});
    let app = App::with_config(config)
        .route("/events", route)
        .route("/hello", get(|| async { "hello" }));
    (app, made)
}

/// How many streams the handler made since last asked.
fn made_since(made: &mut UnboundedReceiver<EventStream>) -> usize {
    std::iter::from_fn(|| made.try_recv().ok()).count()
}

#[tokio::test]
async fn streams_past_max_connections_get_503_and_a_closed_one_frees_its_place() {
    let cert = TestCert::new();
    let (app, mut made) = app(&cert, "workers = 1\nmax_connections = 3\n");
    let server = start(app).await;

    // The connection and its first stream count one, each further stream
    // one more.
    let http2 = https2(&server, &cert).await;
    let first = ask(&http2, "/events").await;
    let second = ask(&http2, "/events").await;
    let third = ask(&http2, "/events").await;
    for response in [&first, &second, &third] {
        assert_eq!(response.status(), 200);
    }
    assert_eq!(made_since(&mut made), 3);
    let fourth = ask(&http2, "/events").await;
    assert_eq!(fourth.status(), 503);
    assert_eq!(fourth.headers()[http::header::RETRY_AFTER], "1");
    assert_eq!(refused(&server, "max_connections"), 1);
    // Refused before the handler ran: the app never saw that stream.
    assert_eq!(made_since(&mut made), 0);

    // Other requests on the connection are served: only streams count.
    let mut sender = http2.clone();
    let hello = sender.send_request(request2("/hello")).await.unwrap();
    assert_eq!(hello.status(), 200);
    assert_eq!(body_text(hello).await, "hello");

    // A new connection is past the limit too: closed at once over TLS.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let handshake =
        tokio::time::timeout(PATIENCE, connector(&[&cert], &[b"h2"]).connect(name, tcp))
            .await
            .expect("the refused connection was neither served nor closed");
    assert!(handshake.is_err(), "a connection past the limit was served");

    // A stream the client closes gives its place back.
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let again = ask(&http2, "/events").await;
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed stream kept its place"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop((second, third));
}

#[tokio::test]
async fn streams_past_max_connections_per_ip_get_503() {
    let cert = TestCert::new();
    let (app, mut made) = app(&cert, "workers = 1\nmax_connections_per_ip = 2\n");
    let server = start(app).await;

    let http2 = https2(&server, &cert).await;
    let first = ask(&http2, "/events").await;
    let second = ask(&http2, "/events").await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let third = ask(&http2, "/events").await;
    assert_eq!(third.status(), 503);
    assert_eq!(refused(&server, "max_connections_per_ip"), 1);
    assert_eq!(refused(&server, "max_connections"), 0);
    assert_eq!(made_since(&mut made), 2);
    let body = body_text(third).await;
    assert!(body.contains("your address"), "{body}");
    drop((first, second));
}
