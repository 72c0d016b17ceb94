//! A request body that fails when its client stops sending.
//!
//! hyper bounds the time a request's head may take (`[server]
//! header_read_timeout`) but not its body: a client that announces a
//! `content-length` and then sends a byte now and then holds its connection,
//! and whatever handler reads the body, for as long as it likes, and enough
//! such clients take every connection `max_connections` allows. Each body
//! the server hands to a handler is wrapped so that a wait of longer than
//! `[server] body_read_timeout` for its next bytes ends it with an error
//! (a handler's extractor then answers `400`, and hyper closes the
//! connection, since the rest of the body was never read), as nginx's
//! `client_body_timeout` does.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::stall::Stall;

/// The error a stalled body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the client sent no part of the request body for {0:?}")]
pub(crate) struct BodyStalled(Duration);

/// `inner`, failing once it has been waited on for `limit` without giving a
/// frame.
pub(crate) struct StallLimited<B> {
    inner: B,
    stall: Stall,
}

impl<B> StallLimited<B> {
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner,
            stall: Stall::new(limit),
        }
    }
}

/// `body` as handlers get it: limited by `limit` unless it is known to be
/// empty (then there is nothing to wait for).
pub(crate) fn limit_stalls<B>(body: B, limit: Duration) -> Body
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if body.is_end_stream() || limit.is_zero() {
        return Body::new(body);
    }
    Body::new(StallLimited::new(body, limit))
}

impl<B> HttpBody for StallLimited<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.inner).poll_frame(cx);
        // Bytes came: the next wait gets the whole limit again.
        if this.stall.poll_expired(cx, frame.is_ready()).is_ready() {
            return Poll::Ready(Some(Err(BodyStalled(this.stall.limit()).into())));
        }
        frame.map(|frame| frame.map(|frame| frame.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    use tokio::time::Instant;

    use super::*;

    /// A body that gives `parts`, each after its delay in milliseconds.
    fn paced(
        parts: Vec<(u64, &'static str)>,
    ) -> impl HttpBody<Data = Bytes, Error = Infallible> + Unpin {
        let stream = futures_util::stream::iter(parts).then(|(delay, part)| async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(part.as_bytes())))
        });
        StreamBody::new(Box::pin(stream))
    }

    #[tokio::test]
    async fn a_body_whose_parts_each_come_in_time_is_read_whole() {
        // Longer in all than the limit, but no wait is.
        let parts = vec![(100, "a"), (100, "b"), (100, "c"), (100, "d")];
        let body = StallLimited::new(paced(parts), Duration::from_millis(300));
        let read = body.collect().await.unwrap().to_bytes();
        assert_eq!(read, "abcd");
    }

    #[tokio::test]
    async fn a_body_that_stops_coming_fails_after_the_limit() {
        let started = Instant::now();
        let parts = vec![(20, "a"), (5_000, "b")];
        let body = StallLimited::new(paced(parts), Duration::from_millis(200));
        let error = body.collect().await.unwrap_err();
        assert!(error.is::<BodyStalled>(), "{error}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(220) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
    }
}
