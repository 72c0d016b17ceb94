//! Compression of server messages (RFC 7692, section 7.2.1).

use flate2::{Compress, Compression, FlushCompress};

use super::{MAX_WINDOW_BITS, MIN_ENGINE_WINDOW_BITS, TAIL};

/// zlib's level 6, its own default: within a few percent of the best ratio
/// on JSON at a fraction of the cost of level 9. With `shared` compression a
/// publish is compressed once for all its subscribers, so the level is paid
/// per message, not per recipient.
const LEVEL: u32 = 6;

/// Compresses the messages of one connection, or of many when it keeps no
/// context between messages.
///
/// ```
/// use crosswire_proto::deflate::Deflater;
///
/// let mut deflater = Deflater::new(15, true);
/// // RFC 7692's example: "Hello" compressed on its own.
/// assert_eq!(deflater.compress(b"Hello"), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
/// ```
#[derive(Debug)]
pub struct Deflater {
    inner: Compress,
    /// Reset after every message, so each one decompresses on its own.
    no_context_takeover: bool,
}

impl Deflater {
    /// A compressor with a window of `window_bits` (raised to 9, the least
    /// zlib produces; see [`Agreement::fits_window`](super::Agreement::fits_window)).
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.clamp(MIN_ENGINE_WINDOW_BITS, MAX_WINDOW_BITS);
        Self {
            inner: Compress::new_with_window_bits(Compression::new(LEVEL), false, bits),
            no_context_takeover,
        }
    }

    /// Compresses one whole message; the result is the payload of a frame with RSV1 set.
    pub fn compress(&mut self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        let mut input = message;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            let before = self.inner.total_in();
            // Compressing into a Vec with spare room cannot fail: the only
            // errors zlib reports are misuse of the stream, which this type
            // rules out. Treat one as "nothing more to write".
            if self
                .inner
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let consumed = (self.inner.total_in() - before) as usize;
            input = &input[consumed.min(input.len())..];
            // A sync flush is complete once it returns with room to spare.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.inner.reset();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Deflater;
    use crate::deflate::Inflater;

    #[test]
    fn context_takeover_makes_a_repeat_smaller_and_still_inflates() {
        let message = b"{\"user\":\"someone\",\"message\":\"hello there, everyone\"}";
        let mut keep = Deflater::new(15, false);
        let first = keep.compress(message);
        let second = keep.compress(message);
        assert!(second.len() < first.len());
        let mut inflater = Inflater::new(15, false);
        for compressed in [first, second] {
            let mut out = Vec::new();
            inflater
                .inflate(&compressed, &mut out, 1 << 10)
                .expect("valid");
            inflater.finish(&mut out, 1 << 10).expect("valid");
            assert_eq!(out, message);
        }
    }

    #[test]
    fn without_takeover_every_message_compresses_the_same() {
        let mut fresh = Deflater::new(15, true);
        assert_eq!(fresh.compress(b"abcabcabc"), fresh.compress(b"abcabcabc"));
    }
}
