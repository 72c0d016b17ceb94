//! Bounded decompression of client messages.
//!
//! Deflate reaches ratios past 1000:1 on repetitive input, so the size a
//! client declares says nothing about the size of the message it sends. The
//! inflater therefore grows its output only up to a cap (the message limit)
//! and fails as soon as the data would go past it: memory follows the
//! limit, never the ratio.

use flate2::{Decompress, FlushDecompress, Status};

use super::{MIN_ENGINE_WINDOW_BITS, TAIL};

/// First output allocation of a message; doubled as needed, up to the cap.
const FIRST_CHUNK: usize = 4 * 1024;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the cap.
    #[error("inflated message exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The cap the message went past.
        limit: usize,
    },
    /// The bytes are not a valid deflate stream (or use a larger window than granted).
    #[error("invalid compressed data")]
    Corrupt,
}

/// Inflates the messages of one connection (RFC 7692, section 7.2.2).
///
/// Feed a message's payload in any number of pieces with
/// [`inflate`](Self::inflate), then call [`finish`](Self::finish) once.
///
/// ```
/// use crosswire_proto::deflate::{Deflater, Inflater};
///
/// let mut deflater = Deflater::new(15, false);
/// let compressed = deflater.compress(&[b'a'; 1000]);
///
/// let mut inflater = Inflater::new(15, false);
/// let mut out = Vec::new();
/// inflater.inflate(&compressed, &mut out, 1000)?;
/// inflater.finish(&mut out, 1000)?;
/// assert_eq!(out, [b'a'; 1000]);
///
/// // The same message against a 999-byte cap fails without writing past it.
/// let mut out = Vec::new();
/// let mut inflater = Inflater::new(15, false);
/// assert!(inflater.inflate(&compressed, &mut out, 999).and_then(|()| inflater.finish(&mut out, 999)).is_err());
/// assert!(out.capacity() <= 1000);
/// # Ok::<(), crosswire_proto::deflate::InflateError>(())
/// ```
#[derive(Debug)]
pub struct Inflater {
    inner: Decompress,
    /// Reset after every message: the client compresses each one on its own.
    no_context_takeover: bool,
    /// The current message ended its deflate stream with a final block
    /// (BFINAL); what follows in the message, tail included, is ignored.
    stream_ended: bool,
}

impl Inflater {
    /// An inflater for a window of `window_bits` (8 to 15; 8 is read with a
    /// window of 9, which accepts everything a window of 8 produces).
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.clamp(MIN_ENGINE_WINDOW_BITS, super::MAX_WINDOW_BITS);
        Self {
            inner: Decompress::new_with_window_bits(false, bits),
            no_context_takeover,
            stream_ended: false,
        }
    }

    /// Inflates a piece of a message's payload, appending to `out`.
    ///
    /// `out` never grows past `limit + 1` bytes of capacity (counting what it
    /// held before), however much the input would inflate to.
    ///
    /// # Errors
    ///
    /// [`InflateError::TooLarge`] when the message would exceed `limit`
    /// bytes, [`InflateError::Corrupt`] when the input is not deflate data.
    /// The inflater is unusable for this connection after either.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        self.run(input, out, limit, FlushDecompress::None)
    }

    /// Ends a message: inflates the four bytes RFC 7692 strips from its end,
    /// then forgets the window if the client does not keep one.
    ///
    /// # Errors
    ///
    /// As for [`inflate`](Self::inflate).
    pub fn finish(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), InflateError> {
        if std::mem::take(&mut self.stream_ended) {
            // Already reset when the final block ended the stream.
            return Ok(());
        }
        self.run(&TAIL, out, limit, FlushDecompress::Sync)?;
        if self.no_context_takeover {
            self.inner.reset(false);
        }
        Ok(())
    }

    fn run(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
        flush: FlushDecompress,
    ) -> Result<(), InflateError> {
        let too_large = InflateError::TooLarge { limit };
        if self.stream_ended {
            return Ok(());
        }
        loop {
            if out.len() > limit {
                return Err(too_large);
            }
            if out.len() == out.capacity() {
                // One byte past the limit is room enough to learn that the
                // data goes on; the allocation stays within `limit + 1`.
                let room = (limit - out.len()).saturating_add(1);
                let grow = out.len().max(FIRST_CHUNK).min(room);
                out.reserve_exact(grow);
            }
            let in_before = self.inner.total_in();
            let out_before = out.len();
            // zlib may write output and then meet a bad code in the same
            // call; output past the limit came first in the stream, so it
            // decides the error, as it would have with the input split
            // before the bad code.
            let status = self.inner.decompress_vec(input, out, flush).map_err(|_| {
                if out.len() > limit {
                    too_large
                } else {
                    InflateError::Corrupt
                }
            })?;
            let consumed = usize::try_from(self.inner.total_in() - in_before)
                .map_err(|_| InflateError::Corrupt)?;
            input = input.get(consumed..).ok_or(InflateError::Corrupt)?;
            if out.len() > limit {
                return Err(too_large);
            }
            match status {
                // A final block ends the stream; whatever follows is not
                // part of it. Start afresh for the next message (a client
                // that ends a message this way gives up its window).
                Status::StreamEnd => {
                    self.inner.reset(false);
                    self.stream_ended = true;
                    return Ok(());
                }
                Status::Ok | Status::BufError => {
                    // With output room left, everything the input allows has
                    // been produced: the input is used up, or stuck.
                    let stalled = consumed == 0 && out.len() == out_before;
                    if out.len() < out.capacity() && (input.is_empty() || stalled) {
                        return if input.is_empty() {
                            Ok(())
                        } else {
                            Err(InflateError::Corrupt)
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{InflateError, Inflater};
    use crate::deflate::Deflater;

    #[test]
    fn a_deflate_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 10 << 20];
        let compressed = Deflater::new(15, false).compress(&zeros);
        assert!(compressed.len() < 20 << 10, "{}", compressed.len());
        let limit = 1 << 20;
        let mut out = Vec::new();
        let mut inflater = Inflater::new(15, false);
        let result = inflater
            .inflate(&compressed, &mut out, limit)
            .and_then(|()| inflater.finish(&mut out, limit));
        assert_eq!(result, Err(InflateError::TooLarge { limit }));
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
    }

    #[test]
    fn garbage_is_corrupt() {
        let mut out = Vec::new();
        let mut inflater = Inflater::new(15, false);
        let result = inflater
            .inflate(&[0xff; 16], &mut out, 1 << 20)
            .and_then(|()| inflater.finish(&mut out, 1 << 20));
        assert_eq!(result, Err(InflateError::Corrupt));
    }

    #[test]
    fn an_empty_message_inflates_to_nothing() {
        let mut out = Vec::new();
        let mut inflater = Inflater::new(15, true);
        inflater.inflate(&[0x00], &mut out, 10).expect("valid");
        inflater.finish(&mut out, 10).expect("valid");
        assert!(out.is_empty());
        // No payload at all is read as an empty message too.
        inflater.finish(&mut out, 10).expect("valid");
        assert!(out.is_empty());
    }

    #[test]
    fn a_message_ending_with_a_final_block_inflates_and_the_next_one_too() {
        let mut compress =
            flate2::Compress::new_with_window_bits(flate2::Compression::default(), false, 15);
        let mut block = Vec::with_capacity(64);
        compress
            .compress_vec(b"abcabc", &mut block, flate2::FlushCompress::Finish)
            .expect("compresses");
        let mut inflater = Inflater::new(15, false);
        for _ in 0..2 {
            let mut out = Vec::new();
            inflater.inflate(&block, &mut out, 100).expect("valid");
            inflater.finish(&mut out, 100).expect("valid");
            assert_eq!(out, b"abcabc");
        }
    }

    #[test]
    fn an_exact_fit_is_accepted() {
        let data = vec![7u8; 5000];
        let compressed = Deflater::new(15, false).compress(&data);
        let mut out = Vec::new();
        let mut inflater = Inflater::new(15, false);
        inflater.inflate(&compressed, &mut out, 5000).expect("fits");
        inflater.finish(&mut out, 5000).expect("fits");
        assert_eq!(out, data);
    }
}
