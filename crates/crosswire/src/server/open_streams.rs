//! The requests an HTTP/2 connection has open, so that one with none is
//! closed after a while, as an idle HTTP/1.1 connection is.
//!
//! hyper closes an HTTP/1.1 connection that waits longer than
//! `header_read_timeout` for its next request, but an HTTP/2 connection
//! with no stream open stays for as long as its client answers pings: a
//! client could hold thousands of them, each counted against
//! `max_connections`, without asking anything. Each request the
//! connection's service takes is counted from its start until its response
//! body ends or is dropped (an event stream counts for as long as it is
//! open); once the count has stayed at zero for the timeout, the connection
//! is sent `GOAWAY` (see `secure.rs`).
//!
//! An event stream is also counted as a connection of its own against
//! `max_connections` and `max_connections_per_ip` for as long as it is
//! open: over HTTP/1.1 each stream takes a connection, and without this one
//! HTTP/2 connection could hold as many streams as its client opens (hyper
//! allows 200 at once), each with its send queue, where the limits mean to
//! bound them. A stream past a limit is answered `503` instead.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::service::HttpService;
use tokio::sync::watch;

use super::admission::Refusal;
use super::service::is_event_stream;
use super::tracker::TaskGuard;

/// Counts the open requests of one connection.
#[derive(Debug, Clone)]
pub(crate) struct OpenStreams {
    count: Arc<watch::Sender<usize>>,
}

/// One open request; dropping it closes it.
#[derive(Debug)]
struct Open {
    count: Arc<watch::Sender<usize>>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.count
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

impl OpenStreams {
    pub(crate) fn new() -> Self {
        Self {
            count: Arc::new(watch::Sender::new(0)),
        }
    }

    fn open(&self) -> Open {
        self.count.send_modify(|open| *open += 1);
        Open {
            count: Arc::clone(&self.count),
        }
    }

    /// `service`, counting each request it takes until its response ends.
    /// An event stream is also counted as a connection by `admit_stream`,
    /// whose guard it keeps until it ends; if that refuses, the stream is
    /// dropped and a `503` sent instead.
    pub(crate) fn count<S, A>(
        &self,
        service: S,
        admit_stream: A,
    ) -> impl HttpService<Incoming, ResBody = Body, Error = S::Error, Future: Send>
    + Clone
    + Send
    + use<S, A>
    where
        S: HttpService<Incoming, ResBody = Body> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        A: Fn() -> Result<TaskGuard, Refusal> + Clone + Send + 'static,
    {
        let streams = self.clone();
        hyper::service::service_fn(move |request| {
            let open = streams.open();
            let mut service = service.clone();
            let admit_stream = admit_stream.clone();
            async move {
                let response = service.call(request).await?;
                let (response, connection) = if is_event_stream(response.headers()) {
                    match admit_stream() {
                        Ok(guard) => (response, Some(guard)),
                        Err(refusal) => {
                            let mut refused = refusal.response();
                            // A connection header is not allowed in HTTP/2.
                            refused.headers_mut().remove(http::header::CONNECTION);
                            (refused, None)
                        }
                    }
                } else {
                    (response, None)
                };
                Ok(response.map(|body| {
                    Body::new(Counted {
                        body,
                        _open: open,
                        _connection: connection,
                    })
                }))
            }
        })
    }

    /// Completes once no request has been open for `timeout` on end.
    pub(crate) async fn idle_for(&self, timeout: Duration) {
        let mut open = self.count.subscribe();
        loop {
            if open.wait_for(|&open| open == 0).await.is_err() {
                return std::future::pending().await;
            }
            // Any change restarts the wait: a request that opened and
            // closed between two polls of this future leaves the count at
            // zero, but it was a request all the same.
            match tokio::time::timeout(timeout, open.changed()).await {
                Err(_) => return,
                Ok(Err(_)) => return std::future::pending().await,
                Ok(Ok(())) => {}
            }
        }
    }
}

/// A response body that keeps its request counted as open until it ends,
/// and an event stream counted as a connection.
struct Counted {
    body: Body,
    _open: Open,
    _connection: Option<TaskGuard>,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    const IDLE: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn idle_only_after_the_last_request_has_been_closed_that_long() {
        let streams = OpenStreams::new();
        let first = streams.open();
        let second = streams.open();
        let idle = streams.idle_for(IDLE);
        tokio::pin!(idle);
        let not_yet = tokio::time::timeout(IDLE * 3, idle.as_mut()).await;
        assert!(not_yet.is_err(), "idle while requests are open");
        drop(first);
        let not_yet = tokio::time::timeout(IDLE * 2, idle.as_mut()).await;
        assert!(not_yet.is_err(), "idle while one request is open");
        drop(second);
        let closed = Instant::now();
        idle.await;
        assert!(closed.elapsed() >= IDLE);
    }

    #[tokio::test]
    async fn a_request_that_came_and_went_between_polls_restarts_the_wait() {
        let streams = OpenStreams::new();
        let idle = streams.idle_for(IDLE);
        tokio::pin!(idle);
        for _ in 0..4 {
            let not_yet = tokio::time::timeout(IDLE / 2, idle.as_mut()).await;
            assert!(not_yet.is_err(), "idle although asked every {:?}", IDLE / 2);
            drop(streams.open());
        }
        let last = Instant::now();
        idle.await;
        assert!(last.elapsed() >= IDLE);
    }

    #[tokio::test]
    async fn a_request_opened_meanwhile_restarts_the_wait() {
        let streams = OpenStreams::new();
        let idle = streams.idle_for(IDLE);
        tokio::pin!(idle);
        let not_yet = tokio::time::timeout(IDLE / 2, idle.as_mut()).await;
        assert!(not_yet.is_err());
        let open = streams.open();
        let not_yet = tokio::time::timeout(IDLE * 2, idle.as_mut()).await;
        assert!(not_yet.is_err(), "idle while a request is open");
        drop(open);
        let closed = Instant::now();
        idle.await;
        assert!(closed.elapsed() >= IDLE);
    }
}
