//! Parsing and context-free checks of a client frame header.
//!
//! The header is split in two steps: the first two bytes already tell whether
//! the frame breaks most rules, so they are checked as soon as they arrive,
//! while the rest (extended length and mask key) is parsed once all of it is
//! buffered. Rules that depend on earlier frames live in the decoder.

use crate::error::ProtocolError;
use crate::frame::OpCode;

/// Final-fragment bit of the first byte.
const FIN: u8 = 0x80;
/// RSV1, RSV2 and RSV3.
pub(super) const RSV_MASK: u8 = 0x70;
/// Opcode bits of the first byte.
const OPCODE_MASK: u8 = 0x0F;
/// Mask bit of the second byte.
const MASKED: u8 = 0x80;
/// Seven-bit length bits of the second byte.
const LEN_MASK: u8 = 0x7F;
/// Largest payload a control frame may carry (section 5.5).
const MAX_CONTROL_PAYLOAD: u8 = 125;
/// Bytes of the masking key that every client frame carries.
const MASK_KEY_LEN: usize = 4;

/// What the first two bytes of a header say, once they passed the checks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Prefix {
    pub(super) fin: bool,
    /// The RSV bits, still in place (`0x70` when all three are set).
    pub(super) rsv: u8,
    pub(super) opcode: OpCode,
    /// The seven-bit length field; 126 and 127 announce an extended length.
    len7: u8,
}

impl Prefix {
    /// Checks the rules that the first two bytes alone decide.
    pub(super) fn parse(b0: u8, b1: u8) -> Result<Prefix, ProtocolError> {
        let raw_opcode = b0 & OPCODE_MASK;
        let opcode = OpCode::from_u8(raw_opcode).ok_or(ProtocolError::UnknownOpcode(raw_opcode))?;
        let prefix = Prefix {
            fin: b0 & FIN != 0,
            rsv: b0 & RSV_MASK,
            opcode,
            len7: b1 & LEN_MASK,
        };
        if b1 & MASKED == 0 {
            return Err(ProtocolError::UnmaskedFrame);
        }
        if opcode.is_control() {
            if !prefix.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            // An extended length (126 or 127) is rejected too, even if it
            // happens to encode a small value: only the minimal encoding is
            // allowed, and it never exceeds 125 for a control frame.
            if prefix.len7 > MAX_CONTROL_PAYLOAD {
                return Err(ProtocolError::ControlFrameTooLong);
            }
        }
        Ok(prefix)
    }

    /// Total header length: the two fixed bytes, the extended length and the mask key.
    pub(super) fn header_len(&self) -> usize {
        2 + self.extended_len_bytes() + MASK_KEY_LEN
    }

    /// Reads the extended length and mask key; `None` until the whole header is in `buf`.
    ///
    /// `buf` starts with the two bytes this prefix was parsed from.
    pub(super) fn complete(self, buf: &[u8]) -> Result<Option<Head>, ProtocolError> {
        let Some(header) = buf.get(..self.header_len()) else {
            return Ok(None);
        };
        let Some((fixed_and_len, mask)) = header.split_last_chunk::<MASK_KEY_LEN>() else {
            return Ok(None);
        };
        let len = match self.len7 {
            // Big-endian 16- or 64-bit length after the two fixed bytes.
            126 | 127 => fixed_and_len
                .iter()
                .skip(2)
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
            short => u64::from(short),
        };
        // Section 5.2: the most significant bit of a 64-bit length must be 0.
        if len >> 63 != 0 {
            return Err(ProtocolError::InvalidLength);
        }
        Ok(Some(Head {
            prefix: self,
            mask: *mask,
            len,
        }))
    }

    fn extended_len_bytes(&self) -> usize {
        match self.len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        }
    }
}

/// A fully parsed frame header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    pub(super) prefix: Prefix,
    pub(super) mask: [u8; 4],
    /// Declared payload length, below 2^63.
    pub(super) len: u64,
}

#[cfg(test)]
mod tests {
    use super::Prefix;
    use crate::error::ProtocolError;
    use crate::frame::OpCode;

    #[test]
    fn masked_text_prefix_parses() {
        let prefix = Prefix::parse(0x81, 0x85).expect("valid prefix");
        assert!(prefix.fin);
        assert_eq!(prefix.opcode, OpCode::Text);
        assert_eq!(prefix.rsv, 0);
        assert_eq!(prefix.header_len(), 6);
    }

    #[test]
    fn extended_lengths_grow_the_header() {
        let short = Prefix::parse(0x82, 0x80 | 126).expect("valid prefix");
        assert_eq!(short.header_len(), 8);
        let long = Prefix::parse(0x82, 0x80 | 127).expect("valid prefix");
        assert_eq!(long.header_len(), 14);
    }

    #[test]
    fn sixteen_bit_length_is_read_big_endian() {
        let prefix = Prefix::parse(0x82, 0x80 | 126).expect("valid prefix");
        let head = prefix
            .complete(&[0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4])
            .expect("valid header")
            .expect("complete header");
        assert_eq!(head.len, 256);
        assert_eq!(head.mask, [1, 2, 3, 4]);
    }

    #[test]
    fn non_minimal_length_is_accepted() {
        let prefix = Prefix::parse(0x82, 0x80 | 127).expect("valid prefix");
        let head = prefix
            .complete(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 9, 9, 9, 9])
            .expect("valid header")
            .expect("complete header");
        assert_eq!(head.len, 5);
    }

    #[test]
    fn length_with_most_significant_bit_is_rejected() {
        let prefix = Prefix::parse(0x82, 0x80 | 127).expect("valid prefix");
        let result = prefix.complete(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(result.err(), Some(ProtocolError::InvalidLength));
    }

    #[test]
    fn incomplete_header_waits_for_more_bytes() {
        let prefix = Prefix::parse(0x82, 0x80 | 126).expect("valid prefix");
        let result = prefix.complete(&[0x82, 0xFE, 0x01, 0x00, 1, 2, 3]);
        assert!(matches!(result, Ok(None)));
    }

    #[test]
    fn control_frame_with_extended_length_is_rejected() {
        let result = Prefix::parse(0x89, 0x80 | 126);
        assert_eq!(result.err(), Some(ProtocolError::ControlFrameTooLong));
    }
}
