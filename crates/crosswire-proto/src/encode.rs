//! Server-to-client frame encoding.
//!
//! Servers never mask their frames (section 5.1), so a frame is a header of at
//! most 10 bytes followed by the payload as is. Keeping the header separate
//! lets a broadcast encode it once and write it next to one shared payload on
//! every connection.

use crate::close::{CloseFrame, is_valid_close_code};
use crate::frame::OpCode;
use bytes::{BufMut, Bytes, BytesMut};

/// Bit of the first byte marking the final frame of a message.
const FIN: u8 = 0x80;
/// First reserved bit, claimed by permessage-deflate for compressed messages.
const RSV1: u8 = 0x40;
/// Longest header of an unmasked frame: 2 fixed bytes and an 8-byte length.
const MAX_HEADER_LEN: usize = 10;

/// Header of one server frame (at most 10 bytes), built once so the same header + a shared
/// payload `Bytes` can be written to many sockets.
///
/// ```
/// use crosswire_proto::{FrameHeader, OpCode};
///
/// let header = FrameHeader::new(OpCode::Binary, 300);
/// assert_eq!(header.as_bytes(), &[0x82, 126, 0x01, 0x2c]);
///
/// let first_fragment = FrameHeader::new(OpCode::Text, 5).fin(false);
/// assert_eq!(first_fragment.as_bytes(), &[0x01, 5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl FrameHeader {
    /// Header for a final frame of `payload_len` bytes, with the RSV bits clear.
    pub fn new(opcode: OpCode, payload_len: usize) -> Self {
        let mut bytes = [0; MAX_HEADER_LEN];
        bytes[0] = FIN | opcode.as_u8();
        // Section 5.2: the shortest of the three length encodings.
        let len = match payload_len {
            0..=125 => {
                bytes[1] = payload_len as u8;
                2
            }
            126..=0xFFFF => {
                bytes[1] = 126;
                bytes[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
                4
            }
            _ => {
                bytes[1] = 127;
                bytes[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
                10
            }
        };
        FrameHeader { bytes, len }
    }

    /// Sets or clears FIN; clear it on every fragment of a message but the last.
    #[must_use]
    pub fn fin(self, fin: bool) -> Self {
        self.with_bit(FIN, fin)
    }

    /// Sets or clears RSV1, which permessage-deflate uses to flag a compressed message.
    #[must_use]
    pub fn rsv1(self, rsv1: bool) -> Self {
        self.with_bit(RSV1, rsv1)
    }

    /// The encoded header, 2, 4 or 10 bytes long.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn with_bit(mut self, bit: u8, on: bool) -> Self {
        if on {
            self.bytes[0] |= bit;
        } else {
            self.bytes[0] &= !bit;
        }
        self
    }
}

/// One complete unfragmented server frame (header + payload) in one contiguous `Bytes`.
///
/// ```
/// use crosswire_proto::{encode_frame, OpCode};
///
/// assert_eq!(&encode_frame(OpCode::Pong, b"hi")[..], b"\x8a\x02hi");
/// ```
pub fn encode_frame(opcode: OpCode, payload: &[u8]) -> Bytes {
    let header = FrameHeader::new(opcode, payload.len());
    let mut out = BytesMut::with_capacity(header.as_bytes().len() + payload.len());
    out.put_slice(header.as_bytes());
    out.put_slice(payload);
    out.freeze()
}

/// A close frame: code + UTF-8 reason; caller guarantees code valid and reason <= 123 bytes
/// (debug_assert), an empty payload when code is None.
///
/// ```
/// use crosswire_proto::{encode_close, CloseCode, CloseFrame};
///
/// let bye = CloseFrame::new(CloseCode::NORMAL, "bye");
/// assert_eq!(&encode_close(Some(&bye))[..], b"\x88\x05\x03\xe8bye");
/// assert_eq!(&encode_close(None)[..], b"\x88\x00");
/// ```
pub fn encode_close(close: Option<&CloseFrame>) -> Bytes {
    let Some(close) = close else {
        return encode_frame(OpCode::Close, &[]);
    };
    debug_assert!(
        is_valid_close_code(close.code),
        "close code {} may not be sent",
        close.code
    );
    debug_assert!(
        close.reason.len() <= CloseFrame::MAX_REASON_LEN,
        "close reason of {} bytes does not fit in a control frame",
        close.reason.len()
    );
    let payload_len = 2 + close.reason.len();
    let header = FrameHeader::new(OpCode::Close, payload_len);
    let mut out = BytesMut::with_capacity(header.as_bytes().len() + payload_len);
    out.put_slice(header.as_bytes());
    out.put_u16(close.code);
    out.put_slice(close.reason.as_bytes());
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::{FrameHeader, encode_close, encode_frame};
    use crate::close::CloseFrame;
    use crate::frame::OpCode;

    fn frame_of(len: usize) -> Vec<u8> {
        encode_frame(OpCode::Binary, &vec![0xAB; len]).to_vec()
    }

    #[test]
    fn empty_payload_uses_two_byte_header() {
        assert_eq!(frame_of(0), [0x82, 0x00]);
    }

    #[test]
    fn payload_of_125_uses_seven_bit_length() {
        let frame = frame_of(125);
        assert_eq!(frame[..2], [0x82, 125]);
        assert_eq!(frame.len(), 2 + 125);
        assert!(frame[2..].iter().all(|&b| b == 0xAB));
    }

    #[test]
    fn payload_of_126_uses_sixteen_bit_length() {
        let frame = frame_of(126);
        assert_eq!(frame[..4], [0x82, 126, 0x00, 0x7E]);
        assert_eq!(frame.len(), 4 + 126);
    }

    #[test]
    fn payload_of_65535_uses_sixteen_bit_length() {
        let frame = frame_of(65535);
        assert_eq!(frame[..4], [0x82, 126, 0xFF, 0xFF]);
        assert_eq!(frame.len(), 4 + 65535);
    }

    #[test]
    fn payload_of_65536_uses_sixty_four_bit_length() {
        let frame = frame_of(65536);
        assert_eq!(
            frame[..10],
            [0x82, 127, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
        );
        assert_eq!(frame.len(), 10 + 65536);
    }

    #[test]
    fn header_flags_toggle_fin_and_rsv1() {
        let header = FrameHeader::new(OpCode::Text, 3);
        assert_eq!(header.as_bytes(), [0x81, 3]);
        assert_eq!(header.fin(false).as_bytes(), [0x01, 3]);
        assert_eq!(header.rsv1(true).as_bytes(), [0xC1, 3]);
        assert_eq!(header.rsv1(true).rsv1(false), header);
        assert_eq!(
            FrameHeader::new(OpCode::Continuation, 0)
                .fin(false)
                .as_bytes(),
            [0x00, 0]
        );
    }

    #[test]
    fn server_frames_are_never_masked() {
        for len in [0, 125, 126, 65536] {
            assert_eq!(FrameHeader::new(OpCode::Text, len).as_bytes()[1] & 0x80, 0);
        }
    }

    #[test]
    fn close_with_code_and_reason() {
        let close = CloseFrame::new(1001, "shutting down");
        let frame = encode_close(Some(&close));
        assert_eq!(frame[..4], [0x88, 15, 0x03, 0xE9]);
        assert_eq!(&frame[4..], b"shutting down");
    }

    #[test]
    fn close_without_code_has_empty_payload() {
        assert_eq!(&encode_close(None)[..], [0x88, 0x00]);
    }
}
