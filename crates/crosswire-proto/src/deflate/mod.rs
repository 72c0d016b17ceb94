//! permessage-deflate (RFC 7692): negotiation, inflate and deflate.
//!
//! Compression is the one extension browsers offer on every connection, and
//! JSON chat traffic shrinks several times with it. It is also the easiest way
//! to make a server allocate without bound (a few kilobytes of zeros inflate
//! to gigabytes), so the inflater here never writes past a caller-given cap.
//!
//! - [`negotiate`] picks the first acceptable offer of a
//!   `Sec-WebSocket-Extensions` header and says what to answer
//!   ([`Agreement::response`]); a header that does not parse is an error
//!   the handshake turns into `400`.
//! - [`Inflater`] decompresses a client message into a bounded buffer; the
//!   [`Decoder`](crate::Decoder) drives it when
//!   [`DecoderConfig::inflate`](crate::DecoderConfig::inflate) is set.
//! - [`Deflater`] compresses a server message, with or without keeping its
//!   context between messages.
//!
//! The deflate engine is zlib-rs through `flate2`; nothing here is a
//! home-made codec.

mod agreement;
mod compress;
mod inflate;
mod offer;

pub use agreement::{Agreement, InflateParams, Policy, negotiate};
pub use compress::Deflater;
pub use inflate::{InflateError, Inflater};
pub use offer::{Extension, ExtensionError, parse_extensions};

/// The four bytes every flushed deflate block ends with; RFC 7692 (section
/// 7.2.1) removes them from each message and the receiver appends them back.
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Smallest window `flate2` (and zlib's raw deflate) can work with. A peer
/// may ask for 8; see [`Agreement::compresses`] for how that is honoured.
pub(crate) const MIN_ENGINE_WINDOW_BITS: u8 = 9;

/// Largest window, and the default when nothing was negotiated.
pub const MAX_WINDOW_BITS: u8 = 15;
