//! The response to a connection's first `GET`, written without hyper.
//!
//! `direct` takes a connection's first request when it is a whole `GET`
//! head; this module routes it as hyper would (`handle_metered`) and writes
//! what the handler answered: the head as hyper writes it (lower-case field
//! names, a `date`, `content-length` when the body's length is known,
//! `transfer-encoding: chunked` when it is not), then the body, each batch
//! of ready frames in one write.
//!
//! The point is an event stream, which may stay open for hours: what it
//! holds here is the small task that writes it (`Reply::send`, spawned once
//! the request is routed) and a buffer only while a write is under way
//! (`write_batch`), where hyper kept two 8 KiB buffers for its whole life.
//!
//! While a body streams, the socket is watched as hyper watches it: the end
//! of the client's side ends the response (dropping the body is how an
//! event stream learns its client left, see `sse::body`). Once the client
//! has sent something more (its next request, pipelined), that is kept (one
//! read, at most `[server] max_header_bytes`) and the socket is not read
//! again until the response is complete, when hyper gets the connection
//! with those bytes; a client that leaves meanwhile is found out by the next
//! write that fails. A response that may carry no more bytes (`204`, `304`,
//! its `content-length` reached) is complete without waiting for its body's
//! end.
//!
//! After the response the connection goes to hyper for its next request,
//! unless either side asked to close it, the server is stopping (the head
//! then says `connection: close`), or the body failed or ended short of its
//! `content-length` (then the connection is closed, as hyper closes it).

use std::time::{Duration, SystemTime};

use axum::body::{Body, HttpBody as _};
use axum::response::Response;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::accept::HyperNext;
use super::direct::write_head;
use super::write_batch::WriteBatch;

/// Ready frames are gathered into one write up to about this many bytes.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// How a response's body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body may be sent (`204`, `304`).
    Bodiless,
    /// `content-length`: this many bytes are still to come.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// Why a response stopped before it was complete.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// The client left, or a write failed.
    ClientGone,
    /// The body failed, or gave more or fewer bytes than its length.
    BodyFailed,
}

/// A response to write: its head, encoded, and its body.
pub(super) struct Reply {
    head: Vec<u8>,
    body: Body,
    framing: Framing,
    keep_alive: bool,
    /// What the client sent after the request, kept for hyper.
    pending: Vec<u8>,
    /// How much `pending` may hold.
    limit: usize,
    /// How long one write may wait for the client to take any of it
    /// (`[sse] send_timeout`), in milliseconds.
    send_timeout_ms: u32,
}

impl Reply {
    /// The reply of `response` to a request that asked to close the
    /// connection after it (`close_asked`) or not, read with `already_read`
    /// after its head; `limit` bounds what is kept of the client's next
    /// request while the body streams.
    pub(super) fn new(
        response: Response,
        close_asked: bool,
        already_read: Bytes,
        limit: usize,
        send_timeout: Duration,
    ) -> Self {
        let (mut parts, body) = response.into_parts();
        let framing = prepare_head(&mut parts, &body, close_asked);
        let mut head = Vec::with_capacity(256);
        write_head(&parts, &mut head);
        Self {
            head,
            body,
            framing,
            keep_alive: !asks_to_close(&parts.headers),
            pending: already_read.to_vec(),
            limit,
            send_timeout_ms: send_timeout_ms(send_timeout),
        }
    }

    /// Writes the reply on `stream`, then has hyper serve the connection's
    /// next request (`next`) unless the connection ends here.
    ///
    /// (A function returning an `async` block rather than an `async fn`,
    /// here and below: an `async fn` keeps its arguments twice, and this
    /// future is what an open event stream holds.)
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    pub(super) fn send(
        mut self,
        mut stream: TcpStream,
        next: Box<HyperNext>,
    ) -> impl Future<Output = ()> + Send + 'static {
        async move {
            match self.write(&mut stream).await {
                Ok(())
                    if self.keep_alive && !matches!(next.stop.has_changed(), Ok(true) | Err(_)) =>
                {
                    Box::pin(next.serve(stream, Bytes::from(self.pending))).await;
                }
                Ok(()) => {
                    let _ = stream.shutdown().await;
                }
                Err(cut) => {
                    tracing::debug!(target: "crosswire::server", ?cut, "response cut short: connection closed");
                }
            }
        }
    }

    /// Writes the head, then the body as `framing` says, watching the socket
    /// for the client leaving; what the client sends meanwhile goes to
    /// `pending`, up to `limit` bytes.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    fn write<'a>(
        &'a mut self,
        stream: &'a mut TcpStream,
    ) -> impl Future<Output = Result<(), Cut>> + Send + 'a {
        async move {
            let mut out = WriteBatch::new(std::mem::take(&mut self.head));
            // `Ok(true)` while the body has more to give. A response that
            // may carry no more bytes is complete: its body is dropped
            // unpolled, as hyper drops it.
            let mut more = Ok(!self.framing.is_complete());
            loop {
                // Everything the body has ready goes out in one write (what
                // came before a failure included).
                while more == Ok(true) && out.len() < WRITE_BATCH_BYTES {
                    let Some(frame) = self.body.frame().now_or_never() else {
                        break;
                    };
                    more = self.framing.add(frame, &mut out);
                }
                if !out.is_empty() {
                    // Not kept: an open stream holds no buffer between writes.
                    let batch = std::mem::take(&mut out);
                    let stall = Duration::from_millis(u64::from(self.send_timeout_ms));
                    batch
                        .write_to(stream, stall)
                        .await
                        .map_err(|_| Cut::ClientGone)?;
                }
                if more != Ok(true) {
                    return more.map(|_| ());
                }
                tokio::select! {
                    frame = self.body.frame() => more = self.framing.add(frame, &mut out),
                    () = client_left(stream, &mut self.pending, self.limit) => return Err(Cut::ClientGone),
                }
            }
        }
    }
}

/// `[sse] send_timeout` as kept: milliseconds, rounded up so that only `0`
/// means no limit, which becomes the largest (49 days).
fn send_timeout_ms(limit: Duration) -> u32 {
    match u32::try_from(limit.as_micros().div_ceil(1000)) {
        Ok(0) | Err(_) => u32::MAX,
        Ok(ms) => ms,
    }
}

/// Whether `headers` hold `Connection: close`.
pub(super) fn asks_to_close(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|value| {
        value
            .as_bytes()
            .split(|&byte| byte == b',')
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    })
}

/// Sets the fields that frame the body, `date` and `connection`, as hyper
/// would, and says how the body goes on the wire.
fn prepare_head(parts: &mut http::response::Parts, body: &Body, close_asked: bool) -> Framing {
    let headers = &mut parts.headers;
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.entry(header::DATE).or_insert(date);
    }
    if close_asked && !asks_to_close(headers) {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    headers.remove(header::TRANSFER_ENCODING);
    match parts.status {
        status if status.is_informational() => {
            // Not a final answer: a 500 without the body, and the
            // connection closed, as hyper does.
            tracing::error!(target: "crosswire::server", %status, "a handler answered a GET with an informational status: 500");
            *parts = Response::new(()).into_parts().0;
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            let headers = &mut parts.headers;
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Framing::Length(0);
        }
        StatusCode::NO_CONTENT => {
            headers.remove(header::CONTENT_LENGTH);
            return Framing::Bodiless;
        }
        StatusCode::NOT_MODIFIED => return Framing::Bodiless,
        _ => {}
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    match body.size_hint().exact().or(declared) {
        Some(length) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            Framing::Length(length)
        }
        None => {
            headers.remove(header::CONTENT_LENGTH);
            headers.insert(
                header::TRANSFER_ENCODING,
                HeaderValue::from_static("chunked"),
            );
            Framing::Chunked
        }
    }
}

impl Framing {
    /// Whether no more body bytes may be sent.
    fn is_complete(self) -> bool {
        matches!(self, Framing::Bodiless | Framing::Length(0))
    }

    /// Appends `frame` (what `Body::frame` gave) as it goes on the wire;
    /// `false` once the body ended (its end appended too).
    fn add(
        &mut self,
        frame: Option<Result<Frame<Bytes>, axum::Error>>,
        out: &mut WriteBatch,
    ) -> Result<bool, Cut> {
        let data = match frame {
            None => {
                return match *self {
                    Framing::Length(left) if left > 0 => Err(Cut::BodyFailed),
                    Framing::Chunked => {
                        out.copy(b"0\r\n\r\n");
                        Ok(false)
                    }
                    _ => Ok(false),
                };
            }
            Some(Err(error)) => {
                tracing::debug!(target: "crosswire::server", %error, "response body failed");
                return Err(Cut::BodyFailed);
            }
            // Trailers are left out, as hyper leaves them out unless the
            // client asked for them.
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => return Ok(true),
            },
        };
        match self {
            Framing::Bodiless => {}
            Framing::Length(left) => {
                let len = data.len() as u64;
                if len > *left {
                    return Err(Cut::BodyFailed);
                }
                *left -= len;
                out.share(data);
                if *left == 0 {
                    // Complete: the body's end is not waited for.
                    return Ok(false);
                }
            }
            Framing::Chunked if data.is_empty() => {}
            Framing::Chunked => {
                out.chunk_size(data.len());
                out.share(data);
                out.copy(b"\r\n");
            }
        }
        Ok(true)
    }
}

/// Completes when the client's side of `stream` ends (or fails). What the
/// client sends meanwhile (the next request, pipelined) is kept in
/// `pending`, at most `limit` bytes, and ends the watch, as in hyper: a
/// client that sent its next request and then shut its side still gets
/// this response.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
fn client_left<'a>(
    stream: &'a TcpStream,
    pending: &'a mut Vec<u8>,
    limit: usize,
) -> impl Future<Output = ()> + Send + 'a {
    async move {
        loop {
            if !pending.is_empty() {
                return std::future::pending().await;
            }
            if stream.readable().await.is_err() {
                return;
            }
            match read_some(stream, pending, limit) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

/// One read of at most `limit - pending.len()` bytes onto `pending`.
fn read_some(stream: &TcpStream, pending: &mut Vec<u8>, limit: usize) -> std::io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let room = limit.saturating_sub(pending.len()).min(chunk.len());
    let read = stream.try_read(chunk.get_mut(..room).unwrap_or_default())?;
    pending.extend_from_slice(chunk.get(..read).unwrap_or_default());
    Ok(read)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::super::test_sockets::loopback_pair;
    use super::*;

    fn framed(framing: Framing, frames: &[&str]) -> (Vec<u8>, Result<bool, Cut>) {
        let mut framing = framing;
        let mut out = WriteBatch::default();
        let mut last = Ok(true);
        for frame in frames {
            last = framing.add(
                Some(Ok(Frame::data(Bytes::copy_from_slice(frame.as_bytes())))),
                &mut out,
            );
        }
        if last == Ok(true) {
            last = framing.add(None, &mut out);
        }
        (out.to_vec(), last)
    }

    #[test]
    fn a_chunked_body_is_framed_and_ended() {
        let (out, last) = framed(
            Framing::Chunked,
            &["data: 1\n\n", "", "x".repeat(26).as_str()],
        );
        assert_eq!(last, Ok(false));
        let expected = format!("9\r\ndata: 1\n\n\r\n1a\r\n{}\r\n0\r\n\r\n", "x".repeat(26));
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn a_body_must_match_its_length() {
        assert_eq!(
            framed(Framing::Length(5), &["ab", "cde"]),
            (b"abcde".to_vec(), Ok(false))
        );
        assert_eq!(framed(Framing::Length(5), &["ab"]).1, Err(Cut::BodyFailed));
        assert_eq!(framed(Framing::Length(1), &["ab"]).1, Err(Cut::BodyFailed));
        assert_eq!(framed(Framing::Bodiless, &["ab"]), (Vec::new(), Ok(false)));
    }

    #[test]
    fn the_head_says_how_the_body_is_framed() {
        let head = |response: Response, close: bool| {
            let (mut parts, body) = response.into_parts();
            let framing = prepare_head(&mut parts, &body, close);
            (framing, parts.headers)
        };
        let (framing, headers) = head(Response::new(Body::from("hello")), false);
        assert_eq!(framing, Framing::Length(5));
        assert_eq!(headers[header::CONTENT_LENGTH], "5");
        assert!(headers.contains_key(header::DATE));
        assert!(!headers.contains_key(header::CONNECTION));

        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from("x"))]);
        let (framing, headers) = head(Response::new(Body::from_stream(stream)), true);
        assert_eq!(framing, Framing::Chunked);
        assert_eq!(headers[header::TRANSFER_ENCODING], "chunked");
        assert_eq!(headers[header::CONNECTION], "close");

        let mut empty = Response::new(Body::from("ignored"));
        *empty.status_mut() = StatusCode::NO_CONTENT;
        let (framing, headers) = head(empty, false);
        assert_eq!(framing, Framing::Bodiless);
        assert!(!headers.contains_key(header::CONTENT_LENGTH));
    }

    #[test]
    fn connection_close_is_found_among_other_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Close"),
        );
        assert!(asks_to_close(&headers));
        headers.insert(header::CONNECTION, HeaderValue::from_static("closed"));
        assert!(!asks_to_close(&headers));
    }

    #[test]
    fn a_send_timeout_of_zero_is_no_limit_and_a_fraction_of_a_millisecond_is_one() {
        assert_eq!(send_timeout_ms(Duration::ZERO), u32::MAX);
        assert_eq!(send_timeout_ms(Duration::from_micros(10)), 1);
        assert_eq!(send_timeout_ms(Duration::from_secs(60)), 60_000);
        assert_eq!(send_timeout_ms(Duration::MAX), u32::MAX);
    }

    #[tokio::test]
    async fn the_client_leaving_is_noticed() {
        let (server, mut client) = loopback_pair().await;
        client.shutdown().await.unwrap();
        let mut pending = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            client_left(&server, &mut pending, 1024),
        )
        .await
        .expect("the end of the client's side is noticed");
        assert!(pending.is_empty());
    }

    #[tokio::test]
    async fn what_the_client_sends_next_is_kept_within_the_limit() {
        for (limit, sent) in [(1024, 20), (100, 100), (4096, 256 * 1024)] {
            let (server, mut client) = loopback_pair().await;
            let next = vec![b'x'; sent];
            let writer = tokio::spawn(async move {
                // Blocks once the socket buffers are full: nobody reads them.
                let _ = client.write_all(&next).await;
                // The client's side then ends: the watch has stopped by now.
                let _ = client.shutdown().await;
                client
            });
            let mut pending = Vec::new();
            let watched = tokio::time::timeout(
                std::time::Duration::from_millis(300),
                client_left(&server, &mut pending, limit),
            )
            .await;
            assert!(
                watched.is_err(),
                "a client with a request pending is not taken for gone"
            );
            assert!(
                !pending.is_empty() && pending.len() <= limit.min(sent),
                "{limit}: {}",
                pending.len()
            );
            writer.abort();
        }
    }
}
