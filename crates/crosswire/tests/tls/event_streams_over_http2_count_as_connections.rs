//! Over HTTP/2 many event streams share one connection; each open stream
//! counts against `max_connections` and `max_connections_per_ip` as it
//! would as a connection of its own over HTTP/1.1, so one client cannot
//! hold more streams than the limits allow by multiplexing them.

use std::time::Duration;

use axum::routing::get;
use crosswire::App;
use hyper::body::Incoming;

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

fn app(cert: &TestCert, server_lines: &str) -> App {
    let mut config = tls_config_with(&cert.cert_path(), &cert.key_path(), server_lines, "");
    config.metrics.enabled = true;
    let (route, _streams) = stream_route(|_| {});
    App::with_config(config)
        .route("/events", route)
        .route("/hello", get(|| async { "hello" }))
}

#[tokio::test]
async fn streams_past_max_connections_get_503_and_a_closed_one_frees_its_place() {
    let cert = TestCert::new();
    let server = start(app(&cert, "workers = 1\nmax_connections = 3\n")).await;

    // The connection counts one, each of its event streams one more.
    let http2 = https2(&server, &cert).await;
    let first = ask(&http2, "/events").await;
    let second = ask(&http2, "/events").await;
    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    let third = ask(&http2, "/events").await;
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()[http::header::RETRY_AFTER], "1");
    assert_eq!(refused(&server, "max_connections"), 1);

    // Other requests on the connection are served: only streams count.
    let hello = ask(&http2, "/hello").await;
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
    drop(second);
}

#[tokio::test]
async fn streams_past_max_connections_per_ip_get_503() {
    let cert = TestCert::new();
    let server = start(app(&cert, "workers = 1\nmax_connections_per_ip = 2\n")).await;

    let http2 = https2(&server, &cert).await;
    let first = ask(&http2, "/events").await;
    assert_eq!(first.status(), 200);
    let second = ask(&http2, "/events").await;
    assert_eq!(second.status(), 503);
    assert_eq!(refused(&server, "max_connections_per_ip"), 1);
    assert_eq!(refused(&server, "max_connections"), 0);
    let body = body_text(second).await;
    assert!(body.contains("your address"), "{body}");
    drop(first);
}
