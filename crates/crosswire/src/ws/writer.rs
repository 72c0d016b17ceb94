//! The half of a connection's task that puts queued frames on the wire
//! (the other half reads; see [`super::duplex`]).
//!
//! Each wake-up takes everything queued and writes it with vectored writes (a
//! slice per run of small frames, two per large shared frame, up to 64 per
//! call): many messages cost one system call, which is
//! the "corking" that makes uWebSockets fast. A write of one slice (a
//! reply, a quiet peer's message) goes out with `send`, which skips the
//! kernel's file and iovec layers. Over TLS the same slices go to
//! the TLS stream, which seals them into records, and are flushed once per
//! batch; a stream upgraded by another server (mounted mode) is written the
//! same way.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::net::TcpStream;

use super::batch_cursor::{BatchCursor, SLICES_PER_WRITE};
use super::buffer_pool;
use super::outbox::{Batch, Chunk, Outbox};
use super::transport::WriteSide;

/// A batch queue larger than this many chunks is not kept for reuse, so one
/// burst does not pin memory for the rest of an idle connection's life.
const KEEP_BATCH_CAPACITY: usize = 64;

/// Writes frames from `outbox` until a close frame was written (then shuts
/// the write side), the outbox is terminated, or the socket fails.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
pub(crate) fn run_writer(
    outbox: Arc<Outbox>,
    io: &mut WriteSide,
) -> impl Future<Output = ()> + Send + '_ {
    // An `async` block, so the arguments are not kept twice in the future.
    async move {
        let mut batch: VecDeque<Chunk> = VecDeque::new();
        loop {
            if outbox.next_batch(&mut batch).await == Batch::Terminate {
                return;
            }
            // In a block of its own, so the result is gone before the
            // shutdown below waits: a value still alive across an await
            // is stored in every connection's task.
            {
                let written = match &mut *io {
                    WriteSide::Tcp(io) => write_chunks(io, &batch).await,
                    #[cfg(feature = "tls")]
                    WriteSide::Tls(io) => write_chunks_stream(io, &batch).await,
                    WriteSide::Upgraded(io) => write_chunks_stream(io, &batch).await,
                };
                if let Err(error) = written {
                    tracing::debug!(target: "crosswire::ws", %error, "write failed");
                    outbox.writer_failed();
                    return;
                }
            }
            // Read from the batch after the write, so neither the sum nor the
            // flag is kept in the future while the write waits.
            let ends_with_close = batch.back().is_some_and(Chunk::is_close);
            let (mut bytes, mut capacity) = (0, 0);
            for chunk in batch.drain(..) {
                bytes += chunk.wire_len();
                match chunk {
                    Chunk::Inline(buffer) => {
                        capacity += buffer.capacity();
                        buffer_pool::give(buffer);
                    }
                    Chunk::Framed(_, counted) => capacity += counted,
                    Chunk::Shared(_) => {}
                }
            }
            let (messages, frame_bytes) = outbox.written(bytes, capacity);
            if let Some(metrics) = outbox.metrics() {
                metrics.batch_sent(messages, frame_bytes);
            }
            if batch.capacity() > KEEP_BATCH_CAPACITY {
                batch = VecDeque::new();
            }
            if ends_with_close {
                // The closing handshake: after our close frame, the server is the
                // side that ends the TCP connection (RFC 6455 §7.1.1).
                match &mut *io {
                    WriteSide::Tcp(io) => {
                        let _ = socket2::SockRef::from(&**io).shutdown(std::net::Shutdown::Write);
                    }
                    // close_notify, then the TCP write side.
                    #[cfg(feature = "tls")]
                    WriteSide::Tls(io) => {
                        let _ = tokio::io::AsyncWriteExt::shutdown(io).await;
                    }
                    // Down to the socket's write side, through the other server's
                    // wrappers.
                    WriteSide::Upgraded(io) => {
                        let _ = tokio::io::AsyncWriteExt::shutdown(io).await;
                    }
                }
                return;
            }
        }
    }
}

/// Bytes of the writer's future, for the connection `transport`.
#[cfg(test)]
pub(crate) fn writer_future_size(outbox: Arc<Outbox>, transport: super::Transport) -> usize {
    let (_, mut write) = transport.split();
    std::mem::size_of_val(&run_writer(outbox, &mut write))
}

/// Writes every chunk of `chunks`, in order, with as few system calls as the
/// socket allows. While the socket is full it keeps only its cursor (see
/// [`super::batch_cursor`]), in a plain future over its arguments.
fn write_chunks<'a>(
    io: &'a TcpStream,
    chunks: &'a VecDeque<Chunk>,
) -> impl Future<Output = std::io::Result<()>> + Send + 'a {
    let mut cursor = BatchCursor::start(chunks);
    std::future::poll_fn(move |cx| {
        loop {
            write_now(io, chunks, &mut cursor)?;
            if cursor.is_done(chunks) {
                return Poll::Ready(Ok(()));
            }
            // Readiness through the socket's own writer slot rather than
            // `writable()`, whose future carries a waiter node that would sit
            // in every connection's task. A write that found the socket full
            // cleared it, so this waits for room.
            std::task::ready!(io.poll_write_ready(cx))?;
        }
    })
}

/// Writes from `cursor` until the socket takes no more or the batch is out.
fn write_now(
    io: &TcpStream,
    chunks: &VecDeque<Chunk>,
    cursor: &mut BatchCursor,
) -> std::io::Result<()> {
    let mut slices = [IoSlice::new(&[]); SLICES_PER_WRITE];
    while !cursor.is_done(chunks) {
        let filled = cursor.fill(chunks, &mut slices);
        // One slice (a reply, a quiet peer's message) goes out with `send`,
        // which skips the kernel's file and iovec layers that `writev` goes
        // through.
        let result = match slices.get(..filled).unwrap_or_default() {
            [one] => io.try_write(one),
            some => io.try_write_vectored(some),
        };
        match result {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => cursor.advance(chunks, written),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes every chunk of `chunks`, in order, to a TLS or upgraded stream,
/// then flushes it: the records (or buffered bytes) go out together.
fn write_chunks_stream<'a, T: tokio::io::AsyncWrite + Send>(
    io: &'a mut tokio::io::WriteHalf<T>,
    chunks: &'a VecDeque<Chunk>,
) -> impl Future<Output = std::io::Result<()>> + Send + 'a {
    use tokio::io::AsyncWrite;
    let mut cursor = BatchCursor::start(chunks);
    std::future::poll_fn(move |cx| {
        while !cursor.is_done(chunks) {
            let mut slices = [IoSlice::new(&[]); SLICES_PER_WRITE];
            let filled = cursor.fill(chunks, &mut slices);
            let slices = slices.get(..filled).unwrap_or_default();
            let written = std::task::ready!(Pin::new(&mut *io).poll_write_vectored(cx, slices))?;
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            cursor.advance(chunks, written);
        }
        Pin::new(&mut *io).poll_flush(cx)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::Payload;
    use crate::ws::out_frame::OutFrame;
    use tokio::io::AsyncReadExt;

    /// A connected pair: the server's socket and the client's.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    /// Writes `chunks` while the client starts reading only after a pause,
    /// so the socket fills and the writes stop part-way more than once.
    async fn written_whole(chunks: VecDeque<Chunk>, expected: Vec<u8>) {
        let (server, mut client) = pair().await;
        let reader = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let mut received = vec![0u8; expected.len()];
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                client.read_exact(&mut received),
            );
            read.await.expect("bytes missing").unwrap();
            assert!(received == expected, "bytes lost or out of order");
        });
        write_chunks(&server, &chunks).await.unwrap();
        reader.await.unwrap();
    }

    #[tokio::test]
    async fn one_buffer_larger_than_the_socket_takes_is_written_whole() {
        let bytes = pattern(16 << 20, 0);
        let chunks = VecDeque::from([Chunk::Inline(bytes.clone())]);
        written_whole(chunks, bytes).await;
    }

    #[tokio::test]
    async fn several_buffers_are_written_whole_and_in_order() {
        let first = pattern(8 << 20, 1);
        let second = pattern(8 << 20, 2);
        let chunks = VecDeque::from([
            Chunk::Inline(first.clone()),
            Chunk::Framed(bytes::Bytes::from(second.clone()), 0),
        ]);
        written_whole(chunks, [first, second].concat()).await;
    }

    #[tokio::test]
    async fn more_parts_than_one_write_takes_are_written_whole_and_in_order() {
        // 300 shared frames (a header and a payload each: 600 slices, so
        // many attempts of 64) between small runs, several megabytes in
        // all, so writes also stop inside headers and payloads.
        let mut chunks = VecDeque::new();
        for i in 0..300u16 {
            let len = 9_000 + usize::from(i) * 37;
            let payload = pattern(len, (i % 7) as u8);
            let frame = OutFrame::from_payload(Payload::binary(payload));
            chunks.push_back(Chunk::Shared(frame.plain().clone()));
            if i % 50 == 0 {
                chunks.push_back(Chunk::Inline(pattern(100 + usize::from(i), 9)));
                chunks.push_back(Chunk::Inline(Vec::new()));
            }
        }
        let mut expected = Vec::new();
        for chunk in &chunks {
            chunk.append_to(&mut expected);
        }
        written_whole(chunks, expected).await;
    }
}
