//! Assembly of one data message from its fragments.
//!
//! Payload bytes are appended as they arrive, and text is validated on the
//! way in so that invalid UTF-8 fails the connection at the first bad byte
//! rather than after the whole message has been buffered.

use super::event::Event;
use crate::deflate::{InflateError, Inflater};
use crate::error::ProtocolError;
use crate::utf8::Utf8Validator;
use bytes::{Bytes, BytesMut};

/// The type a data message was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Binary,
}

/// A data message whose first frame has been seen but whose last has not completed.
///
/// Made only for a message that is not one final frame already buffered
/// whole (fragmented, split over reads, or compressed), and boxed: a
/// decoder is part of every connection's state, idle or not.
#[derive(Debug)]
pub(super) struct Message {
    /// The payload received so far.
    payload: Payload,
    /// Sum of the lengths declared by the frames seen so far, which bounds
    /// the payload.
    declared: usize,
    utf8: Utf8Validator,
    /// Frames seen so far (at most `max_fragments`, then the message fails).
    fragments: u32,
    kind: Kind,
}

/// A message's payload so far: as received, or inflated.
#[derive(Debug)]
enum Payload {
    /// Unmasked payload bytes of an uncompressed message.
    Raw(BytesMut),
    /// The inflated payload of a compressed message (RSV1 on its first frame).
    Inflated(Vec<u8>),
}

impl Message {
    /// A message of `kind` whose first frame declared `declared` bytes,
    /// `compressed` if that frame had RSV1 set.
    pub(super) fn new(kind: Kind, declared: usize, compressed: bool) -> Self {
        Message {
            kind,
            // Empty until bytes arrive: a single-frame message that is already
            // fully buffered never allocates here.
            payload: if compressed {
                Payload::Inflated(Vec::new())
            } else {
                Payload::Raw(BytesMut::new())
            },
            declared,
            fragments: 1,
            utf8: Utf8Validator::new(),
        }
    }

    /// True if the payload is compressed and goes through [`Self::inflate`].
    pub(super) fn is_compressed(&self) -> bool {
        matches!(self.payload, Payload::Inflated(_))
    }

    /// Inflates a piece of compressed payload, validating the output if the
    /// message is text; the output never exceeds `limit` bytes.
    pub(super) fn inflate(
        &mut self,
        inflater: &mut Inflater,
        chunk: &[u8],
        limit: usize,
    ) -> Result<(), ProtocolError> {
        // Only a message opened compressed is inflated (the decoder checks
        // `is_compressed` first); anything else is refused, not mixed.
        let Payload::Inflated(out) = &mut self.payload else {
            return Err(ProtocolError::InvalidCompressedData);
        };
        let start = out.len();
        let result = inflater.inflate(chunk, out, limit);
        // What was inflated before a failure is validated first, so the
        // error does not depend on how the payload was split into reads.
        if self.kind == Kind::Text {
            self.utf8.feed(&out[start..])?;
        }
        result.map_err(inflate_error)
    }

    /// Completes a compressed message after its final frame.
    pub(super) fn finish_inflated(
        mut self,
        inflater: &mut Inflater,
        limit: usize,
    ) -> Result<Event, ProtocolError> {
        let mut out = match std::mem::replace(&mut self.payload, Payload::Inflated(Vec::new())) {
            Payload::Inflated(out) => out,
            Payload::Raw(_) => return Err(ProtocolError::InvalidCompressedData),
        };
        let start = out.len();
        let result = inflater.finish(&mut out, limit);
        if self.kind == Kind::Text {
            self.utf8.feed(&out[start..])?;
        }
        result.map_err(inflate_error)?;
        match self.kind {
            Kind::Text => {
                self.utf8.finish()?;
                Ok(Event::Text(Bytes::from(out)))
            }
            Kind::Binary => Ok(Event::Binary(Bytes::from(out))),
        }
    }

    /// Total length declared so far by this message's frames.
    pub(super) fn declared(&self) -> usize {
        self.declared
    }

    /// Records another fragment of `len` bytes, already checked against the
    /// size limit; fails past `max_fragments` frames.
    pub(super) fn add_fragment(
        &mut self,
        len: usize,
        max_fragments: usize,
    ) -> Result<(), ProtocolError> {
        self.fragments = self.fragments.saturating_add(1);
        if self.fragments as usize > max_fragments {
            return Err(ProtocolError::TooManyFragments {
                limit: max_fragments,
            });
        }
        self.declared += len;
        Ok(())
    }

    /// True if no payload byte has been received yet.
    pub(super) fn is_empty(&self) -> bool {
        match &self.payload {
            Payload::Raw(data) => data.is_empty(),
            Payload::Inflated(out) => out.is_empty(),
        }
    }

    /// Appends unmasked payload bytes, validating them if the message is text.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        let Payload::Raw(data) = &mut self.payload else {
            // Compressed payload goes through `inflate`.
            return Err(ProtocolError::InvalidCompressedData);
        };
        if self.kind == Kind::Text {
            self.utf8.feed(chunk)?;
        }
        data.extend_from_slice(chunk);
        Ok(())
    }

    /// Completes an uncompressed message after its final frame.
    pub(super) fn finish(mut self) -> Result<Event, ProtocolError> {
        // A compressed message ends through `finish_inflated`, which also
        // ends its inflater.
        let Payload::Raw(data) = self.payload else {
            return Err(ProtocolError::InvalidCompressedData);
        };
        let data = data.freeze();
        match self.kind {
            Kind::Text => {
                self.utf8.finish()?;
                Ok(Event::Text(data))
            }
            Kind::Binary => Ok(Event::Binary(data)),
        }
    }

    /// Completes an empty message with `payload` as its whole content, without copying.
    pub(super) fn finish_with(self, payload: Bytes) -> Result<Event, ProtocolError> {
        debug_assert!(
            self.is_empty(),
            "whole-payload completion of a started message"
        );
        match self.kind {
            Kind::Text => {
                // The payload is complete, so the one-shot validator is enough.
                simdutf8::basic::from_utf8(&payload).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Event::Text(payload))
            }
            Kind::Binary => Ok(Event::Binary(payload)),
        }
    }
}

/// The protocol error for an inflate failure.
fn inflate_error(error: InflateError) -> ProtocolError {
    match error {
        InflateError::TooLarge { limit } => ProtocolError::MessageTooLarge { limit },
        InflateError::Corrupt => ProtocolError::InvalidCompressedData,
    }
}
