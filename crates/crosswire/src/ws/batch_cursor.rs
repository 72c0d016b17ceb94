//! How far the writer has got through a batch, as two numbers.
//!
//! A write that the socket takes only in part waits for room, and what
//! waits is stored in the connection's task for every connection, idle or
//! not (the future is sized by its largest state). A list of slices kept
//! across that wait cost each connection's future its size and each write an
//! allocation. The writer keeps this cursor instead, and builds the slices
//! of each attempt on the stack from the batch and the cursor.

use std::collections::VecDeque;
use std::io::IoSlice;

use super::outbox::Chunk;

/// Slices one attempt is given. Linux takes up to 1024; a batch with more
/// parts takes more than one system call, and a run of small frames is one
/// part however many frames it holds.
pub(crate) const SLICES_PER_WRITE: usize = 64;

/// A position in a batch's wire bytes: the chunk, and how many of its
/// bytes are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BatchCursor {
    chunk: usize,
    within: usize,
}

impl BatchCursor {
    /// The start of `chunks`, past any empty chunks.
    pub(crate) fn start(chunks: &VecDeque<Chunk>) -> Self {
        let mut cursor = Self::default();
        cursor.skip_written(chunks);
        cursor
    }

    /// True once every byte of `chunks` is written.
    pub(crate) fn is_done(&self, chunks: &VecDeque<Chunk>) -> bool {
        self.chunk >= chunks.len()
    }

    /// Fills `slices` with the unwritten bytes from here, in order, as many
    /// parts as fit; returns how many it filled.
    pub(crate) fn fill<'a>(
        &self,
        chunks: &'a VecDeque<Chunk>,
        slices: &mut [IoSlice<'a>],
    ) -> usize {
        let mut filled = 0;
        let mut skip = self.within;
        for chunk in chunks.range(self.chunk.min(chunks.len())..) {
            for part in chunk.parts() {
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                let Some(slot) = slices.get_mut(filled) else {
                    return filled;
                };
                *slot = IoSlice::new(part.get(skip..).unwrap_or_default());
                skip = 0;
                filled += 1;
            }
        }
        filled
    }

    /// Moves past `written` bytes.
    pub(crate) fn advance(&mut self, chunks: &VecDeque<Chunk>, mut written: usize) {
        while written > 0 {
            let Some(chunk) = chunks.get(self.chunk) else {
                return;
            };
            // `within` stays below the chunk's length: it grows only by
            // less than what is left, and a chunk written to its end is
            // passed over.
            let left = chunk.wire_len().saturating_sub(self.within);
            if written < left {
                self.within += written;
                return;
            }
            written -= left;
            self.chunk += 1;
            self.within = 0;
        }
        self.skip_written(chunks);
    }

    /// Moves past chunks with nothing left to write.
    fn skip_written(&mut self, chunks: &VecDeque<Chunk>) {
        while chunks
            .get(self.chunk)
            .is_some_and(|chunk| chunk.wire_len() == self.within)
        {
            self.chunk += 1;
            self.within = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::ws::Payload;
    use crate::ws::out_frame::OutFrame;

    fn batch() -> VecDeque<Chunk> {
        let shared = OutFrame::from_payload(Payload::binary(vec![7u8; 3000]));
        VecDeque::from([
            Chunk::Inline(b"abc".to_vec()),
            Chunk::Inline(Vec::new()),
            Chunk::Shared(shared.plain().clone()),
            Chunk::Framed(Bytes::from_static(b"defgh"), 0),
        ])
    }

    fn wire(chunks: &VecDeque<Chunk>) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks {
            chunk.append_to(&mut out);
        }
        out
    }

    /// Writes `chunks` through the cursor, `step` bytes (or fewer) at a
    /// time, at most `room` slices per attempt.
    fn written_in_steps(chunks: &VecDeque<Chunk>, step: usize, room: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cursor = BatchCursor::start(chunks);
        let mut slices = vec![IoSlice::new(&[]); room];
        while !cursor.is_done(chunks) {
            let filled = cursor.fill(chunks, &mut slices);
            assert!(filled > 0, "nothing to write before the end");
            let mut taken = 0;
            for slice in &slices[..filled] {
                let take = slice.len().min(step - taken);
                out.extend_from_slice(&slice[..take]);
                taken += take;
                if taken == step {
                    break;
                }
            }
            cursor.advance(chunks, taken);
        }
        out
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let chunks = batch();
        let whole = wire(&chunks);
        for step in [1, 2, 3, 4, 5, 7, 100, 2999, 3004, 3007, whole.len()] {
            for room in [1, 2, 3, SLICES_PER_WRITE] {
                assert_eq!(
                    written_in_steps(&chunks, step, room),
                    whole,
                    "step {step}, room {room}"
                );
            }
        }
    }

    #[test]
    fn an_empty_batch_is_done_at_once() {
        let chunks = VecDeque::from([Chunk::Inline(Vec::new())]);
        assert!(BatchCursor::start(&chunks).is_done(&chunks));
        assert!(BatchCursor::start(&VecDeque::new()).is_done(&VecDeque::new()));
    }
}
