//! A connection's first `GET` is answered without hyper (the requests after
//! it, and other methods, with hyper): both must speak the same HTTP/1.1.
//! Every test here sends its requests pipelined in one write, so the first
//! takes the direct path and the rest follow it on the same connection.

use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::{get, post};
use bytes::Bytes;
use crosswire::prelude::*;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// One response as read off the wire, its body decoded.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Lower-case names, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn app() -> App {
    App::new()
        .route(
            "/text",
            get(|| async { "hello" }).post(|body: String| async move { body }),
        )
        .route(
            "/stream",
            get(|| async {
                let parts = ["a", "", "bc", "defghijklmnopqrstuvwxyz"]
                    .map(|p| Ok::<_, std::io::Error>(Bytes::from(p)));
                Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                let parts = futures_util::stream::unfold(0, |n| async move {
                    (n < 3).then_some(())?;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(format!("part {n}\n"))),
                        n + 1,
                    ))
                });
                Body::from_stream(parts)
            }),
        )
        .route(
            "/broken",
            get(|| async {
                let parts = [
                    Ok(Bytes::from("a")),
                    Err(std::io::Error::other("the source failed")),
                ];
                Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route("/large", get(|| async { large_body() }))
        .route(
            "/bye",
            get(|| async { ([(http::header::CONNECTION, "close")], "bye") }),
        )
        .route(
            "/not-modified",
            // A body that never ends: a 304 carries none, so it is not waited for.
            get(|| async { (StatusCode::NOT_MODIFIED, Body::from_stream(endless())) }),
        )
        .route("/informational", get(|| async { StatusCode::CONTINUE }))
        .route(
            "/three-then-nothing",
            get(|| async {
                let parts = futures_util::stream::iter([Ok(Bytes::from("abc"))]).chain(endless());
                (
                    [(http::header::CONTENT_LENGTH, "3")],
                    Body::from_stream(parts),
                )
            }),
        )
        .route(
            "/short",
            get(|| async {
                let parts =
                    futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("abcd"))]);
                (
                    [(http::header::CONTENT_LENGTH, "10")],
                    Body::from_stream(parts),
                )
            }),
        )
        .route(
            "/large-stream",
            get(|| async {
                let parts = large_body()
                    .chunks(100_000)
                    .map(|part| Ok::<_, std::io::Error>(Bytes::copy_from_slice(part)))
                    .collect::<Vec<_>>();
                Body::from_stream(futures_util::stream::iter(parts))
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
}

/// A body stream that never yields.
fn endless() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures_util::stream::pending()
}

/// 3 MB that a reordered or dropped part would show in.
fn large_body() -> Vec<u8> {
    (0..3_000_000u32).map(|i| (i % 251) as u8).collect()
}

fn request(method: &str, path: &str, extra: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n")
}

/// Sends `requests` in one write and reads until the server closes.
async fn exchange(server: &TestServer, requests: &[String]) -> Vec<u8> {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(requests.concat().as_bytes())
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes after `Connection: close`")
        .unwrap();
    received
}

/// Parses the responses in `bytes`, in order; `head` says which requests
/// were `HEAD` (their responses have no body).
fn answers(mut bytes: &[u8], head: &[bool]) -> Vec<Answer> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        let httparse::Status::Complete(len) = response.parse(bytes).unwrap() else {
            panic!("incomplete head: {:?}", String::from_utf8_lossy(bytes));
        };
        let status = response.code.unwrap();
        let headers: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        bytes = &bytes[len..];
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        let bodiless = head.get(out.len()).copied().unwrap_or(false) || matches!(status, 204 | 304);
        if bodiless {
        } else if let Some(length) = answer.header("content-length") {
            let length: usize = length.parse().unwrap();
            answer.body = bytes[..length].to_vec();
            bytes = &bytes[length..];
        } else {
            assert_eq!(
                answer.header("transfer-encoding"),
                Some("chunked"),
                "{answer:?}"
            );
            loop {
                let line_end = bytes.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap(), 16)
                        .unwrap();
                bytes = &bytes[line_end + 2..];
                if size == 0 {
                    assert_eq!(&bytes[..2], b"\r\n");
                    bytes = &bytes[2..];
                    break;
                }
                answer.body.extend_from_slice(&bytes[..size]);
                assert_eq!(&bytes[size..size + 2], b"\r\n");
                bytes = &bytes[size + 2..];
            }
        }
        out.push(answer);
    }
    out
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_and_framed_alike() {
    let server = start(app()).await;
    for first in ["/text", "/stream", "/slow", "/empty"] {
        let requests = [
            request("GET", first, ""),
            request("GET", "/stream", ""),
            request("GET", "/text", ""),
            request("POST", "/echo", "Content-Length: 4\r\n"),
            "ping".to_owned(),
            request("HEAD", "/text", ""),
            request("GET", "/slow", "Connection: close\r\n"),
        ];
        let received = exchange(&server, &requests).await;
        let answers = answers(&received, &[false, false, false, false, true, false]);
        let bodies: Vec<String> = answers
            .iter()
            .map(|a| String::from_utf8(a.body.clone()).unwrap())
            .collect();
        let first_body = match first {
            "/text" => "hello",
            "/stream" => "abcdefghijklmnopqrstuvwxyz",
            "/slow" => "part 0\npart 1\npart 2\n",
            _ => "",
        };
        assert_eq!(
            bodies,
            [
                first_body,
                "abcdefghijklmnopqrstuvwxyz",
                "hello",
                "ping",
                "",
                "part 0\npart 1\npart 2\n"
            ],
            "after {first}"
        );
        let first_answer = &answers[0];
        match first {
            "/text" => assert_eq!(first_answer.header("content-length"), Some("5")),
            "/empty" => {
                assert_eq!(first_answer.status, 204);
                assert_eq!(first_answer.header("content-length"), None);
                assert_eq!(first_answer.header("transfer-encoding"), None);
            }
            _ => assert_eq!(first_answer.header("transfer-encoding"), Some("chunked")),
        }
        for answer in &answers {
            assert!(answer.header("date").is_some(), "{answer:?}");
        }
        assert_eq!(answers[4].header("content-length"), Some("5"), "HEAD");
        assert_eq!(answers[5].header("connection"), Some("close"));
    }
}

#[tokio::test]
async fn a_first_request_asking_to_close_is_answered_then_closed() {
    let server = start(app()).await;
    for path in ["/text", "/stream"] {
        // The second request is never read: the connection ends first.
        let requests = [
            request("GET", path, "Connection: keep-alive, close\r\n"),
            request("GET", "/text", ""),
        ];
        let received = exchange(&server, &requests).await;
        let answers = answers(&received, &[]);
        assert_eq!(answers.len(), 1, "{path}: {answers:?}");
        assert_eq!(answers[0].header("connection"), Some("close"));
    }
}

#[tokio::test]
async fn a_body_that_fails_ends_the_connection_without_its_last_chunk() {
    let server = start(app()).await;
    let requests = [request("GET", "/broken", ""), request("GET", "/text", "")];
    let received = exchange(&server, &requests).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n1\r\na\r\n"), "{text}");
    // The server goes on serving.
    let next = raw_http(
        server.addr,
        &request("GET", "/text", "Connection: close\r\n"),
    )
    .await;
    assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");
}

#[tokio::test]
async fn a_large_body_arrives_whole_with_or_without_its_length() {
    let server = start(app()).await;
    let requests = [
        request("GET", "/large", ""),
        request("GET", "/large-stream", "Connection: close\r\n"),
    ];
    let received = exchange(&server, &requests).await;
    let answers = answers(&received, &[]);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].header("content-length"), Some("3000000"));
    assert_eq!(answers[1].header("transfer-encoding"), Some("chunked"));
    for answer in &answers {
        assert!(answer.body == large_body(), "a body differs");
    }
    // And as the first request of its connection, streamed.
    let received = exchange(
        &server,
        &[request("GET", "/large-stream", "Connection: close\r\n")],
    )
    .await;
    assert!(
        answers_of(&received) == large_body(),
        "the streamed body differs"
    );
}

fn answers_of(received: &[u8]) -> Vec<u8> {
    let mut all = answers(received, &[]);
    assert_eq!(all.len(), 1);
    all.remove(0).body
}

#[tokio::test]
async fn a_complete_response_does_not_wait_for_its_body_to_end() {
    let server = start(app()).await;
    for first in ["/not-modified", "/three-then-nothing"] {
        let requests = [
            request("GET", first, ""),
            request("GET", "/text", "Connection: close\r\n"),
        ];
        let received = exchange(&server, &requests).await;
        let answers = answers(&received, &[]);
        assert_eq!(answers.len(), 2, "{first}: {answers:?}");
        assert_eq!(answers[1].body, b"hello");
    }
}

#[tokio::test]
async fn a_handler_closing_the_connection_or_answering_1xx_ends_it() {
    let server = start(app()).await;
    let requests = [request("GET", "/bye", ""), request("GET", "/text", "")];
    let closed = answers(&exchange(&server, &requests).await, &[]);
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].body, b"bye");

    let requests = [
        request("GET", "/informational", ""),
        request("GET", "/text", ""),
    ];
    let refused = answers(&exchange(&server, &requests).await, &[]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].status, 500);
    assert_eq!(refused[0].header("connection"), Some("close"));
}

#[tokio::test]
async fn a_body_short_of_its_length_ends_the_connection() {
    let server = start(app()).await;
    let requests = [request("GET", "/short", ""), request("GET", "/text", "")];
    let received = exchange(&server, &requests).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-length: 10\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nabcd"), "{text}");
}

#[tokio::test]
async fn a_request_sent_while_a_body_streams_is_answered_after_it() {
    let server = start(app()).await;
    for shut in [false, true] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(request("GET", "/slow", "").as_bytes())
            .await
            .unwrap();
        // The head and the first part, then the next request, and (the
        // second time) the end of the client's side.
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&received).contains("part 0") {
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "closed early");
            received.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(request("GET", "/text", "Connection: close\r\n").as_bytes())
            .await
            .unwrap();
        if shut {
            stream.shutdown().await.unwrap();
        }
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
            .await
            .unwrap()
            .unwrap();
        let answers = answers(&received, &[]);
        let bodies: Vec<&[u8]> = answers.iter().map(|a| a.body.as_slice()).collect();
        if shut {
            // The streaming response is not cut by the end of the client's
            // side; the next request is hyper's, which (without
            // `half_close`) may close instead of answering it.
            assert_eq!(
                bodies.first(),
                Some(&b"part 0\npart 1\npart 2\n".as_slice())
            );
        } else {
            assert_eq!(bodies, [b"part 0\npart 1\npart 2\n".as_slice(), b"hello"]);
        }
    }
}

/// A client that leaves while the handler of its first `GET` runs takes the
/// handler with it, as hyper does for the requests after it.
#[tokio::test]
async fn a_client_leaving_mid_handler_drops_the_handler() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Records its drop: the handler's future was dropped, not finished.
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropped);
    let server = start(
        App::new()
            .route(
                "/slow",
                get(move || {
                    let guard = Dropped(Arc::clone(&flag));
                    async move {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        drop(guard);
                        "late"
                    }
                }),
            )
            .route("/fast", get(|| async { "fast" })),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !dropped.load(Ordering::SeqCst),
        "dropped before the client left"
    );
    drop(stream);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !dropped.load(Ordering::SeqCst) {
        assert!(tokio::time::Instant::now() < deadline, "the handler ran on");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = raw_http(server.addr, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.ends_with("fast"), "{answer}");
}
