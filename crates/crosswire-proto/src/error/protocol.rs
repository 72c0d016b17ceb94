//! Violations of the framing rules by a client.

use crate::close::CloseCode;

/// A client broke RFC 6455; the connection must be closed with [`close_code`](Self::close_code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A client frame arrived without the mask bit (section 5.1).
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// RSV1, RSV2 or RSV3 was set although no extension gives them a meaning
    /// (RSV1 on a control or continuation frame, even with permessage-deflate).
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// The opcode is one of the reserved values (3-7, 0xB-0xF).
    #[error("unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    /// A close, ping or pong frame had FIN clear.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A close, ping or pong frame declared more than 125 payload bytes.
    #[error("control frame longer than 125 bytes")]
    ControlFrameTooLong,
    /// A continuation frame arrived with no fragmented message in progress.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A text or binary frame arrived while a fragmented message was still open.
    #[error("new message started before the previous one finished")]
    ExpectedContinuation,
    /// A compressed message is not valid deflate data.
    #[error("compressed message is not valid deflate data")]
    InvalidCompressedData,
    /// A text message is not valid UTF-8, or ends inside a character.
    #[error("text message is not valid utf-8")]
    InvalidUtf8,
    /// A close frame carried a code that may not be sent on the wire.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A close frame carried a one-byte payload, too short for a code.
    #[error("close payload of a single byte")]
    InvalidClosePayload,
    /// The reason of a close frame is not valid UTF-8.
    #[error("close reason is not valid utf-8")]
    InvalidCloseReason,
    /// A 64-bit payload length had its most significant bit set.
    #[error("payload length has its most significant bit set")]
    InvalidLength,
    /// A frame declared a payload larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The payload length declared by the frame header.
        size: u64,
        /// The configured `max_frame_size`.
        limit: usize,
    },
    /// The frames of one message add up to more than the configured limit.
    #[error("message exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The configured `max_message_size`.
        limit: usize,
    },
    /// One message came in more frames than the configured limit.
    #[error("message split into more than {limit} frames")]
    TooManyFragments {
        /// The configured `max_fragments`.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code to send before dropping the connection: 1002, 1007 or 1009.
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::TOO_BIG,
            // Includes a malformed close reason: section 7.1.6 leaves the choice
            // open, and Autobahn expects a protocol error there.
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolError;

    #[test]
    fn invalid_utf8_and_bad_deflate_data_close_with_1007() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
        assert_eq!(ProtocolError::InvalidCompressedData.close_code(), 1007);
    }

    #[test]
    fn size_limits_close_with_1009() {
        let frame = ProtocolError::FrameTooLarge { size: 10, limit: 5 };
        assert_eq!(frame.close_code(), 1009);
        assert_eq!(
            ProtocolError::MessageTooLarge { limit: 5 }.close_code(),
            1009
        );
    }

    #[test]
    fn framing_violations_close_with_1002() {
        for error in [
            ProtocolError::UnmaskedFrame,
            ProtocolError::ReservedBits,
            ProtocolError::UnknownOpcode(3),
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooLong,
            ProtocolError::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation,
            ProtocolError::InvalidCloseCode(1005),
            ProtocolError::InvalidClosePayload,
            ProtocolError::InvalidCloseReason,
            ProtocolError::InvalidLength,
        ] {
            assert_eq!(error.close_code(), 1002, "{error}");
        }
    }

    #[test]
    fn messages_are_lower_case() {
        let text = ProtocolError::UnknownOpcode(0xB).to_string();
        assert_eq!(text, "unknown opcode 0xb");
    }
}
