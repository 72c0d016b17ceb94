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
//! Event streams are also counted against `max_connections` and
//! `max_connections_per_ip`, as they would be over HTTP/1.1, where each
//! takes a connection: the connection's own place covers its first open
//! stream, and each further one takes a place of its own for as long as it
//! is open. Without this one HTTP/2 connection could hold as many streams
//! as its client opens (hyper allows 200 at once), each with its send
//! queue, where the limits mean to bound them. A request that accepts an
//! event stream takes its place before the handler runs, so a stream past
//! a limit is answered `503` without the app ever seeing it (a response
//! that turns out to be an event stream though the request did not say it
//! accepts one takes its place then).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::service::HttpService;
use tokio::sync::watch;

use super::admission::Refusal;
use super::service::{accepts_event_stream, is_event_stream};
use super::tracker::TaskGuard;

/// Counts the open requests of one connection, and its open event streams.
#[derive(Debug, Clone)]
pub(crate) struct OpenStreams {
    count: Arc<watch::Sender<usize>>,
    places: Arc<Mutex<Places>>,
}

/// A connection's open event streams, and the places beyond the
/// connection's own they hold against the connection limits.
#[derive(Debug, Default)]
struct Places {
    streams: usize,
    extra: Vec<TaskGuard>,
}

/// One open event stream's place; dropping it gives the place back.
#[derive(Debug)]
struct Place {
    places: Arc<Mutex<Places>>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut places = lock(&self.places);
        places.streams = places.streams.saturating_sub(1);
        // The connection's own place covers one stream.
        if places.extra.len() > places.streams.saturating_sub(1) {
            let freed = places.extra.pop();
            drop(places);
            drop(freed);
        }
    }
}

fn lock(places: &Mutex<Places>) -> std::sync::MutexGuard<'_, Places> {
    places
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
            places: Arc::default(),
        }
    }

    /// A place for one more event stream: the connection's own for its
    /// first, else one `admit` counts (or refuses).
    fn take_place(
        &self,
        admit: impl FnOnce() -> Result<TaskGuard, Refusal>,
    ) -> Result<Place, Refusal> {
        let mut places = lock(&self.places);
        if places.streams > 0 {
            let guard = admit()?;
            places.extra.push(guard);
        }
        places.streams += 1;
        Ok(Place {
            places: Arc::clone(&self.places),
        })
    }

    fn open(&self) -> Open {
        self.count.send_modify(|open| *open += 1);
        Open {
            count: Arc::clone(&self.count),
        }
    }

    /// `service`, counting each request it takes until its response ends,
    /// and giving each event stream a place (see the module docs; further
    /// places are counted by `admit_stream`). A request refused a place is
    /// answered `503`.
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
            let streams = streams.clone();
            async move {
                let mut place = None;
                if accepts_event_stream(request.headers()) {
                    match streams.take_place(&admit_stream) {
                        Ok(taken) => place = Some(taken),
                        Err(refusal) => return Ok(refused(refusal, open)),
                    }
                }
                let response = service.call(request).await?;
                if !is_event_stream(response.headers()) {
                    place = None;
                } else if place.is_none() {
                    match streams.take_place(&admit_stream) {
                        Ok(taken) => place = Some(taken),
                        Err(refusal) => return Ok(refused(refusal, open)),
                    }
                }
                Ok(response.map(|body| {
                    Body::new(Counted {
                        body,
                        _open: open,
                        _place: place,
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

/// The `503` for a stream refused a place.
fn refused(refusal: Refusal, open: Open) -> axum::response::Response {
    let mut response = refusal.response();
    // A connection header is not allowed in HTTP/2.
    response.headers_mut().remove(http::header::CONNECTION);
    response.map(|body| {
        Body::new(Counted {
            body,
            _open: open,
            _place: None,
        })
    })
}

/// A response body that keeps its request counted as open until it ends,
/// and an event stream's place.
struct Counted {
    body: Body,
    _open: Open,
    _place: Option<Place>,
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
    use crate::server::tracker::Tracker;
    use tokio::time::Instant;

    #[test]
    fn the_first_stream_uses_the_connections_place_and_each_further_one_its_own() {
        let tracker = Arc::new(Tracker::new(1));
        let _connection = tracker.guard(0);
        let streams = OpenStreams::new();
        let admit = || Ok(tracker.guard(0));
        let first = streams.take_place(admit).unwrap();
        assert_eq!(tracker.live(), 1);
        let second = streams.take_place(admit).unwrap();
        let third = streams.take_place(admit).unwrap();
        assert_eq!(tracker.live(), 3);
        // Whichever closes, the places held match the streams left.
        drop(first);
        assert_eq!(tracker.live(), 2);
        drop(third);
        assert_eq!(tracker.live(), 1);
        let refused = streams.take_place(|| Err(Refusal::MaxConnections(1)));
        assert!(refused.is_err());
        assert_eq!(tracker.live(), 1);
        drop(second);
        assert_eq!(tracker.live(), 1);
        // With none open, the next one is the connection's again.
        let again = streams.take_place(|| Err(Refusal::MaxConnections(1)));
        assert!(again.is_ok());
    }

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
