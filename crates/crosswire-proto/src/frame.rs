//! Frame opcodes.
//!
//! The opcode is the one piece of frame vocabulary shared by the decoder and
//! the encoder, so it lives on its own rather than inside either of them.

/// The kind of a frame, from the low four bits of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// Continues a fragmented text or binary message (`0x0`).
    Continuation,
    /// First (or only) frame of a UTF-8 text message (`0x1`).
    Text,
    /// First (or only) frame of a binary message (`0x2`).
    Binary,
    /// Starts the closing handshake (`0x8`).
    Close,
    /// Asks the peer for a pong (`0x9`).
    Ping,
    /// Answers a ping, or serves as a unidirectional heartbeat (`0xA`).
    Pong,
}

impl OpCode {
    /// Parses the four opcode bits; `None` for the reserved values 3-7 and 0xB-0xF.
    pub fn from_u8(b: u8) -> Option<OpCode> {
        match b {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// The four-bit wire value of this opcode.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// True for close, ping and pong, which may not be fragmented and carry at most 125 bytes.
    pub fn is_control(self) -> bool {
        // Control opcodes are exactly those with the high bit of the nibble set.
        self.as_u8() & 0x8 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::OpCode;

    const ALL: [OpCode; 6] = [
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ];

    #[test]
    fn wire_values_round_trip() {
        for op in ALL {
            assert_eq!(OpCode::from_u8(op.as_u8()), Some(op));
        }
    }

    #[test]
    fn reserved_values_are_rejected() {
        for b in (0x3..=0x7).chain(0xB..=0xF).chain([0x10, 0xFF]) {
            assert_eq!(OpCode::from_u8(b), None, "{b:#x}");
        }
    }

    #[test]
    fn only_close_ping_pong_are_control() {
        let control: Vec<_> = ALL.into_iter().filter(|op| op.is_control()).collect();
        assert_eq!(control, [OpCode::Close, OpCode::Ping, OpCode::Pong]);
    }
}
