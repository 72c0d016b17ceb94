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
//! 3   1  flags: bit 0 set = binary payload, bit 1 set = batch,
//!           bit 2 set = excludes a subscriber; others zero
//! 4  16  origin node id
//! 20  4  topic length n
//! 24  n  topic, UTF-8
//! 24+n 8 (bit 2 only) the key of the origin's subscriber that must not
//!           receive it
//!   …    payload, to the end
//! ```
//!
//! The excluded key is only written for a publish that comes back to its own
//! node through the broker (a topic whose history the broker keeps, see
//! [`BrokerHistory`](super::BrokerHistory)): the origin then delivers it
//! like every other node, except to the peer that published it.
//!
//! A batch carries several envelopes of one node for one channel in one
//! broker message, so the engine handles one message where a node published
//! many (a chat room's burst costs Redis one `PUBLISH`, not hundreds): its
//! flags are `batch` alone, the topic length field holds the number of
//! records instead, and the rest is that many records, each a 4-byte length
//! and a whole envelope (never itself a batch, always from the batch's
//! origin), with nothing after them. A batch decodes whole or not at all.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

const MAGIC: &[u8; 2] = b"CW";
const VERSION: u8 = 1;
const FLAG_BINARY: u8 = 0b1;
const FLAG_BATCH: u8 = 0b10;
const FLAG_EXCLUDE: u8 = 0b100;
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
    /// The subscriber of the origin node that must not receive it (the
    /// peer that published it), for a publish the broker sends back to its
    /// own node.
    pub exclude: Option<u64>,
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
    /// A batch holding a batch, a record from another node, or a record
    /// whose length runs past the end.
    #[error("malformed batch: {0}")]
    Batch(&'static str),
}

impl<'a> Envelope<'a> {
    /// The frame opcode its payload is delivered with (decoding checked
    /// that a text payload is valid UTF-8).
    pub(crate) fn opcode(&self) -> crosswire_proto::OpCode {
        if self.binary {
            crosswire_proto::OpCode::Binary
        } else {
            crosswire_proto::OpCode::Text
        }
    }

    /// Encodes one publish. The payload is copied once, into the envelope.
    pub fn encode(origin: NodeId, topic: &str, binary: bool, payload: &[u8]) -> Bytes {
        Self::encode_excluding(origin, topic, binary, payload, None)
    }

    /// Encodes one publish that the origin node must not deliver to its
    /// subscriber `exclude` when the broker sends it back.
    pub fn encode_excluding(
        origin: NodeId,
        topic: &str,
        binary: bool,
        payload: &[u8],
        exclude: Option<u64>,
    ) -> Bytes {
        let mut out = BytesMut::with_capacity(HEADER + topic.len() + 8 + payload.len());
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        let mut flags = if binary { FLAG_BINARY } else { 0 };
        if exclude.is_some() {
            flags |= FLAG_EXCLUDE;
        }
        out.put_u8(flags);
        out.put_slice(origin.as_bytes());
        // Topics longer than 4 GiB cannot exist: they would not fit in memory
        // next to the index that holds them.
        out.put_u32(u32::try_from(topic.len()).unwrap_or(u32::MAX));
        out.put_slice(topic.as_bytes());
        if let Some(key) = exclude {
            out.put_u64(key);
        }
        out.put_slice(payload);
        out.freeze()
    }

    /// Joins envelopes encoded by [`Envelope::encode`] on this node, for one
    /// channel and in publish order, into one batch; `None` for no envelope.
    /// One envelope is returned as it is.
    pub fn encode_batch(envelopes: &[Bytes]) -> Option<Bytes> {
        let first = envelopes.first()?;
        if envelopes.len() == 1 {
            return Some(first.clone());
        }
        let records: usize = envelopes.iter().map(|e| 4 + e.len()).sum();
        let mut out = BytesMut::with_capacity(HEADER + records);
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        out.put_u8(FLAG_BATCH);
        out.put_slice(first.get(4..20).unwrap_or(&[0; 16]));
        out.put_u32(u32::try_from(envelopes.len()).unwrap_or(u32::MAX));
        for envelope in envelopes {
            // An envelope over 4 GiB cannot be published: brokers refuse far
            // smaller messages.
            out.put_u32(u32::try_from(envelope.len()).unwrap_or(u32::MAX));
            out.put_slice(envelope);
        }
        Some(out.freeze())
    }

    /// Splits `pending` (envelopes waiting to go out, in publish order) into
    /// runs of consecutive items for the same `channel`, each holding at most
    /// `max_bytes` of envelopes (and at least one item), and joins each run
    /// into one message with [`Envelope::encode_batch`]. Returns each run
    /// (its first item's channel is the run's) with the message to send.
    pub fn join_runs<T, C>(
        pending: &[T],
        channel: impl Fn(&T) -> &C,
        envelope: impl Fn(&T) -> &Bytes,
        max_bytes: usize,
    ) -> Vec<(&[T], Bytes)>
    where
        C: PartialEq + ?Sized,
    {
        let mut messages = Vec::new();
        let mut run = Vec::new();
        let mut rest = pending;
        while let Some(first) = rest.first() {
            let mut bytes = 0;
            let length = rest
                .iter()
                .take_while(|item| {
                    bytes += envelope(item).len();
                    channel(item) == channel(first) && bytes <= max_bytes
                })
                .count()
                .max(1);
            run.clear();
            run.extend(rest[..length].iter().map(|item| envelope(item).clone()));
            if let Some(message) = Self::encode_batch(&run) {
                messages.push((&rest[..length], message));
            }
            rest = &rest[length..];
        }
        messages
    }

    /// Decodes bytes read from a broker, a single envelope or a batch, into
    /// the publishes they carry, in order. Any malformed part refuses the
    /// whole message, so nothing is delivered half-decoded.
    pub fn decode_all(bytes: &'a [u8]) -> Result<Vec<Self>, EnvelopeError> {
        let flags = bytes.get(3).copied().unwrap_or(0);
        if flags & FLAG_BATCH == 0 {
            return Self::decode(bytes).map(|envelope| vec![envelope]);
        }
        let (origin, count) = Self::decode_batch_header(bytes)?;
        let mut rest = &bytes[HEADER..];
        // Every record takes at least a length and a header: a count larger
        // than the bytes allow is refused before anything is allocated.
        if count > rest.len() / (4 + HEADER) {
            return Err(EnvelopeError::Batch("more records than bytes"));
        }
        let mut envelopes = Vec::with_capacity(count);
        for _ in 0..count {
            let length = rest
                .get(..4)
                .ok_or(EnvelopeError::Batch("truncated record length"))?;
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            let length =
                usize::try_from(length).map_err(|_| EnvelopeError::Batch("record too long"))?;
            let end = length
                .checked_add(4)
                .ok_or(EnvelopeError::Batch("record too long"))?;
            let record = rest
                .get(4..end)
                .ok_or(EnvelopeError::Batch("record runs past the end"))?;
            let envelope = Self::decode(record)?;
            if envelope.origin != origin {
                return Err(EnvelopeError::Batch("a record from another node"));
            }
            envelopes.push(envelope);
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            return Err(EnvelopeError::Batch("bytes after the last record"));
        }
        Ok(envelopes)
    }

    /// The origin and record count of a batch.
    fn decode_batch_header(bytes: &[u8]) -> Result<(NodeId, usize), EnvelopeError> {
        let header = bytes
            .get(..HEADER)
            .ok_or(EnvelopeError::Truncated(bytes.len()))?;
        if &header[..2] != MAGIC {
            return Err(EnvelopeError::BadMagic);
        }
        if header[2] != VERSION {
            return Err(EnvelopeError::Version(header[2]));
        }
        if header[3] != FLAG_BATCH {
            return Err(EnvelopeError::Flags(header[3]));
        }
        let mut origin = [0u8; 16];
        origin.copy_from_slice(&header[4..20]);
        let count = u32::from_be_bytes([header[20], header[21], header[22], header[23]]);
        let count = usize::try_from(count).map_err(|_| EnvelopeError::Batch("too many records"))?;
        Ok((NodeId(origin), count))
    }

    /// Checks magic, version and flags (only `allowed` bits may be set) and
    /// returns the origin, the flags and where the topic ends.
    fn decode_header(bytes: &'a [u8], allowed: u8) -> Result<(NodeId, u8, usize), EnvelopeError> {
        let truncated = || EnvelopeError::Truncated(bytes.len());
        let header = bytes.get(..HEADER).ok_or_else(truncated)?;
        if &header[..2] != MAGIC {
            return Err(EnvelopeError::BadMagic);
        }
        if header[2] != VERSION {
            return Err(EnvelopeError::Version(header[2]));
        }
        let flags = header[3];
        if flags & !allowed != 0 {
            return Err(EnvelopeError::Flags(flags));
        }
        let mut origin = [0u8; 16];
        origin.copy_from_slice(&header[4..20]);
        let mut length = [0u8; 4];
        length.copy_from_slice(&header[20..24]);
        let topic_len = usize::try_from(u32::from_be_bytes(length)).map_err(|_| truncated())?;
        let end = HEADER.checked_add(topic_len).ok_or_else(truncated)?;
        if end > bytes.len() {
            return Err(truncated());
        }
        Ok((NodeId(origin), flags, end))
    }

    /// Decodes one (non-batch) envelope read from a broker, checking every
    /// field.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let (origin, flags, end) = Self::decode_header(bytes, FLAG_BINARY | FLAG_EXCLUDE)?;
        let topic = std::str::from_utf8(&bytes[HEADER..end]).map_err(|_| EnvelopeError::Topic)?;
        let (exclude, payload) = if flags & FLAG_EXCLUDE == 0 {
            (None, &bytes[end..])
        } else {
            let key = bytes
                .get(end..end + 8)
                .ok_or(EnvelopeError::Truncated(bytes.len()))?;
            let mut array = [0u8; 8];
            array.copy_from_slice(key);
            (Some(u64::from_be_bytes(array)), &bytes[end + 8..])
        };
        let binary = flags & FLAG_BINARY != 0;
        if !binary && std::str::from_utf8(payload).is_err() {
            return Err(EnvelopeError::Text);
        }
        Ok(Self {
            origin,
            topic,
            binary,
            exclude,
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
        assert_eq!(envelope.exclude, None);
        assert_eq!(envelope.payload, &[0, 255, 1]);
        let bytes = Envelope::encode_excluding(origin, "chat", false, b"hi", Some(7));
        let envelope = Envelope::decode(&bytes).unwrap();
        assert_eq!((envelope.exclude, envelope.payload), (Some(7), &b"hi"[..]));
        assert!(Envelope::decode(&bytes[..HEADER + 4 + 7]).is_err());
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

    #[test]
    fn a_batch_decodes_to_its_envelopes_in_order() {
        let origin = NodeId::random();
        let parts = [
            Envelope::encode(origin, "room", false, b"one"),
            Envelope::encode(origin, "room", true, &[2, 0]),
            Envelope::encode(origin, "room", false, "trois é".as_bytes()),
        ];
        let batch = Envelope::encode_batch(&parts).unwrap();
        let envelopes = Envelope::decode_all(&batch).unwrap();
        let payloads: Vec<&[u8]> = envelopes.iter().map(|e| e.payload).collect();
        assert_eq!(payloads, [&b"one"[..], &[2, 0], "trois é".as_bytes()]);
        assert!(
            envelopes
                .iter()
                .all(|e| e.origin == origin && e.topic == "room")
        );
        assert!(envelopes[1].binary && !envelopes[0].binary);
        // A single envelope is its own batch.
        let single = Envelope::encode_batch(&parts[..1]).unwrap();
        assert_eq!(single, parts[0]);
        assert_eq!(Envelope::decode_all(&single).unwrap().len(), 1);
        assert!(Envelope::encode_batch(&[]).is_none());
        // A single-envelope reader refuses a batch rather than misread it.
        assert_eq!(
            Envelope::decode(&batch),
            Err(EnvelopeError::Flags(FLAG_BATCH))
        );
    }

    #[test]
    fn runs_are_joined_per_channel_in_order_within_the_size() {
        let origin = NodeId::random();
        let pending: Vec<(&str, Bytes)> = [("a", "1"), ("a", "2"), ("b", "3"), ("a", "4")]
            .into_iter()
            .map(|(channel, text)| {
                (
                    channel,
                    Envelope::encode(origin, channel, false, text.as_bytes()),
                )
            })
            .collect();
        let messages = Envelope::join_runs(&pending, |p| p.0, |p| &p.1, 1 << 16);
        let runs: Vec<(&str, Vec<&[u8]>)> = messages
            .iter()
            .map(|(run, message)| {
                let payloads = Envelope::decode_all(message).unwrap();
                assert_eq!(run.len(), payloads.len());
                (run[0].0, payloads.iter().map(|e| e.payload).collect())
            })
            .collect();
        assert_eq!(
            runs,
            [
                ("a", vec![&b"1"[..], b"2"]),
                ("b", vec![&b"3"[..]]),
                ("a", vec![&b"4"[..]]),
            ]
        );
        // A size cap smaller than one envelope still sends each on its own.
        assert_eq!(Envelope::join_runs(&pending, |p| p.0, |p| &p.1, 1).len(), 4);
    }

    #[test]
    fn malformed_batches_are_refused_whole() {
        let origin = NodeId::random();
        let parts = [
            Envelope::encode(origin, "room", false, b"one"),
            Envelope::encode(origin, "room", false, b"two"),
        ];
        let batch = Envelope::encode_batch(&parts).unwrap();
        for cut in HEADER + 1..batch.len() {
            assert!(Envelope::decode_all(&batch[..cut]).is_err(), "cut at {cut}");
        }
        let stranger = [
            parts[0].clone(),
            Envelope::encode(NodeId::random(), "room", false, b"x"),
        ];
        assert!(matches!(
            Envelope::decode_all(&Envelope::encode_batch(&stranger).unwrap()),
            Err(EnvelopeError::Batch(_))
        ));
        let nested = [batch.clone(), parts[0].clone()];
        assert!(Envelope::decode_all(&Envelope::encode_batch(&nested).unwrap()).is_err());
        let mut bad_text = batch.to_vec();
        let last = bad_text.len() - 1;
        bad_text[last] = 0xff;
        assert_eq!(Envelope::decode_all(&bad_text), Err(EnvelopeError::Text));
    }
}
