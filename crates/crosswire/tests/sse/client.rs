//! An independent event stream client over a raw `TcpStream`: writes an
//! HTTP/1.1 request by hand, parses the response head, and decodes chunked
//! transfer encoding itself, so tests see the exact bytes the server wrote.
//! Also the routes and probes the SSE tests share.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use crosswire::EventStream;
use crosswire::sse::create_event_stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::support::PATIENCE;

/// A connection that sent one `GET` and read the response head.
pub struct SseClient {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    raw: Vec<u8>,
    /// Decoded body bytes not yet handed to the test.
    body: Vec<u8>,
    /// The terminating zero-length chunk was read.
    ended: bool,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl SseClient {
    /// Sends `GET path` with `extra` header lines (each ending in `\r\n`).
    pub async fn get(addr: SocketAddr, path: &str, extra: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{extra}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut client = Self {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            ended: false,
            status: 0,
            headers: Vec::new(),
        };
        let head_end = loop {
            if let Some(at) = find(&client.raw, b"\r\n\r\n") {
                break at;
            }
            assert!(client.fill().await, "connection ended before the head");
        };
        let head = String::from_utf8(client.raw.drain(..head_end + 4).collect()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        client.status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').unwrap();
            client
                .headers
                .push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        client
    }

    /// A response header by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads once; false on EOF or a reset.
    async fn fill(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut buf))
            .await
            .expect("nothing from the server in time")
            .unwrap_or(0);
        self.raw.extend_from_slice(&buf[..n]);
        n > 0
    }

    /// Moves every complete chunk from `raw` into `body`.
    fn decode(&mut self) {
        while !self.ended {
            let Some(line_end) = find(&self.raw, b"\r\n") else {
                return;
            };
            let size_line = std::str::from_utf8(&self.raw[..line_end]).unwrap();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            let total = line_end + 2 + size + 2;
            if self.raw.len() < total {
                return;
            }
            assert_eq!(
                &self.raw[total - 2..total],
                b"\r\n",
                "chunk not ended by CRLF"
            );
            self.body
                .extend_from_slice(&self.raw[line_end + 2..line_end + 2 + size]);
            self.raw.drain(..total);
            if size == 0 {
                self.ended = true;
            }
        }
    }

    /// The next complete event (or comment), blank line included.
    pub async fn next_event(&mut self) -> String {
        loop {
            self.decode();
            if let Some(at) = find(&self.body, b"\n\n") {
                let event: Vec<u8> = self.body.drain(..at + 2).collect();
                return String::from_utf8(event).unwrap();
            }
            assert!(!self.ended, "response ended; left: {:?}", self.body);
            assert!(self.fill().await, "connection ended mid-stream");
        }
    }

    /// The next event that is not a keep-alive comment.
    pub async fn next_data(&mut self) -> String {
        loop {
            let event = self.next_event().await;
            if !event.starts_with(':') {
                return event;
            }
        }
    }

    /// Reads until the terminating chunk and returns the rest of the body.
    /// Panics if the connection ends first.
    pub async fn read_to_end(&mut self) -> String {
        loop {
            self.decode();
            if self.ended {
                return String::from_utf8(std::mem::take(&mut self.body)).unwrap();
            }
            assert!(self.fill().await, "connection ended without the last chunk");
        }
    }

    /// Reads until the server closes the connection; returns whether the
    /// response had ended cleanly (with its last chunk) before that.
    pub async fn read_until_closed(&mut self) -> bool {
        let deadline = Instant::now() + PATIENCE;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut buf))
                .await
                .expect("the server did not close the connection in time")
                .unwrap_or(0);
            if n == 0 {
                self.decode();
                return self.ended;
            }
            self.raw.extend_from_slice(&buf[..n]);
            // Decode as we go so megabytes of events do not pile up here.
            self.decode();
            self.body.clear();
        }
    }

    /// Asserts that no body byte arrives within `wait`.
    pub async fn assert_silent(&mut self, wait: Duration) {
        self.decode();
        assert!(
            self.body.is_empty(),
            "expected silence, had {:?}",
            self.body
        );
        let mut buf = [0u8; 1024];
        if let Ok(read) = tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            panic!("expected silence, got {read:?} {:?}", &buf[..]);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET` route that creates a stream, lets `setup` use it, hands a clone to
/// the test through the returned receiver, and sends it.
pub fn stream_route(
    setup: impl Fn(&EventStream) + Clone + Send + Sync + 'static,
) -> (MethodRouter, mpsc::UnboundedReceiver<EventStream>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let route = get(move |request: Request| {
        let (tx, setup) = (tx.clone(), setup.clone());
        async move {
            let stream = create_event_stream(&request);
            setup(&stream);
            let _ = tx.send(stream.clone());
            stream.send()
        }
    });
    (route, rx)
}

/// The stream the next request created.
pub async fn next_stream(streams: &mut mpsc::UnboundedReceiver<EventStream>) -> EventStream {
    tokio::time::timeout(PATIENCE, streams.recv())
        .await
        .expect("no stream created in time")
        .unwrap()
}

/// A receiver that gets the instant at which the stream's `on_closed` ran.
pub fn on_closed_probe(stream: &EventStream) -> mpsc::UnboundedReceiver<Instant> {
    let (tx, rx) = mpsc::unbounded_channel();
    stream.on_closed(move || async move {
        let _ = tx.send(Instant::now());
    });
    rx
}

/// Waits for `on_closed` to have run and returns when it ran.
pub async fn closed_at(probe: &mut mpsc::UnboundedReceiver<Instant>) -> Instant {
    tokio::time::timeout(PATIENCE, probe.recv())
        .await
        .expect("on_closed did not run in time")
        .unwrap()
}

/// A handler whose stream is never sent: it answers 204 instead.
pub async fn never_sent(request: Request, probe: mpsc::UnboundedSender<Instant>) -> Response {
    let stream = create_event_stream(&request);
    stream.on_closed(move || async move {
        let _ = probe.send(Instant::now());
    });
    stream.push("never delivered");
    Response::builder()
        .status(204)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// Pushes 1000-byte events to `stream`, whose client has stopped reading,
/// until it refuses one, and returns how many it took and the refusal.
/// When the queue holds more than half of `budget`, each push waits a
/// millisecond, so the connection's task moves what the socket still
/// accepts and the queue fills only once the socket really stops taking
/// bytes (a loaded machine might not run it between two pushes).
pub async fn push_until_refused(
    stream: &EventStream,
    budget: usize,
    mut each: impl FnMut(&EventStream),
) -> (usize, crosswire::PushError) {
    let event = "x".repeat(1000);
    let mut pushed = 0usize;
    loop {
        match stream.try_push(event.as_str()) {
            Ok(()) => pushed += 1,
            Err(error) => return (pushed, error),
        }
        each(stream);
        assert!(pushed < 500_000, "the stream was never closed");
        if stream.buffered_amount() > budget / 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}
