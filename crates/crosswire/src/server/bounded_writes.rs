//! A socket whose writes may wait only so long for the client to take a
//! byte (`[sse] send_timeout`): the plain-HTTP socket hyper writes to (see
//! `corking.rs`), and the TCP stream under TLS.
//!
//! Over TLS hyper writes records into the TLS layer, which writes them to
//! the socket; a client that stops reading first fills the socket, then
//! the TLS layer's buffer, and from then on every write and every flush
//! waits. Without a limit such a client would hold its connection, and the
//! response in progress, for as long as it stays connected. The limit sits
//! under the TLS layer, on the socket itself, so that every byte the
//! socket takes counts as progress: a flush of the TLS layer's buffer
//! (tens of kilobytes) to a slow reader stays pending for a while, and
//! bounding it from above would cut a client that reads, only slowly.
//! Reads pass through untouched. An upgrade turns the limit off
//! ([`BoundedWrites::release`]): a WebSocket is bounded by its own send
//! queue rules instead.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stall::WriteStall;

/// `S`, with writes and flushes that fail once they have waited for the
/// limit with nothing taken; see the module docs.
pub(crate) struct BoundedWrites<S> {
    stream: S,
    stall: WriteStall,
}

impl<S> BoundedWrites<S> {
    /// `stream`, each write or flush waiting at most `limit` for the client
    /// to take a byte (`Duration::ZERO`: no limit).
    pub(crate) fn new(stream: S, limit: Duration) -> Self {
        Self {
            stream,
            stall: WriteStall::new(limit),
        }
    }

    /// The socket, without the limit.
    pub(crate) fn into_inner(self) -> S {
        self.stream
    }

    /// Turns the limit off for good (the connection became a WebSocket's).
    #[cfg(any(feature = "tls", test))]
    pub(crate) fn release(&mut self) {
        self.stall = WriteStall::new(Duration::ZERO);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BoundedWrites<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BoundedWrites<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.stall.check(cx, outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.stall.check(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.stream).poll_flush(cx);
        this.stall.check(cx, outcome)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_the_peer_never_takes_fails_after_the_limit_and_reads_pass_through() {
        // A pipe whose far end never reads: writes stop once its buffer is full.
        let (near, mut far) = tokio::io::duplex(64);
        let mut bounded = BoundedWrites::new(near, Duration::from_millis(100));
        far.write_all(b"hello").await.unwrap();
        let mut read = [0u8; 5];
        bounded.read_exact(&mut read).await.unwrap();
        assert_eq!(&read, b"hello");

        let started = tokio::time::Instant::now();
        let error = bounded.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(100));

        // Released: the write just waits.
        let (near, _far) = tokio::io::duplex(64);
        let mut unbounded = BoundedWrites::new(near, Duration::from_millis(100));
        unbounded.release();
        let waiting = tokio::time::timeout(
            Duration::from_millis(300),
            unbounded.write_all(&[0u8; 1024]),
        )
        .await;
        assert!(waiting.is_err(), "a write without a limit gave up");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_reader_that_takes_bytes_is_never_cut() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut bounded = BoundedWrites::new(near, Duration::from_millis(200));
        let reader = tokio::spawn(async move {
            let mut total = 0;
            let mut buf = [0u8; 16];
            while total < 4096 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                total += far.read(&mut buf).await.unwrap();
            }
            total
        });
        // 4 KiB through a 64-byte pipe, 16 bytes every 5 ms: over a second
        // in all, far past the limit, but never a wait that long.
        bounded.write_all(&[7u8; 4096]).await.unwrap();
        bounded.flush().await.unwrap();
        assert_eq!(reader.await.unwrap(), 4096);
    }
}
