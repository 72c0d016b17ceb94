//! The first request of a plain connection, answered without hyper.
//!
//! Most connections to a real-time server make one request, the upgrade,
//! and are WebSockets from then on; the rest are mostly one `GET` held open
//! as an event stream. Through hyper each costs a connection state with two
//! 8 KiB buffers (read, and headers to write) that an event stream keeps for
//! as long as it is open, a dispatcher, the response's encoding and, for an
//! upgrade, a hand-over of the socket through `hyper::upgrade`; with glibc's
//! allocator the two large buffers alone were a sixth of a handshake's CPU
//! time, and two-thirds of what an open event stream held.
//!
//! So the first read of a plain TCP connection from our accept loop is
//! ours. When it holds a complete request head of a `GET` (HTTP/1.1, no
//! body, within `max_header_bytes`):
//!
//! - a WebSocket upgrade goes through the same checks and hooks as under
//!   hyper (`route_upgrade`), the `101` is queued as the start of the
//!   connection's first write (see `Outbox::preface`), and the connection
//!   starts. A refusal is written with `Connection: close`;
//! - any other `GET` is routed as under hyper (`handle_metered`) and its
//!   response written by `direct_response`, an event stream included; the
//!   connection's next request, if any, goes to hyper.
//!
//! Anything else (another method, a head split over several reads or longer
//! than one, a parse error, a body, HTTP/1.0) goes to hyper with the bytes
//! already read, and hyper answers it as before.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use crosswire_proto::is_upgrade_request;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Version, header};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::direct_response::{self, Reply};
use super::metered::handle_metered;
use super::service::{Routes, route_upgrade};
use super::tracker::ConnectionSlot;
use super::upgrade::Upgrade;

/// The most bytes the first read takes: a browser's upgrade request, with
/// its cookies, fits; a longer head goes to hyper.
const HEAD_BYTES: usize = 4096;

/// Header fields a head may have here; more go to hyper (which allows 100).
const MAX_FIELDS: usize = 48;

/// A refusal's body is sent up to this size (a longer one is left out).
const REFUSAL_BODY_BYTES: usize = 64 * 1024;

/// How long a refusal's body may take to build and to write.
const REFUSAL_TIME: Duration = Duration::from_secs(5);

/// What became of the connection.
pub(crate) enum Served {
    /// Upgraded, refused, timed out or closed: nothing more to do here.
    Done,
    /// Not a request this path takes: serve it with hyper, which reads
    /// `already_read` first.
    /// hyper's `header_read_timeout` applies to each request head from then
    /// on (so the first may take up to twice the timeout in all, when its
    /// first bytes came just in time).
    Http {
        stream: TcpStream,
        already_read: Bytes,
    },
    /// A `GET` answered: write the reply on the socket.
    Respond(Reply, TcpStream),
}

/// What the first read gave.
///
/// The requests are boxed: the compiler keeps room for this value in the
/// connection's future, which hyper goes on serving in for as long as the
/// connection lives.
enum FirstRead {
    /// The client left (or the socket failed) before sending a request.
    Closed,
    /// An upgrade request, and the bytes after its head.
    Upgrade(Box<Request<()>>, Bytes),
    /// Another `GET`, and the bytes after its head.
    Get(Box<Request<()>>, Bytes),
    /// Anything else, as read.
    Other(Bytes),
}

/// Reads the first request of `stream` and answers it if it is an upgrade,
/// or routes it if it is another `GET` (the caller writes the reply); see
/// the module docs. (An `async` block rather than an `async fn`, which would
/// keep its arguments twice: this future lives in the connection's task for
/// as long as hyper serves it.)
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
pub(crate) fn serve<'a>(
    stream: TcpStream,
    remote: SocketAddr,
    routes: &'a Arc<Routes>,
    slot: &'a ConnectionSlot,
    header_read_timeout: Duration,
    stop: &'a mut watch::Receiver<bool>,
) -> impl Future<Output = Served> + Send + 'a {
    async move {
        // The request first: one that already arrived is answered (with
        // `Connection: close`, or 503 for an upgrade) rather than dropped
        // unread, which would reset the connection under the answer the
        // client waits for. Listeners defer accepting until a request's
        // bytes arrive, so a connection accepted just before the stop
        // usually has one, even when the runtime has not yet reported the
        // socket readable. A stopping server closes only a connection that
        // asked nothing yet.
        if stopping(stop) && !request_waiting(&stream) {
            return Served::Done;
        }
        let first = loop {
            tokio::select! {
                biased;
                first = tokio::time::timeout(header_read_timeout, first_read(&stream, routes.max_header_bytes)) => break first,
                changed = stop.changed(), if !stopping(stop) => {
                    if changed.is_err() || !request_waiting(&stream) {
                        return Served::Done;
                    }
                }
            }
        };
        if stopping(stop) {
            // What answers the request must still see the stop.
            stop.mark_changed();
        }
        let Ok(first) = first else {
            tracing::debug!(
                target: "crosswire::server",
                limit = "[server] header_read_timeout",
                "request head not received in time: connection closed"
            );
            return Served::Done;
        };
        let (request, already_read) = match first {
            FirstRead::Closed => return Served::Done,
            FirstRead::Upgrade(request, already_read) => (request, already_read),
            FirstRead::Get(request, already_read) => {
                let close_asked = direct_response::asks_to_close(request.headers());
                // As hyper does for the requests after this one: a client
                // that leaves while the handler runs takes the handler with
                // it, and its connection's place. Boxed: the routing's state,
                // the handler's and the watch's included, is gone once it
                // answered, and would widen this future for every connection
                // hyper goes on serving in it.
                let routed = handle_metered(
                    Arc::clone(routes),
                    remote,
                    slot.clone(),
                    (*request).map(|()| Body::empty()),
                );
                let watched = Box::pin(async {
                    tokio::select! {
                        biased;
                        Ok(response) = routed => Some(response),
                        () = client_gone(&stream) => None,
                    }
                });
                let Some(response) = watched.await else {
                    return Served::Done;
                };
                // A server that started stopping meanwhile says so in the head.
                let stopping = matches!(stop.has_changed(), Ok(true) | Err(_));
                let reply = Reply::new(
                    response,
                    close_asked || stopping,
                    already_read,
                    routes.max_header_bytes,
                    routes.shared.sse.send_timeout,
                );
                return Served::Respond(reply, stream);
            }
            FirstRead::Other(already_read) => {
                tracing::trace!(
                    target: "crosswire::server",
                    read = already_read.len(),
                    "not a request this path answers: served by hyper"
                );
                return Served::Http {
                    stream,
                    already_read,
                };
            }
        };
        let answering = {
            let (parts, ()) = request.into_parts();
            route_upgrade(routes, remote, slot, &parts)
        };
        // Boxed: this task goes on to serve every other connection with
        // hyper, and the handshake's state, the hook's included, would widen
        // its future for all of them.
        match Box::pin(answering).await {
            Upgrade::Accepted(response, accepted) => {
                routes.count_upgrade(&response);
                let mut head = Vec::with_capacity(256);
                write_head(&response.into_parts().0, &mut head);
                accepted.start_on(stream, already_read, &head);
            }
            Upgrade::Refused(response) => {
                routes.count_upgrade(&response);
                Box::pin(refuse(stream, response)).await;
            }
        }
        Served::Done
    }
}

/// Whether the server is stopping, seen or not.
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Whether bytes the client sent wait unread on `stream` (peeked, so they
/// stay for the read), whether or not the runtime has seen them yet.
fn request_waiting(stream: &TcpStream) -> bool {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    matches!(socket2::SockRef::from(stream).peek(&mut byte), Ok(read) if read > 0)
}

/// Completes when the client closed its side (or the connection failed)
/// before sending anything more; never, once it sent more (a pipelined
/// request, which is read after the answer). Reads nothing: it peeks.
async fn client_gone(stream: &TcpStream) {
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        let peeked = stream.try_io(tokio::io::Interest::READABLE, || {
            let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
            socket2::SockRef::from(stream).peek(&mut byte)
        });
        match peeked {
            Ok(0) => return,
            Ok(_) => return std::future::pending().await,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// The first read of what the client sent, parsed if it is a `GET`.
async fn first_read(stream: &TcpStream, max_header_bytes: usize) -> FirstRead {
    loop {
        if stream.readable().await.is_err() {
            return FirstRead::Closed;
        }
        // A new socket can be reported readable before anything arrived.
        if let Some(read) = read_once(stream, max_header_bytes) {
            return read;
        }
    }
}

/// One read, parsed; `None` if there was nothing to read.
fn read_once(stream: &TcpStream, max_header_bytes: usize) -> Option<FirstRead> {
    let mut buf = [0u8; HEAD_BYTES];
    // A read that took all there was leaves the connection's reader waiting
    // for more rather than reading once for nothing.
    let read = match crate::ws::read_settling(stream, HEAD_BYTES, || stream.try_read(&mut buf)) {
        Ok(0) => return Some(FirstRead::Closed),
        Ok(read) => read,
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return None,
        Err(_) => return Some(FirstRead::Closed),
    };
    let bytes = buf.get(..read).unwrap_or_default();
    Some(match parse_get(bytes, max_header_bytes) {
        Some((request, head_len)) => {
            let rest = Bytes::copy_from_slice(bytes.get(head_len..).unwrap_or_default());
            if is_upgrade_request(request.headers()) {
                FirstRead::Upgrade(Box::new(request), rest)
            } else {
                FirstRead::Get(Box::new(request), rest)
            }
        }
        None => FirstRead::Other(Bytes::copy_from_slice(bytes)),
    })
}

/// The request in `bytes` and the length of its head, if `bytes` starts
/// with a complete head of a `GET` this path takes.
fn parse_get(bytes: &[u8], max_header_bytes: usize) -> Option<(Request<()>, usize)> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut fields);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    if head_len > max_header_bytes || parsed.method != Some("GET") || parsed.version != Some(1) {
        return None;
    }
    // Origin form only (`/path?query`), as browsers send it.
    let target = parsed.path.filter(|path| path.starts_with('/'))?;
    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(field.value).ok()?;
        headers.append(name, value);
    }
    // A body, or a client waiting for `100 Continue`: hyper's to handle.
    let has_body = [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::EXPECT,
    ]
    .iter()
    .any(|name| headers.contains_key(name));
    if has_body {
        return None;
    }
    let mut request = Request::new(());
    *request.method_mut() = Method::GET;
    *request.version_mut() = Version::HTTP_11;
    *request.uri_mut() = target.parse().ok()?;
    *request.headers_mut() = headers;
    Some((request, head_len))
}

/// Appends a response's status line and header fields, and the blank line.
pub(super) fn write_head(response: &http::response::Parts, out: &mut Vec<u8>) {
    let status = response.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    // A reason phrase the response chose (`hyper::ext::ReasonPhrase`), as
    // hyper would send it.
    match response.extensions.get::<hyper::ext::ReasonPhrase>() {
        Some(reason) => out.extend_from_slice(reason.as_bytes()),
        None => out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in &response.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a refusal, with its length, its date and `Connection: close`,
/// then closes, as hyper would have written it (a status that cannot have a
/// body gets none; an informational one is no refusal: `500`).
async fn refuse(mut stream: TcpStream, response: Response) {
    let (mut parts, body) = response.into_parts();
    let body = if parts.status.is_informational() {
        tracing::error!(target: "crosswire::upgrade", status = %parts.status, "upgrade hook refused with an informational status: 500");
        parts = Response::new(()).into_parts().0;
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        Bytes::new()
    } else {
        let collected =
            tokio::time::timeout(REFUSAL_TIME, axum::body::to_bytes(body, REFUSAL_BODY_BYTES))
                .await;
        match collected {
            Ok(Ok(body)) => body,
            _ => {
                tracing::warn!(
                    target: "crosswire::upgrade",
                    limit = REFUSAL_BODY_BYTES,
                    "an upgrade refusal's body was too long or too slow: sent without it"
                );
                Bytes::new()
            }
        }
    };
    let has_body = !matches!(
        parts.status,
        StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED
    );
    let headers = &mut parts.headers;
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    if has_body {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.entry(header::DATE).or_insert(date);
    }
    let mut out = Vec::with_capacity(256 + body.len());
    write_head(&parts, &mut out);
    if has_body {
        out.extend_from_slice(&body);
    }
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(&out).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn an_upgrade_head_is_taken_with_its_length() {
        let bytes = format!("{UPGRADE}\u{81}");
        let (request, len) = parse_get(bytes.as_bytes(), 8192).unwrap();
        assert_eq!(len, UPGRADE.len());
        assert_eq!(request.uri().path(), "/chat");
        assert_eq!(request.uri().query(), Some("room=1"));
        assert_eq!(request.headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn a_plain_get_is_taken_too() {
        let get = "GET /api/sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\nGET";
        let (request, len) = parse_get(get.as_bytes(), 8192).unwrap();
        assert_eq!(len, get.len() - 3);
        assert_eq!(request.uri().path(), "/api/sse");
        assert!(!is_upgrade_request(request.headers()));
    }

    #[test]
    fn anything_else_is_left_to_hyper() {
        let cases = [
            // Not complete yet.
            &UPGRADE[..UPGRADE.len() - 2],
            // HTTP/1.0, another method, a body, an absolute target.
            &UPGRADE.replace("HTTP/1.1", "HTTP/1.0"),
            &UPGRADE.replace("GET", "POST"),
            &UPGRADE.replace("Host: x", "Host: x\r\nContent-Length: 0"),
            &UPGRADE.replace("Host: x", "Host: x\r\nTransfer-Encoding: chunked"),
            &UPGRADE.replace("Host: x", "Host: x\r\nExpect: 100-continue"),
            // More fields than this path parses.
            &UPGRADE.replace(
                "Host: x",
                &format!("Host: x{}", "\r\nX-F: v".repeat(MAX_FIELDS)),
            ),
            &UPGRADE.replace("/chat?room=1", "http://x/chat"),
            // Not HTTP.
            "\x16\x03\x01\x02\x00",
        ];
        for case in cases {
            assert!(parse_get(case.as_bytes(), 8192).is_none(), "{case:?}");
        }
        // Longer than `max_header_bytes`: hyper answers 431.
        assert!(parse_get(UPGRADE.as_bytes(), 64).is_none());
    }

    #[test]
    fn a_head_is_written_as_http_1_1() {
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        response
            .headers_mut()
            .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        let mut out = Vec::new();
        write_head(&response.into_parts().0, &mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"
        );
    }
}
