//! Incremental parsing of client frames into messages.
//!
//! Bytes arrive from the network in pieces that have nothing to do with frame
//! boundaries, so the decoder is a small state machine that consumes whatever
//! is buffered and remembers where it stopped. Data payloads are unmasked,
//! validated and appended as they arrive, which bounds memory by the declared
//! sizes and reports invalid UTF-8 at the first bad byte. A single-frame
//! message that is already fully buffered takes a fast path that unmasks it in
//! place and hands out the buffer without copying.

mod config;
mod event;
mod header;
mod message;

pub use config::DecoderConfig;
pub use event::Event;

use crate::close::CloseFrame;
use crate::deflate::Inflater;
use crate::error::ProtocolError;
use crate::frame::OpCode;
use crate::mask::apply_mask;
use bytes::{Buf, BytesMut};
use header::{Head, Prefix};
use message::{Kind, Message};
use std::sync::Arc;

/// Reserved-bit mask allowing none of RSV1, RSV2 and RSV3.
const NO_RESERVED_BITS: u8 = 0;
/// RSV1, which permessage-deflate sets on the first frame of a compressed message.
const RSV1: u8 = 0x40;

/// Turns the byte stream of one client connection into [`Event`]s.
///
/// Feed it with [`decode`](Self::decode) every time more bytes are read.
/// The result does not depend on how the stream was split into reads.
///
/// Once `decode` has returned an error or an [`Event::Close`], the
/// connection is over and the decoder is spent: after an error it returns the
/// same error again, and after a close it returns `Ok(None)` without consuming
/// anything. Create a new decoder for a new connection.
///
/// ```
/// use bytes::BytesMut;
/// use crosswire_proto::{Decoder, DecoderConfig, Event};
///
/// let mut decoder = Decoder::new(DecoderConfig::default());
/// let mut buf = BytesMut::new();
///
/// // A masked ping with payload "hi", arriving in two reads.
/// buf.extend_from_slice(&[0x89, 0x82, 1, 2]);
/// assert_eq!(decoder.decode(&mut buf)?, None);
/// buf.extend_from_slice(&[3, 4, b'h' ^ 1, b'i' ^ 2]);
/// assert_eq!(decoder.decode(&mut buf)?, Some(Event::Ping("hi".into())));
/// assert!(buf.is_empty());
/// # Ok::<(), crosswire_proto::ProtocolError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    /// Shared: a server's connections decode under the same limits, and
    /// each keeps a pointer to them rather than a copy.
    config: Arc<DecoderConfig>,
    state: State,
    /// The data message being assembled, from its first frame's header until
    /// its final frame's last byte. Boxed, and not made at all for a message
    /// that is one final frame already buffered whole (most of them): an
    /// idle connection keeps a pointer here, not a message's worth of state.
    message: Option<Box<Message>>,
    /// The permessage-deflate inflater, created by the first compressed
    /// message. Kept between messages only when the client keeps its
    /// context; otherwise dropped when the message ends, so an idle
    /// connection holds no inflate state.
    inflater: Option<Box<Inflater>>,
}

/// Where the decoder is in the byte stream.
#[derive(Debug)]
enum State {
    /// Waiting for the start of the next frame.
    Header,
    /// Inside the payload of a frame whose header was consumed.
    Payload(Frame),
    /// A close frame was decoded; nothing more is read.
    Closed,
    /// The stream broke the protocol; the error is repeated.
    Failed(ProtocolError),
}

/// The frame whose payload is being read.
#[derive(Debug, Clone, Copy)]
struct Frame {
    opcode: OpCode,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes still to come.
    remaining: usize,
    /// Payload bytes already unmasked, which sets the phase of the mask.
    consumed: usize,
}

impl Decoder {
    /// A decoder at the start of a connection, enforcing the limits of `config`.
    pub fn new(config: DecoderConfig) -> Self {
        Self::with_shared_config(Arc::new(config))
    }

    /// A decoder under limits shared with other decoders (a server's
    /// connections), which then keep a pointer each instead of a copy.
    pub fn with_shared_config(config: Arc<DecoderConfig>) -> Self {
        Decoder {
            config,
            state: State::Header,
            message: None,
            inflater: None,
        }
    }

    /// Consumes as many bytes of `buf` as it can (advancing `buf`) and returns the next complete
    /// event, or Ok(None) when more bytes are needed. Call again until Ok(None) to drain buf.
    ///
    /// # Errors
    ///
    /// A [`ProtocolError`] when the client breaks RFC 6455 or a size limit;
    /// send a close frame with its [`close_code`](ProtocolError::close_code)
    /// and drop the connection.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        let result = self.step(buf);
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        result
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        loop {
            let frame = match &self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Closed => return Ok(None),
                State::Payload(frame) => *frame,
                State::Header => match self.read_header(buf)? {
                    Some(frame) => frame,
                    None => return Ok(None),
                },
            };
            let event = match frame.opcode {
                OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                    self.read_data(frame, buf)?
                }
                OpCode::Ping => self
                    .read_control(frame, buf)
                    .map(|payload| Event::Ping(payload.freeze())),
                OpCode::Pong => self
                    .read_control(frame, buf)
                    .map(|payload| Event::Pong(payload.freeze())),
                OpCode::Close => match self.read_control(frame, buf) {
                    Some(payload) => {
                        let close = CloseFrame::parse(&payload)?;
                        self.state = State::Closed;
                        Some(Event::Close(close))
                    }
                    None => None,
                },
            };
            if event.is_some() {
                return Ok(event);
            }
            if let State::Payload(_) = self.state {
                // The frame's payload is not all here yet.
                return Ok(None);
            }
            // A non-final fragment completed: look for the next frame.
        }
    }

    /// Parses and checks the next frame header, consuming it once it is complete.
    fn read_header(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ProtocolError> {
        // The rules decided by the first two bytes are checked before waiting
        // for the rest of the header, so a bad frame fails as early as possible.
        let [b0, b1, ..] = buf[..] else {
            return Ok(None);
        };
        let prefix = Prefix::parse(b0, b1)?;
        if prefix.rsv & !self.allowed_reserved_bits(prefix.opcode) != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        self.check_sequence(prefix.opcode)?;
        let Some(head) = prefix.complete(buf)? else {
            return Ok(None);
        };
        let len = self.check_sizes(&head)?;
        buf.advance(prefix.header_len());

        let compressed = prefix.rsv & RSV1 != 0;
        let whole = prefix.fin && !compressed && buf.len() >= len;
        match prefix.opcode {
            OpCode::Text | OpCode::Binary if whole => {}
            OpCode::Text | OpCode::Binary => {
                let kind = if prefix.opcode == OpCode::Text {
                    Kind::Text
                } else {
                    Kind::Binary
                };
                self.message = Some(Box::new(Message::new(kind, len, compressed)));
            }
            OpCode::Continuation => {
                if let Some(message) = &mut self.message {
                    message.add_fragment(len, self.config.max_fragments)?;
                }
            }
            OpCode::Close | OpCode::Ping | OpCode::Pong => {}
        }
        let frame = Frame {
            opcode: prefix.opcode,
            fin: prefix.fin,
            mask: head.mask,
            remaining: len,
            consumed: 0,
        };
        self.state = State::Payload(frame);
        Ok(Some(frame))
    }

    /// RSV bits that a negotiated extension gives a meaning to on a frame with `opcode`.
    ///
    /// permessage-deflate (RFC 7692, section 6) allows RSV1 on the first
    /// frame of a data message (`Text` or `Binary`), and never on
    /// continuation or control frames; without it, none are allowed.
    fn allowed_reserved_bits(&self, opcode: OpCode) -> u8 {
        match opcode {
            OpCode::Text | OpCode::Binary if self.config.inflate.is_some() => RSV1,
            _ => NO_RESERVED_BITS,
        }
    }

    /// Checks that a data frame fits the fragmentation state (section 5.4).
    fn check_sequence(&self, opcode: OpCode) -> Result<(), ProtocolError> {
        match (opcode, self.message.is_some()) {
            (OpCode::Continuation, false) => Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, true) => Err(ProtocolError::ExpectedContinuation),
            _ => Ok(()),
        }
    }

    /// Checks the declared length against the limits and returns it as a `usize`.
    fn check_sizes(&self, head: &Head) -> Result<usize, ProtocolError> {
        let limit = self.config.max_frame_size;
        let len = usize::try_from(head.len)
            .ok()
            .filter(|&len| len <= limit)
            .ok_or(ProtocolError::FrameTooLarge {
                size: head.len,
                limit,
            })?;
        let (before, compressed) = match head.prefix.opcode {
            OpCode::Continuation => self
                .message
                .as_ref()
                .map_or((0, false), |m| (m.declared(), m.is_compressed())),
            OpCode::Text | OpCode::Binary => (0, head.prefix.rsv & RSV1 != 0),
            OpCode::Close | OpCode::Ping | OpCode::Pong => return Ok(len),
        };
        // Declared lengths are checked up front so an oversized message fails
        // before its payload is buffered.
        let limit = self.config.max_message_size;
        // Compressed bytes are not buffered but inflated as they arrive, and
        // the inflater enforces the limit on the output. Their total is still
        // bounded, so that a stream of empty deflate blocks cannot run
        // forever; incompressible data grows a little, hence the margin.
        let declared_limit = if compressed {
            limit.saturating_add(limit / 64 + 1024)
        } else {
            limit
        };
        before
            .checked_add(len)
            .filter(|&total| total <= declared_limit)
            .ok_or(ProtocolError::MessageTooLarge { limit })?;
        Ok(len)
    }

    /// Returns the unmasked payload of a control frame once all of it is buffered.
    fn read_control(&mut self, frame: Frame, buf: &mut BytesMut) -> Option<BytesMut> {
        // At most 125 bytes, so waiting for the whole payload costs nothing.
        if buf.len() < frame.remaining {
            return None;
        }
        let mut payload = buf.split_to(frame.remaining);
        apply_mask(&mut payload, frame.mask, frame.consumed);
        self.state = State::Header;
        Some(payload)
    }

    /// Moves buffered payload of a data frame into the message; returns it once complete.
    fn read_data(
        &mut self,
        frame: Frame,
        buf: &mut BytesMut,
    ) -> Result<Option<Event>, ProtocolError> {
        let mut message = match self.message.take() {
            Some(message) => message,
            // A first frame with no message opened for it: `read_header`
            // found it final, uncompressed and buffered whole, in the same
            // step. Should that ever not hold, the frame is assembled like
            // any other rather than trusted.
            None => {
                let kind = match frame.opcode {
                    OpCode::Text => Kind::Text,
                    OpCode::Binary => Kind::Binary,
                    _ => return Err(ProtocolError::UnexpectedContinuation),
                };
                let message = Message::new(kind, frame.consumed + frame.remaining, false);
                if frame.fin && frame.consumed == 0 && buf.len() >= frame.remaining {
                    return self.finish_whole(frame, buf, message);
                }
                Box::new(message)
            }
        };
        if message.is_compressed() {
            return self.read_compressed(frame, buf, message);
        }

        if frame.fin && message.is_empty() && buf.len() >= frame.remaining {
            return self.finish_whole(frame, buf, *message);
        }

        let take = frame.remaining.min(buf.len());
        let chunk = &mut buf[..take];
        apply_mask(chunk, frame.mask, frame.consumed);
        message.push(chunk)?;
        buf.advance(take);
        match self.after_chunk(frame, take, message) {
            Some(message) => message.finish().map(Some),
            None => Ok(None),
        }
    }

    /// The whole message is `frame`, all of it buffered: its payload is
    /// unmasked in place and handed out without copying.
    fn finish_whole(
        &mut self,
        frame: Frame,
        buf: &mut BytesMut,
        message: Message,
    ) -> Result<Option<Event>, ProtocolError> {
        let mut payload = buf.split_to(frame.remaining);
        apply_mask(&mut payload, frame.mask, frame.consumed);
        self.state = State::Header;
        message.finish_with(payload.freeze()).map(Some)
    }

    /// Moves past `take` payload bytes of `frame`. Gives the message back
    /// once its final frame is complete; otherwise keeps it (and the frame,
    /// if bytes of it are still to come) and returns `None`.
    fn after_chunk(
        &mut self,
        frame: Frame,
        take: usize,
        message: Box<Message>,
    ) -> Option<Box<Message>> {
        let frame = Frame {
            remaining: frame.remaining - take,
            consumed: frame.consumed + take,
            ..frame
        };
        if frame.remaining > 0 {
            self.state = State::Payload(frame);
            self.message = Some(message);
            return None;
        }
        self.state = State::Header;
        if !frame.fin {
            self.message = Some(message);
            return None;
        }
        Some(message)
    }

    /// Inflates buffered payload of a compressed message as it arrives;
    /// returns the message once its final frame is complete.
    fn read_compressed(
        &mut self,
        frame: Frame,
        buf: &mut BytesMut,
        mut message: Box<Message>,
    ) -> Result<Option<Event>, ProtocolError> {
        // RSV1 is accepted only when inflate parameters are set.
        let params = self.config.inflate.ok_or(ProtocolError::ReservedBits)?;
        let limit = self.config.max_message_size;
        // Taken out while this frame is read, so the decoder's state can be
        // updated meanwhile; put back unless the message is done and the
        // client keeps no context. After an error the decoder is not used
        // again, so an inflater dropped there is never missed.
        let mut inflater = self.inflater.take().unwrap_or_else(|| {
            Box::new(Inflater::new(
                params.window_bits,
                params.no_context_takeover,
            ))
        });

        let take = frame.remaining.min(buf.len());
        let chunk = &mut buf[..take];
        apply_mask(chunk, frame.mask, frame.consumed);
        message.inflate(&mut inflater, chunk, limit)?;
        buf.advance(take);

        let Some(message) = self.after_chunk(frame, take, message) else {
            self.inflater = Some(inflater);
            return Ok(None);
        };
        let event = message.finish_inflated(&mut inflater, limit)?;
        if !params.no_context_takeover {
            self.inflater = Some(inflater);
        }
        Ok(Some(event))
    }
}
