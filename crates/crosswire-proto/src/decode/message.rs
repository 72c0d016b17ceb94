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
#[derive(Debug)]
pub(super) struct Message {
    kind: Kind,
    /// Unmasked payload received so far.
    data: BytesMut,
    /// Sum of the lengths declared by the frames seen so far, which bounds `data`.
    declared: usize,
    /// Frames seen so far.
    fragments: usize,
    utf8: Utf8Validator,
    /// The inflated payload of a compressed message (RSV1 on its first
    /// frame); `data` stays empty for one.
    inflated: Option<Vec<u8>>,
}

impl Message {
    /// A message of `kind` whose first frame declared `declared` bytes,
    /// `compressed` if that frame had RSV1 set.
    pub(super) fn new(kind: Kind, declared: usize, compressed: bool) -> Self {
        Message {
            kind,
            // Empty until bytes arrive: a single-frame message that is already
            // fully buffered never allocates here.
            data: BytesMut::new(),
            declared,
            fragments: 1,
            utf8: Utf8Validator::new(),
            inflated: compressed.then(Vec::new),
        }
    }

    /// True if the payload is compressed and goes through [`Self::inflate`].
    pub(super) fn is_compressed(&self) -> bool {
        self.inflated.is_some()
    }

    /// Inflates a piece of compressed payload, validating the output if the
    /// message is text; the output never exceeds `limit` bytes.
    pub(super) fn inflate(
        &mut self,
        inflater: &mut Inflater,
        chunk: &[u8],
        limit: usize,
    ) -> Result<(), ProtocolError> {
        let out = self.inflated.get_or_insert_with(Vec::new);
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
        let mut out = self.inflated.take().unwrap_or_default();
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
        self.fragments += 1;
        if self.fragments > max_fragments {
            return Err(ProtocolError::TooManyFragments {
                limit: max_fragments,
            });
        }
        self.declared += len;
        Ok(())
    }

    /// True if no payload byte has been received yet.
    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Appends unmasked payload bytes, validating them if the message is text.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<(), ProtocolError> {
        if self.kind == Kind::Text {
            self.utf8.feed(chunk)?;
        }
        self.data.extend_from_slice(chunk);
        Ok(())
    }

    /// Completes an uncompressed message after its final frame.
    pub(super) fn finish(mut self) -> Result<Event, ProtocolError> {
        match self.kind {
            Kind::Text => {
                self.utf8.finish()?;
                Ok(Event::Text(self.data.freeze()))
            }
            Kind::Binary => Ok(Event::Binary(self.data.freeze())),
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
