//! The one task per connection that puts queued frames on the wire.
//!
//! Each wake-up takes everything queued and writes it with vectored writes
//! (header and payload of each frame as separate slices, up to the kernel's
//! `IOV_MAX` per call): many small messages cost one system call, which is the
//! "corking" that makes uWebSockets fast, without copying payloads.

use std::io::IoSlice;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use super::outbox::{Batch, OutFrame, Outbox};

/// Slices per `writev` call; Linux's `IOV_MAX` is 1024.
const MAX_SLICES: usize = 1024;

/// A batch larger than this many frames is not kept for reuse, so one burst
/// does not pin memory for the rest of an idle connection's life.
const KEEP_BATCH_CAPACITY: usize = 256;

/// Writes frames from `outbox` until a close frame was written (then shuts
/// the write side), the outbox is terminated, or the socket fails.
pub(crate) async fn run_writer(outbox: Arc<Outbox>, mut io: OwnedWriteHalf) {
    let mut batch: Vec<OutFrame> = Vec::new();
    loop {
        let next = outbox.next_batch(&mut batch).await;
        let ends_with_close = match next {
            Batch::Terminate => return,
            Batch::Frames { ends_with_close } => ends_with_close,
        };
        let bytes: usize = batch.iter().map(OutFrame::wire_len).sum();
        if let Err(error) = write_frames(&mut io, &batch).await {
            tracing::debug!(target: "crosswire::ws", %error, "write failed");
            outbox.writer_failed();
            return;
        }
        outbox.written(bytes);
        if batch.capacity() > KEEP_BATCH_CAPACITY {
            batch = Vec::new();
        } else {
            batch.clear();
        }
        if ends_with_close {
            // The closing handshake: after our close frame, the server is the
            // side that ends the TCP connection (RFC 6455 §7.1.1).
            let _ = io.shutdown().await;
            return;
        }
    }
}

/// Writes every frame of `frames`, in order, with as few system calls as the
/// socket allows.
async fn write_frames(io: &mut OwnedWriteHalf, frames: &[OutFrame]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity((frames.len() * 2).min(MAX_SLICES));
    let mut rest = frames;
    while !rest.is_empty() {
        slices.clear();
        let mut taken = 0;
        for frame in rest {
            if slices.len() + 2 > MAX_SLICES {
                break;
            }
            slices.push(IoSlice::new(frame.header()));
            if !frame.payload().is_empty() {
                slices.push(IoSlice::new(frame.payload()));
            }
            taken += 1;
        }
        rest = &rest[taken..];
        let mut pending: &mut [IoSlice<'_>] = &mut slices;
        while !pending.is_empty() {
            let written = io.write_vectored(pending).await?;
            if written == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut pending, written);
        }
    }
    Ok(())
}
