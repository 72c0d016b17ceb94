//! The life of one upgraded connection: join, `open`, read and dispatch
//! messages, keep-alive, the closing handshake, `close`.
//!
//! Two tasks serve a connection. This one owns the read half: it decodes
//! frames, runs the hooks one at a time (so they see messages in arrival
//! order), answers pings, sends keep-alive pings and enforces the idle and
//! closing timeouts. The writer task ([`super::writer`]) owns the write half
//! and drains the peer's send queue. They talk only through the
//! [`Outbox`](super::outbox::Outbox).
//!
//! An idle connection holds no read buffer: the reader waits for readiness and
//! allocates only when bytes arrive, releasing the buffer again once every
//! complete frame has been consumed.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use crosswire_proto::{CloseFrame, Decoder, DecoderConfig, Event, OpCode, ProtocolError};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::{Instant, sleep_until, timeout};
use tracing::Instrument;

use super::close_info::CloseInfo;
use super::dispatch::{DynHandler, run_hook};
use super::message::Message;
use super::outbox::OutFrame;
use super::peer::Peer;
use super::writer::run_writer;
use crate::config::WebSocketConfig;
use crate::error::WebSocketError;
use crate::shared::Shared;

/// Bytes reserved per read; large enough for a burst of small messages.
const READ_CHUNK: usize = 16 * 1024;

/// How the read loop ended.
struct Ended {
    close: CloseInfo,
    error: Option<WebSocketError>,
}

impl Ended {
    fn dropped() -> Self {
        Self {
            close: CloseInfo::new(1006, ""),
            error: None,
        }
    }
}

/// Serves an upgraded connection until it is closed, then runs `close`.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    already_read: Bytes,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    shared: Arc<Shared>,
) {
    let span = tracing::debug_span!(
        target: "crosswire::ws",
        "ws",
        peer = %peer,
        remote = %peer.remote_address(),
        path = peer.request().path(),
    );
    let config = shared.websocket.clone();
    let (read_half, write_half) = stream.into_split();
    let outbox = Arc::clone(peer.outbox());
    let mut writer =
        tokio::spawn(run_writer(Arc::clone(&outbox), write_half).instrument(span.clone()));

    async move {
        tracing::debug!("open");
        shared.join(&peer);
        run_hook(&peer, "open", Arc::clone(&handler).open(peer.clone())).await;

        let mut reader = Reader::new(read_half, already_read, &config);
        let ended = reader.run(&peer, &handler).await;

        shared.leave(peer.key());
        peer.leave_topics();
        if let Some(error) = ended.error {
            tracing::debug!(%error, "connection failed");
            run_hook(
                &peer,
                "error",
                Arc::clone(&handler).error(peer.clone(), error),
            )
            .await;
        }
        tracing::debug!(code = ended.close.code, "close");
        run_hook(
            &peer,
            "close",
            Arc::clone(&handler).close(peer.clone(), ended.close),
        )
        .await;

        // Let the writer flush what is queued (the close frame last), bounded.
        let sent_close = outbox.is_closing() && !outbox.is_terminated();
        if !sent_close {
            outbox.terminate();
        }
        if timeout(config.close_timeout, &mut writer).await.is_err() {
            writer.abort();
            return;
        }
        if sent_close {
            // Wait for the client to close its side, so the socket is not
            // reset under data the client is still reading.
            reader.drain_until_eof(config.close_timeout).await;
        }
    }
    .instrument(span)
    .await;
}

/// The read side of a connection.
struct Reader {
    io: OwnedReadHalf,
    buf: BytesMut,
    decoder: Decoder,
    idle_timeout: Duration,
    ping_interval: Duration,
    close_timeout: Duration,
}

impl Reader {
    fn new(io: OwnedReadHalf, already_read: Bytes, config: &WebSocketConfig) -> Self {
        Self {
            io,
            buf: BytesMut::from(&already_read[..]),
            decoder: Decoder::new(DecoderConfig::new(
                config.max_frame_size,
                config.max_message_size,
            )),
            idle_timeout: config.idle_timeout,
            ping_interval: config.ping_interval,
            close_timeout: config.close_timeout,
        }
    }

    /// Reads and dispatches until the connection ends.
    async fn run(&mut self, peer: &Peer, handler: &Arc<dyn DynHandler>) -> Ended {
        let outbox = Arc::clone(peer.outbox());
        let mut last_seen = Instant::now();
        let mut next_ping = last_seen + self.ping_interval;
        // Set once the server has started a close: when to give up waiting for
        // the client's close frame, and the failure that caused it, if any.
        let mut closing: Option<(Instant, Option<WebSocketError>)> = None;

        loop {
            // Everything complete in the buffer, in order.
            loop {
                let event = match self.decoder.decode(&mut self.buf) {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(error) => return fail(peer, error),
                };
                match event {
                    Event::Text(data) | Event::Binary(data) if closing.is_some() => drop(data),
                    Event::Text(data) => {
                        let message = Message::from_parts(data, true);
                        run_hook(
                            peer,
                            "message",
                            Arc::clone(handler).message(peer.clone(), message),
                        )
                        .await;
                    }
                    Event::Binary(data) => {
                        let message = Message::from_parts(data, false);
                        run_hook(
                            peer,
                            "message",
                            Arc::clone(handler).message(peer.clone(), message),
                        )
                        .await;
                    }
                    Event::Ping(data) => {
                        outbox.push(OutFrame::new(OpCode::Pong, data));
                    }
                    Event::Pong(_) => {}
                    Event::Close(frame) => {
                        let info = match &frame {
                            Some(f) => CloseInfo::new(f.code, f.reason.clone()),
                            None => CloseInfo::new(1005, ""),
                        };
                        // Echo the client's code (RFC 6455 §5.5.1); if we had
                        // already sent ours, this is the answer to it.
                        outbox.close(frame.as_ref());
                        let error = closing.and_then(|(_, error)| error);
                        return Ended { close: info, error };
                    }
                }
            }
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                // Idle connections hold no buffer.
                self.buf = BytesMut::new();
            }

            if outbox.is_terminated() {
                return Ended::dropped();
            }
            if closing.is_none() && outbox.is_closing() {
                let error = outbox
                    .take_overflowed()
                    .then(|| WebSocketError::SendQueueFull {
                        limit: outbox.limit(),
                    });
                closing = Some((Instant::now() + self.close_timeout, error));
            }

            let idle_deadline = last_seen + self.idle_timeout;
            let wake = match &closing {
                Some((deadline, _)) => *deadline,
                None => next_ping.min(idle_deadline),
            };
            tokio::select! {
                read = self.read_more() => match read {
                    Ok(0) | Err(_) => {
                        return match closing {
                            // We closed and the client just hung up: the close
                            // we sent is the best account of what happened.
                            Some((_, error)) => server_closed(&outbox, error),
                            None => Ended::dropped(),
                        };
                    }
                    Ok(_) => last_seen = Instant::now(),
                },
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if let Some((deadline, error)) = closing.take() {
                        if now >= deadline {
                            return server_closed(&outbox, error);
                        }
                        closing = Some((deadline, error));
                    } else if now >= idle_deadline {
                        let error = WebSocketError::IdleTimeout(self.idle_timeout);
                        outbox.close(Some(&CloseFrame { code: 1001, reason: "idle timeout".to_owned() }));
                        return Ended { close: CloseInfo::new(1001, "idle timeout"), error: Some(error) };
                    } else if now >= next_ping {
                        outbox.push(OutFrame::new(OpCode::Ping, Bytes::new()));
                        next_ping = now + self.ping_interval;
                    }
                }
                () = outbox.closing_started(), if closing.is_none() => {}
            }
        }
    }

    /// Waits for the socket to be readable, then reads what is there.
    async fn read_more(&mut self) -> std::io::Result<usize> {
        loop {
            self.io.readable().await?;
            self.buf.reserve(READ_CHUNK);
            match self.io.try_read_buf(&mut self.buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Discards whatever the client still sends until it closes, bounded.
    async fn drain_until_eof(&mut self, limit: Duration) {
        let _ = timeout(limit, async {
            loop {
                self.buf.clear();
                match self.read_more().await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// Fails the connection on a protocol error: close with the error's code.
fn fail(peer: &Peer, error: ProtocolError) -> Ended {
    let code = error.close_code();
    let mut reason = error.to_string();
    truncate_utf8(&mut reason, 123);
    peer.outbox().close(Some(&CloseFrame {
        code,
        reason: reason.clone(),
    }));
    Ended {
        close: CloseInfo::new(code, reason),
        error: Some(WebSocketError::Protocol(error)),
    }
}

/// The connection ended after a server-initiated close that the client did
/// not answer with a close frame.
fn server_closed(outbox: &super::outbox::Outbox, error: Option<WebSocketError>) -> Ended {
    let close = match outbox.sent_close() {
        Some(frame) => CloseInfo::new(frame.code, frame.reason),
        None => CloseInfo::new(1006, ""),
    };
    Ended { close, error }
}

/// Shortens `text` to at most `max` bytes on a character boundary.
fn truncate_utf8(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}
