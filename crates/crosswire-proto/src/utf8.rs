//! Incremental UTF-8 validation.
//!
//! Text messages reach the server in arbitrary pieces, yet RFC 6455 (section
//! 8.1) asks that invalid UTF-8 fail the connection as soon as it is seen, not
//! once the whole message has been buffered. This validator checks each piece
//! as it arrives, carrying at most the three bytes of a character that is cut
//! between two pieces.

use crate::error::ProtocolError;
use simdutf8::compat::from_utf8;

/// Longest UTF-8 encoding of a single character.
const MAX_CHAR_LEN: usize = 4;

/// Validates a UTF-8 stream fed in chunks, failing on the chunk that holds the first bad byte.
///
/// ```
/// use crosswire_proto::Utf8Validator;
///
/// let mut utf8 = Utf8Validator::new();
/// // "κ" is 0xCE 0xBA; splitting it between chunks is fine.
/// assert!(utf8.feed(b"\xce").is_ok());
/// assert!(utf8.feed(b"\xba").is_ok());
/// assert!(utf8.finish().is_ok());
///
/// // A UTF-16 surrogate (U+D800) is rejected as soon as its second byte arrives.
/// assert!(utf8.feed(b"\xed").is_ok());
/// assert!(utf8.feed(b"\xa0").is_err());
/// ```
#[derive(Debug, Default)]
pub struct Utf8Validator {
    /// Start of a character cut off at the end of the previous chunk.
    pending: [u8; MAX_CHAR_LEN],
    /// Number of meaningful bytes in `pending`; always below `MAX_CHAR_LEN`.
    pending_len: usize,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ok if `chunk` keeps the stream valid so far (it may end inside a sequence).
    ///
    /// # Errors
    ///
    /// [`ProtocolError::InvalidUtf8`] if `chunk` holds a byte that no valid
    /// stream could continue with.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        let rest = self.complete_pending(chunk)?;
        match from_utf8(rest) {
            Ok(_) => Ok(()),
            // `error_len` is `None` only when the input ends inside a character
            // that is valid so far; that prefix is kept for the next chunk.
            Err(e) if e.error_len().is_none() => {
                let tail = &rest[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.pending_len = tail.len();
                Ok(())
            }
            Err(_) => Err(ProtocolError::InvalidUtf8),
        }
    }

    /// Ok if the stream ended on a character boundary; resets the validator.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::InvalidUtf8`] if the stream ended inside a character.
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        let cut_short = self.pending_len != 0;
        *self = Self::default();
        if cut_short {
            Err(ProtocolError::InvalidUtf8)
        } else {
            Ok(())
        }
    }

    /// Finishes the character left over from the previous chunk using the first
    /// bytes of `chunk`, and returns the part of `chunk` after it.
    fn complete_pending<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], ProtocolError> {
        if self.pending_len == 0 {
            return Ok(chunk);
        }
        let have = self.pending_len;
        let width = sequence_len(self.pending[0]);
        let take = (width - have).min(chunk.len());
        let mut joined = self.pending;
        joined[have..have + take].copy_from_slice(&chunk[..take]);
        let joined = &joined[..have + take];

        match from_utf8(joined) {
            Ok(_) => {
                self.pending_len = 0;
                Ok(&chunk[take..])
            }
            // Still inside the character: the chunk was too short to finish it.
            Err(e) if e.error_len().is_none() => {
                self.pending[have..have + take].copy_from_slice(&chunk[..take]);
                self.pending_len = have + take;
                Ok(&chunk[take..])
            }
            Err(_) => Err(ProtocolError::InvalidUtf8),
        }
    }
}

/// Length of the character introduced by `lead`, which already passed validation as a prefix.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::Utf8Validator;
    use crate::error::ProtocolError;
    use proptest::prelude::*;

    /// "κόσμε" followed by U+D800, a surrogate that UTF-8 may not encode.
    const KOSME_THEN_SURROGATE: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80";

    /// Index of the first byte after which the input can no longer be valid UTF-8.
    fn first_bad_byte(bytes: &[u8]) -> Option<usize> {
        (0..bytes.len())
            .find(|&k| std::str::from_utf8(&bytes[..=k]).is_err_and(|e| e.error_len().is_some()))
    }

    /// Valid characters with the occasional arbitrary byte mixed in.
    fn mostly_utf8() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    fn validate_whole(bytes: &[u8]) -> Result<(), ProtocolError> {
        let mut utf8 = Utf8Validator::new();
        utf8.feed(bytes)?;
        utf8.finish()
    }

    #[test]
    fn multibyte_chars_split_across_chunks_are_valid() {
        let text = "κόσμε € 𝄞".as_bytes();
        for at in 0..=text.len() {
            let mut utf8 = Utf8Validator::new();
            assert_eq!(utf8.feed(&text[..at]), Ok(()), "split at {at}");
            assert_eq!(utf8.feed(&text[at..]), Ok(()), "split at {at}");
            assert_eq!(utf8.finish(), Ok(()), "split at {at}");
        }
    }

    #[test]
    fn byte_by_byte_feeding_is_valid() {
        let mut utf8 = Utf8Validator::new();
        for byte in "a𝄞κ€".as_bytes() {
            assert_eq!(utf8.feed(std::slice::from_ref(byte)), Ok(()));
        }
        assert_eq!(utf8.finish(), Ok(()));
    }

    #[test]
    fn invalid_byte_fails_on_the_chunk_that_holds_it() {
        let (valid, invalid) = KOSME_THEN_SURROGATE.split_at(11);
        let mut utf8 = Utf8Validator::new();
        assert_eq!(utf8.feed(valid), Ok(()));
        assert_eq!(utf8.feed(invalid), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn invalid_byte_fails_when_the_lead_byte_came_earlier() {
        // The chunk ends on 0xED, which could still start a valid character;
        // the next chunk's 0xA0 is what makes it a surrogate.
        let (valid, invalid) = KOSME_THEN_SURROGATE.split_at(12);
        let mut utf8 = Utf8Validator::new();
        assert_eq!(utf8.feed(valid), Ok(()));
        assert_eq!(utf8.feed(&invalid[..1]), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn invalid_byte_fails_before_the_rest_arrives() {
        let mut utf8 = Utf8Validator::new();
        assert_eq!(
            utf8.feed(&KOSME_THEN_SURROGATE[..13]),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    #[test]
    fn stream_ending_mid_character_fails_at_finish() {
        let mut utf8 = Utf8Validator::new();
        assert_eq!(utf8.feed(b"ok \xe2\x82"), Ok(()));
        assert_eq!(utf8.finish(), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn finish_resets_the_validator() {
        let mut utf8 = Utf8Validator::new();
        assert_eq!(utf8.feed(b"\xe2"), Ok(()));
        assert!(utf8.finish().is_err());
        assert_eq!(utf8.feed(b"fresh"), Ok(()));
        assert_eq!(utf8.finish(), Ok(()));
    }

    #[test]
    fn surrogates_are_invalid() {
        assert!(validate_whole(b"\xed\xa0\x80").is_err());
        assert!(validate_whole(b"\xed\xbf\xbf").is_err());
    }

    #[test]
    fn overlong_encodings_are_invalid() {
        assert!(validate_whole(b"\xc0\xaf").is_err());
        assert!(validate_whole(b"\xe0\x80\xaf").is_err());
        assert!(validate_whole(b"\xf0\x80\x80\xaf").is_err());
    }

    #[test]
    fn code_points_above_u10ffff_are_invalid() {
        assert!(validate_whole(b"\xf4\x90\x80\x80").is_err());
        assert!(validate_whole(b"\xf5\x80\x80\x80").is_err());
    }

    #[test]
    fn stray_continuation_and_ff_bytes_are_invalid() {
        assert!(validate_whole(b"\x80").is_err());
        assert!(validate_whole(b"a\xff").is_err());
    }

    proptest! {
        #[test]
        fn fails_exactly_on_the_chunk_holding_the_first_bad_byte(
            bytes in mostly_utf8(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut ends: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            ends.push(bytes.len());
            ends.sort_unstable();

            let mut utf8 = Utf8Validator::new();
            let mut start = 0;
            let mut failed_chunk_end = None;
            for end in ends {
                if utf8.feed(&bytes[start..end]).is_err() {
                    failed_chunk_end = Some(end);
                    break;
                }
                start = end;
            }
            match first_bad_byte(&bytes) {
                Some(bad) => {
                    let end = failed_chunk_end.map(|end| (start, end));
                    prop_assert!(matches!(end, Some((s, e)) if s <= bad && bad < e));
                }
                None => {
                    prop_assert_eq!(failed_chunk_end, None);
                    let complete = std::str::from_utf8(&bytes).is_ok();
                    prop_assert_eq!(utf8.finish().is_ok(), complete);
                }
            }
        }

        #[test]
        fn valid_strings_pass_in_any_chunking(
            text in "\\PC{0,24}",
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = text.as_bytes();
            let at = cut.index(bytes.len() + 1);
            let mut utf8 = Utf8Validator::new();
            prop_assert_eq!(utf8.feed(&bytes[..at]), Ok(()));
            prop_assert_eq!(utf8.feed(&bytes[at..]), Ok(()));
            prop_assert_eq!(utf8.finish(), Ok(()));
        }
    }
}
