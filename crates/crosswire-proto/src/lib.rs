//! Sans-IO server side of the WebSocket protocol (RFC 6455), and the
//! Server-Sent Events wire format.
//!
//! This crate owns the wire format and nothing else: it turns client bytes into
//! [`Event`]s, server messages into bytes, and upgrade requests into a
//! [`Handshake`] or a [`HandshakeError`] that already knows its HTTP response.
//! It never touches a socket, a timer or an async runtime, so the same code can
//! be driven by any I/O layer and tested by feeding it byte slices.
//!
//! # Pieces
//!
//! - [`validate_request`] and [`accept_key`] perform the opening handshake.
//! - [`Decoder`] parses masked client frames incrementally into [`Event`]s,
//!   enforcing the protocol rules and size limits of [`DecoderConfig`].
//! - [`encode_frame`], [`encode_close`] and [`FrameHeader`] produce unmasked
//!   server frames.
//! - [`apply_mask`] and [`Utf8Validator`] are the two hot loops of the decoder,
//!   exposed because they are useful on their own.
//! - [`deflate`] negotiates permessage-deflate (RFC 7692) and inflates
//!   client messages within the message limit, however well they compress.
//! - [`sse`] formats Server-Sent Events ([`SseEvent`], [`encode_event`],
//!   [`encode_comment`]) so that no field value can inject another event.
//!
//! # Example
//!
//! ```
//! use bytes::BytesMut;
//! use crosswire_proto::{encode_frame, Decoder, DecoderConfig, Event, OpCode};
//!
//! // A masked client frame carrying the text "Hello" (RFC 6455, section 5.7).
//! let mut buf = BytesMut::from(
//!     &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58][..],
//! );
//! let mut decoder = Decoder::new(DecoderConfig::default());
//! let event = decoder.decode(&mut buf)?;
//! assert_eq!(event, Some(Event::Text("Hello".into())));
//!
//! // The server's reply is a single unmasked frame.
//! let reply = encode_frame(OpCode::Text, b"Hello");
//! assert_eq!(&reply[..], b"\x81\x05Hello");
//! # Ok::<(), crosswire_proto::ProtocolError>(())
//! ```
#![deny(missing_docs)]

pub mod close;
pub mod decode;
pub mod deflate;
pub mod encode;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod sse;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, is_valid_close_code};
pub use decode::{Decoder, DecoderConfig, Event};
pub use encode::{FrameHeader, encode_close, encode_frame};
pub use error::{HandshakeError, ProtocolError};
pub use frame::OpCode;
pub use handshake::{Handshake, accept_key, is_upgrade_request, validate_request};
pub use mask::apply_mask;
pub use sse::{SseEvent, encode_comment, encode_data, encode_event};
pub use utf8::Utf8Validator;
