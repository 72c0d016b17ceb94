//! The bytes of one write of a response written without hyper.
//!
//! A response goes out as its head, then batches of the body's ready
//! frames, each batch in one vectored write. Small parts (the head, chunk
//! size lines, small frames) are copied back to back; a large frame is
//! written from its own buffer, uncopied: an event stream's chunks are up to
//! 16 KiB of events that were already encoded once into its queue.
//!
//! A batch lives only while it is filled and written, so a response that
//! waits for its next frame (an idle event stream) holds no buffer.

use std::future::Future;
use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::stall::WriteStall;

/// Parts shorter than this are copied; longer ones are written from their
/// own buffer.
const COPY_BELOW: usize = 1024;

/// The most slices one system call is given (Linux allows 1024).
const MAX_SLICES: usize = 64;

/// What one write sends; see the module docs.
#[derive(Debug, Default)]
pub(super) struct WriteBatch {
    /// Parts in order, but for the last small ones, still in `small`.
    parts: Vec<Bytes>,
    small: Vec<u8>,
    len: usize,
}

impl WriteBatch {
    /// A batch that starts with `head`.
    pub(super) fn new(head: Vec<u8>) -> Self {
        Self {
            parts: Vec::new(),
            len: head.len(),
            small: head,
        }
    }

    /// Bytes in the batch.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `bytes`.
    pub(super) fn copy(&mut self, bytes: &[u8]) {
        self.small.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `bytes`, uncopied unless they are short.
    pub(super) fn share(&mut self, bytes: Bytes) {
        if bytes.len() < COPY_BELOW {
            self.copy(&bytes);
            return;
        }
        self.seal();
        self.len += bytes.len();
        self.parts.push(bytes);
    }

    /// Appends the size line of an HTTP/1.1 chunk of `len` bytes.
    pub(super) fn chunk_size(&mut self, len: usize) {
        let mut line = [0u8; 2 * size_of::<usize>() + 2];
        let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1) as usize;
        for (at, slot) in line.iter_mut().take(digits).enumerate() {
            let shift = 4 * (digits - 1 - at);
            *slot = b"0123456789abcdef"[(len >> shift) & 0xf];
        }
        line[digits] = b'\r';
        line[digits + 1] = b'\n';
        self.copy(&line[..digits + 2]);
    }

    /// Ends the run of small parts.
    fn seal(&mut self) {
        if !self.small.is_empty() {
            self.parts
                .push(Bytes::from(std::mem::take(&mut self.small)));
        }
    }

    /// Writes the whole batch to `stream`, in order; fails with `TimedOut`
    /// once the client has taken nothing of it for `stall` (`[sse]
    /// send_timeout`): a client that stopped reading would otherwise hold
    /// the connection, the batch and its socket buffers for as long as it
    /// stays connected, since nothing else of the response runs while a
    /// write waits.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn would store its arguments twice"
    )]
    pub(super) fn write_to(
        mut self,
        stream: &mut TcpStream,
        stall: Duration,
    ) -> impl Future<Output = io::Result<()>> + Send + '_ {
        async move {
            self.seal();
            let mut slices: Vec<IoSlice<'_>> =
                self.parts.iter().map(|part| IoSlice::new(part)).collect();
            let mut pending: &mut [IoSlice<'_>] = &mut slices;
            while !pending.is_empty() {
                let at_most = pending.len().min(MAX_SLICES);
                let written = write_some(stream, &pending[..at_most], stall).await?;
                if written == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(&mut pending, written);
            }
            Ok(())
        }
    }

    /// The batch's bytes, in order.
    #[cfg(test)]
    pub(super) fn to_vec(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.parts.iter().flat_map(|p| p.iter().copied()).collect();
        out.extend_from_slice(&self.small);
        out
    }
}

/// One vectored write of `slices`, failing once it has waited `stall` for
/// the socket to take any of it (the rule of [`WriteStall`]). Most writes
/// are taken at once; only one that waits pays for the limit and its timer,
/// in a box, so the future an open stream rests in does not carry them.
async fn write_some(
    stream: &mut TcpStream,
    slices: &[IoSlice<'_>],
    stall: Duration,
) -> io::Result<usize> {
    let mut write = std::pin::pin!(stream.write_vectored(slices));
    if let Some(done) = write.as_mut().now_or_never() {
        return done;
    }
    let mut limit = WriteStall::new(stall);
    Box::pin(std::future::poll_fn(move |cx| {
        let written = write.as_mut().poll(cx);
        limit.check(cx, written)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::super::test_sockets::loopback_pair;
    use super::*;

    #[test]
    fn chunk_sizes_are_lower_case_hex() {
        for (len, line) in [
            (0, "0\r\n"),
            (9, "9\r\n"),
            (26, "1a\r\n"),
            (16384, "4000\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            let mut batch = WriteBatch::default();
            batch.chunk_size(len);
            assert_eq!(batch.to_vec(), line.as_bytes(), "{len}");
        }
    }

    #[tokio::test]
    async fn a_write_the_client_takes_nothing_of_gives_up_after_the_stall_limit() {
        let (mut server, _client) = loopback_pair().await;
        let mut batch = WriteBatch::default();
        batch.share(Bytes::from(vec![7u8; 16 << 20]));
        let started = std::time::Instant::now();
        let error = batch
            .write_to(&mut server, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_client_that_reads_slowly_gets_it_all_however_long_it_takes() {
        let (mut server, mut client) = loopback_pair().await;
        let mut batch = WriteBatch::default();
        let len = 8 << 20;
        batch.share(Bytes::from(vec![7u8; len]));
        // Reads a little at a time with pauses, each shorter than the limit,
        // for longer in all than the limit.
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 256 << 10];
            let mut received = 0;
            while received < len {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0);
                received += n;
            }
            received
        });
        let started = std::time::Instant::now();
        batch
            .write_to(&mut server, Duration::from_millis(150))
            .await
            .unwrap();
        assert_eq!(reader.await.unwrap(), len);
        assert!(started.elapsed() > Duration::from_millis(150));
    }

    #[tokio::test]
    async fn small_and_large_parts_arrive_in_order() {
        let (mut server, mut client) = loopback_pair().await;

        let large: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut batch = WriteBatch::new(b"head\r\n".to_vec());
        let mut expected = b"head\r\n".to_vec();
        for n in 0..200 {
            let part = if n % 2 == 0 {
                Bytes::from(format!("small {n};"))
            } else {
                Bytes::copy_from_slice(&large[n * 1000..n * 1000 + 1500 + n * 10])
            };
            expected.extend_from_slice(&part);
            batch.share(part);
        }
        batch.share(Bytes::from(large.clone()));
        expected.extend_from_slice(&large);
        batch.copy(b"end");
        expected.extend_from_slice(b"end");
        assert_eq!(batch.len(), expected.len());
        assert_eq!(batch.to_vec(), expected);

        // Read while it is written: more than the socket buffers hold.
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            client.read_to_end(&mut received).await.unwrap();
            received
        });
        batch
            .write_to(&mut server, Duration::from_secs(10))
            .await
            .unwrap();
        drop(server);
        assert!(reader.await.unwrap() == expected, "the bytes differ");
    }
}
