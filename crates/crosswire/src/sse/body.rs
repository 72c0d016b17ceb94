//! The HTTP response of an event stream: its headers, and a body that feeds
//! the connection's writer (ours on a connection's first request, see
//! `server::direct_response`, or hyper's) from the stream's queue.
//!
//! The body is how the server learns that the client left. Both writers drop
//! a response body as soon as its connection ends (they watch the socket for
//! EOF while a response is being written), so the body holds an [`EndGuard`]
//! whose `Drop` finishes the stream and runs `on_closed`. That covers every
//! way a response can stop: the client closing the tab, a proxy timing out,
//! the write failing on a dead socket (noticed at the next keep-alive at the
//! latest).
//!
//! When the queue is empty for `keep_alive`, the body writes a comment line:
//! proxies keep the response open and a vanished client is found out.
//!
//! A closed stream ends its response cleanly once its queue is drained; an
//! aborted one (queue over budget) fails the body, which makes the writer drop
//! the connection instead of waiting for a client that does not read.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::core::{Ended, StreamCore};
use super::queue::Take;
use crate::shared::Shared;

/// The comment written on an idle stream; clients ignore it.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// `cache-control` of every stream: no cache or proxy may store or transform
/// it (a transforming proxy might compress and buffer it).
const CACHE_CONTROL: &str = "private, no-cache, no-store, no-transform, must-revalidate, max-age=0";

/// Finishes the stream when the body is dropped, whatever dropped it.
#[derive(Debug)]
struct EndGuard(Arc<StreamCore>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        // After a normal end this is a no-op: the stream already finished.
        self.0.abort(Ended::ClientGone);
    }
}

/// Counts an event stream as open in the server's metrics while its body
/// lives, and what the body hands to the connection.
#[derive(Debug)]
struct Metered(Arc<Shared>);

impl Metered {
    fn new(core: &StreamCore) -> Option<Self> {
        let server = core.server()?;
        server.metrics()?.events.sse_open(true);
        Some(Self(Arc::clone(server)))
    }

    fn sent(&self, bytes: usize) {
        if let Some(metrics) = self.0.metrics() {
            metrics
                .worker(self.0.topics.current_worker())
                .sse_sent(bytes);
        }
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if let Some(metrics) = self.0.metrics() {
            metrics.events.sse_open(false);
        }
    }
}

/// What the body needs between two chunks.
#[derive(Debug)]
struct Feed {
    guard: EndGuard,
    /// `None` when metrics are off.
    metered: Option<Metered>,
    keep_alive: Option<Duration>,
    /// `None` once the shutdown was seen (or without a server).
    shutdown: Option<watch::Receiver<bool>>,
}

/// What woke the body up.
enum Wake {
    Readable,
    Idle,
    Shutdown,
}

/// The `200 OK` streaming response for `core`.
pub(crate) fn response(
    core: Arc<StreamCore>,
    keep_alive: Duration,
    shutdown: Option<watch::Receiver<bool>>,
) -> Response {
    let feed = Feed {
        metered: Metered::new(&core),
        guard: EndGuard(core),
        keep_alive: (!keep_alive.is_zero()).then_some(keep_alive),
        shutdown,
    };
    let body = Body::from_stream(futures_util::stream::unfold(feed, next_chunk));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    // Tells nginx not to buffer the response, which would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The next chunk of the body, or `None` to end the response.
async fn next_chunk(mut feed: Feed) -> Option<(io::Result<Bytes>, Feed)> {
    let core = Arc::clone(&feed.guard.0);
    let idle_deadline = feed.keep_alive.map(|every| Instant::now() + every);
    loop {
        match core.queue.take() {
            Take::Chunk(chunk) => {
                if let Some(metered) = &feed.metered {
                    metered.sent(chunk.len());
                }
                return Some((Ok(chunk), feed));
            }
            Take::End => return None,
            // A body error makes the writer close the connection at once.
            Take::Abort => return Some((Err(io::Error::other("event stream aborted")), feed)),
            Take::Empty => {}
        }
        let wake = tokio::select! {
            () = core.queue.readable() => Wake::Readable,
            () = idle(idle_deadline) => Wake::Idle,
            () = shutdown(&mut feed.shutdown) => Wake::Shutdown,
        };
        match wake {
            Wake::Readable => {}
            Wake::Idle => {
                if let Some(metered) = &feed.metered {
                    metered.sent(KEEP_ALIVE.len());
                }
                return Some((Ok(Bytes::from_static(KEEP_ALIVE)), feed));
            }
            Wake::Shutdown => {
                feed.shutdown = None;
                core.close_with(reconnect_after_shutdown(core.key()), Ended::Shutdown);
            }
        }
    }
}

/// The last line of a stream ended by shutdown: a `retry:` field telling
/// the browser when to reconnect, spread over 1 to 5 s by the stream's key so
/// that every client of a stopping server does not reconnect at once.
fn reconnect_after_shutdown(key: u64) -> Bytes {
    let spread = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let millis = 1000 + spread % 4000;
    Bytes::from(format!("retry: {millis}\n\n"))
}

async fn idle(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Completes when the server starts shutting down (or is gone).
async fn shutdown(signal: &mut Option<watch::Receiver<bool>>) {
    match signal {
        Some(signal) => {
            let _ = signal.wait_for(|stopping| *stopping).await;
        }
        None => std::future::pending().await,
    }
}
