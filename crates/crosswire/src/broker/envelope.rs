//! The envelope: one publish as bytes on a broker channel.
//!
//! Every engine carries the same envelope, so the node-side rules (drop my own
//! messages, keep text as text) live in one place and a broker only moves
//! bytes. Bytes read from a broker are untrusted: anything else with access
//! to the channel can write to it, so [`Envelope::decode`] checks every field
//! and refuses what it cannot fully read, and a text payload must be valid
//! UTF-8 (it becomes a WebSocket text frame).
//!
//! Layout, version 1 (integers big-endian):
//!
//! ```text
//! 0   2  magic "CW"
//! 2   1  version (1)
//! 3   1  flags: bit 0 set = binary payload; other bits must be zero
//! 4  16  origin node id
//! 20  4  topic length n
//! 24  n  topic, UTF-8
//! 24+n   payload, to the end
//! ```

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

const MAGIC: &[u8; 2] = b"CW";
const VERSION: u8 = 1;
const FLAG_BINARY: u8 = 0b1;
const HEADER: usize = 24;

/// The identity of one server process: random, fresh at every start, carried
/// in every envelope so a node can recognise (and drop) its own publishes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId([u8; 16]);

impl NodeId {
    /// A new random id.
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&uuid::Uuid::from_bytes(self.0).simple(), f)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

/// One decoded publish, borrowing from the bytes it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The node that published it.
    pub origin: NodeId,
    /// The topic it was published to.
    pub topic: &'a str,
    /// True for a binary message, false for text (JSON included).
    pub binary: bool,
    /// The message bytes; valid UTF-8 when `binary` is false.
    pub payload: &'a [u8],
}

/// Why bytes read from a broker are not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Fewer bytes than the fixed header, or than the topic length says.
    #[error("truncated envelope ({0} bytes)")]
    Truncated(usize),
    /// The bytes do not start with the envelope's magic: not ours.
    #[error("not a crosswire envelope")]
    BadMagic,
    /// Written by a version of Crosswire this one does not read.
    #[error("unsupported envelope version {0}")]
    Version(u8),
    /// Flag bits this version does not know.
    #[error("unknown envelope flags {0:#04x}")]
    Flags(u8),
    /// The topic is not UTF-8.
    #[error("topic is not valid UTF-8")]
    Topic,
    /// A text message that is not UTF-8.
    #[error("text payload is not valid UTF-8")]
    Text,
}

impl<'a> Envelope<'a> {
    /// Encodes one publish. The payload is copied once, into the envelope.
    pub fn encode(origin: NodeId, topic: &str, binary: bool, payload: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER + topic.len() + payload.len());
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        out.put_u8(if binary { FLAG_BINARY } else { 0 });
        out.put_slice(origin.as_bytes());
        // Topics longer than 4 GiB cannot exist: they would not fit in memory
        // next to the index that holds them.
        out.put_u32(u32::try_from(topic.len()).unwrap_or(u32::MAX));
        out.put_slice(topic.as_bytes());
        out.put_slice(payload);
        out.freeze()
    }

    /// Decodes bytes read from a broker, checking every field.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let truncated = || EnvelopeError::Truncated(bytes.len());
        let header = bytes.get(..HEADER).ok_or_else(truncated)?;
        if &header[..2] != MAGIC {
            return Err(EnvelopeError::BadMagic);
        }
        if header[2] != VERSION {
            return Err(EnvelopeError::Version(header[2]));
        }
        let flags = header[3];
        if flags & !FLAG_BINARY != 0 {
            return Err(EnvelopeError::Flags(flags));
        }
        let mut origin = [0u8; 16];
        origin.copy_from_slice(&header[4..20]);
        let mut length = [0u8; 4];
        length.copy_from_slice(&header[20..24]);
        let topic_len = usize::try_from(u32::from_be_bytes(length)).map_err(|_| truncated())?;
        let end = HEADER.checked_add(topic_len).ok_or_else(truncated)?;
        let topic = bytes.get(HEADER..end).ok_or_else(truncated)?;
        let topic = std::str::from_utf8(topic).map_err(|_| EnvelopeError::Topic)?;
        let payload = &bytes[end..];
        let binary = flags & FLAG_BINARY != 0;
        if !binary && std::str::from_utf8(payload).is_err() {
            return Err(EnvelopeError::Text);
        }
        Ok(Self {
            origin: NodeId(origin),
            topic,
            binary,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_decodes_to_what_was_encoded() {
        let origin = NodeId::random();
        let topic = "room é 1";
        let bytes = Envelope::encode(origin, topic, false, "héllo".as_bytes());
        let envelope = Envelope::decode(&bytes).unwrap();
        assert_eq!(envelope.origin, origin);
        assert_eq!(envelope.topic, topic);
        assert!(!envelope.binary);
        assert_eq!(envelope.payload, "héllo".as_bytes());
        let bytes = Envelope::encode(origin, "", true, &[0, 255, 1]);
        let envelope = Envelope::decode(&bytes).unwrap();
        assert!(envelope.binary);
        assert_eq!(envelope.payload, &[0, 255, 1]);
    }

    #[test]
    fn malformed_envelopes_are_refused_whole() {
        let good = Envelope::encode(NodeId::random(), "chat", false, b"hi");
        for cut in 0..HEADER + 4 {
            assert!(Envelope::decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = good.to_vec();
        bad[0] = b'X';
        assert_eq!(Envelope::decode(&bad), Err(EnvelopeError::BadMagic));
        let mut bad = good.to_vec();
        bad[2] = 9;
        assert_eq!(Envelope::decode(&bad), Err(EnvelopeError::Version(9)));
        let mut bad = good.to_vec();
        bad[3] = 0x82;
        assert_eq!(Envelope::decode(&bad), Err(EnvelopeError::Flags(0x82)));
        let mut bad = good.to_vec();
        bad[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Envelope::decode(&bad),
            Err(EnvelopeError::Truncated(_))
        ));
        let mut bad = good.to_vec();
        bad[HEADER] = 0xff;
        assert_eq!(Envelope::decode(&bad), Err(EnvelopeError::Topic));
        let bad = Envelope::encode(NodeId::random(), "chat", false, &[0xc3]);
        assert_eq!(Envelope::decode(&bad), Err(EnvelopeError::Text));
        assert!(Envelope::decode(b"hello from redis-cli").is_err());
    }
}
