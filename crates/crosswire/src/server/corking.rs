//! The socket of an HTTP connection our accept loop serves, as hyper sees
//! it: the plain socket, until a WebSocket upgrade takes the connection.
//!
//! On an upgrade hyper writes the `101` response, then hands the socket
//! over, and the `open` hook usually sends something right away (a welcome,
//! a snapshot). Written on its own, the `101` costs a system call, and the
//! client a wake-up and a read of their own. So once the upgrade took the
//! connection ([`ConnectionSlot::take`]), this stream holds back what hyper
//! writes; the WebSocket's send queue gets it first
//! ([`Outbox::preface`](crate::ws::Outbox::preface)), and the response goes
//! out with the open hook's first frames in one write, the way uWebSockets
//! corks them. Until then a write costs one extra atomic load.
//!
//! It also gives hyper first what was read before hyper took the connection
//! (see `direct.rs`), and bounds how long one of hyper's writes may wait for
//! the client to take any byte (`[sse] send_timeout`, as the responses the
//! server writes itself are bounded in `write_batch.rs`): a client that
//! stops reading cannot hold its connection and the response in progress.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::bounded_writes::BoundedWrites;
use super::tracker::ConnectionSlot;

/// A connection's socket and what hyper wrote after the upgrade; see the
/// module docs.
pub(crate) struct CorkingStream {
    /// The socket, each write waiting at most `send_timeout` for the
    /// client to take a byte.
    stream: BoundedWrites<TcpStream>,
    slot: ConnectionSlot,
    /// Bytes written since the upgrade: the response head (and any earlier
    /// response hyper still had buffered), in order.
    held: Vec<u8>,
    /// Bytes read from the socket before hyper took it, not yet given to
    /// hyper.
    already_read: Bytes,
}

impl CorkingStream {
    /// `stream`, whose first bytes are `already_read` (then the socket's),
    /// each write waiting at most `send_timeout` for the client to take a
    /// byte (`Duration::ZERO`: no limit).
    pub(crate) fn new(
        stream: TcpStream,
        slot: ConnectionSlot,
        already_read: Bytes,
        send_timeout: Duration,
    ) -> Self {
        Self {
            stream: BoundedWrites::new(stream, send_timeout),
            slot,
            held: Vec::new(),
            already_read,
        }
    }

    /// The socket, the bytes held back for the send queue to write first,
    /// and what was read before hyper took the socket and hyper never asked
    /// for (they come before anything still in the socket).
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>, Bytes) {
        (self.stream.into_inner(), self.held, self.already_read)
    }
}

impl AsyncRead for CorkingStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.already_read.is_empty() {
            let len = this.already_read.len().min(buf.remaining());
            buf.put_slice(&this.already_read[..len]);
            this.already_read.advance(len);
            if this.already_read.is_empty() {
                // Not kept for the connection's life once given.
                this.already_read = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CorkingStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.slot.is_upgraded() {
            this.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.slot.is_upgraded() {
            let before = this.held.len();
            for buf in bufs {
                this.held.extend_from_slice(buf);
            }
            return Poll::Ready(Ok(this.held.len() - before));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.slot.is_upgraded() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
