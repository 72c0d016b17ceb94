//! A frame ready for the wire, and the compressed form it may grow.
//!
//! An [`OutFrame`] is built once per send or publish and pushed by reference
//! to every recipient's [`Outbox`](super::outbox::Outbox): its header is
//! encoded once and its payload shared. A data frame also carries a slot for
//! its compressed form (RSV1 set, compressed on its own), filled by the first
//! push to a peer that negotiated permessage-deflate with no server context
//! takeover, then shared by every later such push; a publish with no such
//! subscriber never compresses anything.

use std::sync::OnceLock;

use bytes::Bytes;
use crosswire_proto::{CloseFrame, FrameHeader, OpCode};

use super::deflate;
use super::payload::Payload;

/// Header and payload of one frame as it goes on the wire.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    header: FrameHeader,
    payload: Bytes,
}

impl Wire {
    /// A frame of `header` and `payload`.
    pub(super) fn new(header: FrameHeader, payload: Bytes) -> Self {
        Self { header, payload }
    }

    /// The header bytes.
    pub(crate) fn header(&self) -> &[u8] {
        self.header.as_bytes()
    }

    /// The payload bytes.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Bytes this frame occupies on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        self.header.as_bytes().len() + self.payload.len()
    }
}

/// One server frame ready for the wire: a header and a shared payload, and
/// for a data frame the compressed form it gets the first time a peer that
/// negotiated permessage-deflate takes it (see [`super::deflate`]).
#[derive(Debug)]
pub(crate) struct OutFrame {
    opcode: OpCode,
    plain: Wire,
    /// False for control frames and for sends opted out of compression.
    compressible: bool,
    /// The frame compressed on its own (RSV1 set), or `None` when compression
    /// does not make it smaller. Built once, by the first push that needs it,
    /// and shared by every later one: a publish has at most two encoded
    /// forms, and the second exists only if a compressing peer is subscribed.
    deflated: OnceLock<Option<Wire>>,
}

impl OutFrame {
    /// Frames `payload` as one unfragmented frame of `opcode`.
    pub(crate) fn new(opcode: OpCode, payload: Bytes) -> Self {
        Self {
            opcode,
            plain: Wire::new(FrameHeader::new(opcode, payload.len()), payload),
            compressible: matches!(opcode, OpCode::Text | OpCode::Binary),
            deflated: OnceLock::new(),
        }
    }

    /// Frames what a handler sends or publishes: a text frame for text, a
    /// binary frame for bytes. The one place that choice is made.
    pub(crate) fn from_payload(payload: Payload) -> Self {
        let (bytes, is_text) = payload.into_parts();
        Self::new(
            if is_text {
                OpCode::Text
            } else {
                OpCode::Binary
            },
            bytes,
        )
    }

    /// The same frame, never compressed.
    pub(crate) fn uncompressed(mut self) -> Self {
        self.compressible = false;
        self
    }

    /// True for a text data frame.
    pub(crate) fn is_text(&self) -> bool {
        self.opcode == OpCode::Text
    }

    /// The frame's opcode.
    pub(super) fn opcode(&self) -> OpCode {
        self.opcode
    }

    /// False for control frames and sends opted out of compression.
    pub(super) fn is_compressible(&self) -> bool {
        self.compressible
    }

    /// The plain (uncompressed) form.
    pub(crate) fn plain(&self) -> &Wire {
        &self.plain
    }

    /// A close frame (an empty one when `close` is `None`).
    pub(crate) fn close(close: Option<&CloseFrame>) -> Self {
        let payload = match close {
            None => Bytes::new(),
            Some(close) => {
                let mut payload = Vec::with_capacity(2 + close.reason.len());
                payload.extend_from_slice(&close.code.to_be_bytes());
                payload.extend_from_slice(close.reason.as_bytes());
                Bytes::from(payload)
            }
        };
        Self::new(OpCode::Close, payload)
    }

    /// The payload bytes (uncompressed).
    pub(crate) fn payload(&self) -> &[u8] {
        self.plain.payload()
    }

    /// Bytes the plain form occupies on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        self.plain.wire_len()
    }

    /// The form compressed on its own, built on first use; `None` if it
    /// would not be smaller.
    pub(super) fn deflated(&self) -> Option<&Wire> {
        self.deflated
            .get_or_init(|| {
                let payload = deflate::compress_alone(self.payload())?;
                let header = FrameHeader::new(self.opcode, payload.len()).rsv1(true);
                Some(Wire::new(header, payload))
            })
            .as_ref()
    }
}
