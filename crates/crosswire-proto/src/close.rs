//! Close codes and close frame payloads.
//!
//! A close frame is the only control frame whose payload has structure (a
//! status code and a UTF-8 reason), and only some codes may appear on the
//! wire. Both the decoder and the encoder rely on the rules kept here.

use crate::error::ProtocolError;

/// Namespace for the registered close status codes (section 7.4), as `u16`.
///
/// ```
/// use crosswire_proto::CloseCode;
///
/// assert_eq!(CloseCode::NORMAL, 1000);
/// assert!(CloseCode::is_valid(CloseCode::GOING_AWAY));
/// assert!(!CloseCode::is_valid(CloseCode::NO_STATUS));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CloseCode;

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: u16 = 1000;
    /// 1001: the endpoint is going away, e.g. the server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// 1003: the endpoint cannot accept this type of data.
    pub const UNSUPPORTED: u16 = 1003;
    /// 1005: no status code was present; never sent on the wire.
    pub const NO_STATUS: u16 = 1005;
    /// 1006: the connection dropped without a close frame; never sent on the wire.
    pub const ABNORMAL: u16 = 1006;
    /// 1007: a message's data did not match its type, e.g. invalid UTF-8 in text.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY: u16 = 1008;
    /// 1009: a message was too big to process.
    pub const TOO_BIG: u16 = 1009;
    /// 1010: the client expected an extension the server did not negotiate.
    pub const EXTENSION: u16 = 1010;
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL: u16 = 1011;
    /// 1012: the service is restarting.
    pub const RESTART: u16 = 1012;
    /// 1013: the service is overloaded; try again later.
    pub const TRY_AGAIN: u16 = 1013;

    /// Same as [`is_valid_close_code`].
    pub const fn is_valid(code: u16) -> bool {
        is_valid_close_code(code)
    }
}

/// True if `code` may appear in a close frame: 1000-1003, 1007-1014 or 3000-4999.
///
/// 1004 is reserved, 1005 and 1006 describe local conditions, 1015 is for
/// TLS failures reported locally, and everything else below 3000 is reserved
/// for future versions of the protocol.
pub const fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The status code and reason carried by a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close status code.
    pub code: u16,
    /// Human-readable reason; at most 123 bytes when encoded.
    pub reason: String,
}

impl CloseFrame {
    /// Longest reason that fits in a control frame next to the 2-byte code.
    pub const MAX_REASON_LEN: usize = 123;

    /// A close frame with the given code and reason.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// Parses an unmasked close payload; `None` for an empty one.
    pub(crate) fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        let (code, reason) = match payload {
            [] => return Ok(None),
            [_] => return Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
        };
        if !is_valid_close_code(code) {
            return Err(ProtocolError::InvalidCloseCode(code));
        }
        let reason = simdutf8::basic::from_utf8(reason)
            .map_err(|_| ProtocolError::InvalidCloseReason)?
            .to_owned();
        Ok(Some(CloseFrame { code, reason }))
    }
}

#[cfg(test)]
mod tests {
    use super::{CloseCode, CloseFrame, is_valid_close_code};
    use crate::error::ProtocolError;

    #[test]
    fn wire_codes_are_valid() {
        for code in (1000..=1003).chain(1007..=1014).chain(3000..=4999) {
            assert!(is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn reserved_and_local_codes_are_invalid() {
        let invalid = (0..1000)
            .chain([1004, 1005, 1006, 1015])
            .chain(1016..3000)
            .chain(5000..=u16::MAX);
        for code in invalid {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn named_codes_have_their_registered_values() {
        assert_eq!(CloseCode::NORMAL, 1000);
        assert_eq!(CloseCode::PROTOCOL_ERROR, 1002);
        assert_eq!(CloseCode::INVALID_PAYLOAD, 1007);
        assert_eq!(CloseCode::TOO_BIG, 1009);
        assert_eq!(CloseCode::TRY_AGAIN, 1013);
    }

    #[test]
    fn empty_payload_parses_to_none() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
    }

    #[test]
    fn one_byte_payload_is_rejected() {
        assert_eq!(
            CloseFrame::parse(&[0x03]),
            Err(ProtocolError::InvalidClosePayload)
        );
    }

    #[test]
    fn code_and_reason_are_parsed() {
        let parsed = CloseFrame::parse(b"\x03\xe8bye");
        assert_eq!(parsed, Ok(Some(CloseFrame::new(1000, "bye"))));
    }

    #[test]
    fn code_not_valid_on_the_wire_is_rejected() {
        assert_eq!(
            CloseFrame::parse(&1005u16.to_be_bytes()),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
    }

    #[test]
    fn reason_with_invalid_utf8_is_rejected() {
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidCloseReason)
        );
    }
}
