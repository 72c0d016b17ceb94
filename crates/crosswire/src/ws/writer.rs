//! The half of a connection's task that puts queued frames on the wire
//! (the other half reads; see [`super::duplex`]).
//!
//! Each wake-up takes everything queued and writes it with vectored writes (a
//! slice per run of small frames, two per large shared frame, up to the
//! kernel's `IOV_MAX` per call): many messages cost one system call, which is
//! the "corking" that makes uWebSockets fast. A write of one slice (a
//! reply, a quiet peer's message) goes out with `send`, which skips the
//! kernel's file and iovec layers. Over TLS the same slices go to
//! the TLS stream, which seals them into records, and are flushed once per
//! batch; a stream upgraded by another server (mounted mode) is written the
//! same way.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::sync::Arc;

use tokio::net::TcpStream;

use super::buffer_pool;
use super::outbox::{Batch, Chunk, Outbox};
use super::transport::WriteSide;

/// Slices per `writev` call; Linux's `IOV_MAX` is 1024.
const MAX_SLICES: usize = 1024;

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
    mut io: WriteSide,
) -> impl Future<Output = ()> + Send {
    // An `async` block, so the arguments are not kept twice in the future.
    async move {
        let mut batch: VecDeque<Chunk> = VecDeque::new();
        loop {
            let next = outbox.next_batch(&mut batch).await;
            let ends_with_close = match next {
                Batch::Terminate => return,
                Batch::Frames { ends_with_close } => ends_with_close,
            };
            let written = match &mut io {
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
            // Counted after the write, so the sum is not kept in the future
            // while the write waits.
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
                match &mut io {
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
    let (_, write) = transport.split();
    std::mem::size_of_val(&run_writer(outbox, write))
}

/// Refills `slices` with the next chunks of `rest`, as many as one vectored
/// write takes: a slice per run of small frames, two per large shared frame.
fn next_slices<'a>(
    rest: &mut std::collections::vec_deque::Iter<'a, Chunk>,
    slices: &mut Vec<IoSlice<'a>>,
) {
    slices.clear();
    while slices.len() + 2 <= MAX_SLICES {
        let Some(chunk) = rest.next() else {
            break;
        };
        match chunk {
            Chunk::Inline(bytes) => slices.push(IoSlice::new(bytes)),
            Chunk::Framed(bytes, _) => slices.push(IoSlice::new(bytes)),
            Chunk::Shared(frame) => {
                slices.push(IoSlice::new(frame.header()));
                if !frame.payload().is_empty() {
                    slices.push(IoSlice::new(frame.payload()));
                }
            }
        }
    }
}

/// Writes every chunk of `chunks`, in order, with as few system calls as the
/// socket allows. (An `async` block, so the arguments are not kept twice in
/// the writer's future.)
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
fn write_chunks<'a>(
    io: &'a TcpStream,
    chunks: &'a VecDeque<Chunk>,
) -> impl Future<Output = std::io::Result<()>> + Send + 'a {
    async move {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity((chunks.len() * 2).min(MAX_SLICES));
        let mut rest = chunks.iter();
        while rest.len() > 0 {
            next_slices(&mut rest, &mut slices);
            let mut pending: &mut [IoSlice<'_>] = &mut slices;
            while !pending.is_empty() {
                // One slice (a reply, a quiet peer's message) goes out with
                // `send`, which skips the kernel's file and iovec layers that
                // `writev` goes through.
                let result = match pending {
                    [one] => io.try_write(one),
                    _ => io.try_write_vectored(pending),
                };
                let written = match result {
                    Ok(written) => written,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        // Readiness through the socket's own writer slot rather
                        // than `writable()`, whose future carries a waiter node
                        // that would sit in every connection's task.
                        std::future::poll_fn(|cx| io.poll_write_ready(cx)).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if written == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(&mut pending, written);
            }
        }
        Ok(())
    }
}

/// Writes every chunk of `chunks`, in order, to a TLS or upgraded stream,
/// then flushes it: the records (or buffered bytes) go out together.
async fn write_chunks_stream<T: tokio::io::AsyncWrite>(
    io: &mut tokio::io::WriteHalf<T>,
    chunks: &VecDeque<Chunk>,
) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity((chunks.len() * 2).min(MAX_SLICES));
    let mut rest = chunks.iter();
    while rest.len() > 0 {
        next_slices(&mut rest, &mut slices);
        let mut pending: &mut [IoSlice<'_>] = &mut slices;
        while !pending.is_empty() {
            let written = io.write_vectored(pending).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut pending, written);
        }
    }
    io.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
