//! permessage-deflate for one connection: the agreement made at the upgrade,
//! and how a frame gets its compressed form.
//!
//! With `compression = "shared"` the server answers
//! `server_no_context_takeover`, so a message compressed on its own is valid
//! for every peer. An [`OutFrame`](super::outbox::OutFrame) then builds its
//! compressed form the first time a compressing peer takes it and keeps it:
//! a publish to ten thousand peers is compressed once, and the plain form
//! still goes by reference to the peers that did not negotiate compression.
//! The compressor that does it is one per thread, reset after each message,
//! so no peer holds compression state. With `per_peer` and context takeover,
//! each peer compresses with its own context instead, in its send queue's
//! order (see [`Outbox`](super::outbox::Outbox)).

use std::cell::RefCell;

use bytes::Bytes;
use crosswire_proto::deflate::{Agreement, Deflater, InflateParams, Policy};
use crosswire_proto::{Handshake, HandshakeError};
use http::HeaderValue;

use crate::config::{Compression, WebSocketConfig};

/// What one peer agreed to, and the server's threshold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerDeflate {
    agreement: Agreement,
    threshold: usize,
}

/// Accepts the client's permessage-deflate offer as `config` allows.
///
/// `None` when compression is off or no offer was acceptable; the connection
/// then runs uncompressed.
///
/// # Errors
///
/// [`HandshakeError::InvalidExtensions`] (400) when the offer header is malformed.
pub(crate) fn negotiate(
    config: &WebSocketConfig,
    handshake: &Handshake,
) -> Result<Option<PeerDeflate>, HandshakeError> {
    let policy = match config.compression {
        Compression::Off => return Ok(None),
        Compression::Shared => Policy::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true),
        Compression::PerPeer => Policy::default(),
    };
    Ok(handshake
        .negotiate_deflate(policy)?
        .map(|agreement| PeerDeflate::new(agreement, config.compression_threshold)))
}

impl PeerDeflate {
    /// `agreement`, compressing messages of at least `threshold` bytes.
    pub(crate) fn new(agreement: Agreement, threshold: usize) -> Self {
        Self {
            agreement,
            threshold,
        }
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    pub(crate) fn response_header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.agreement.response()).ok()
    }

    /// How the reader inflates this peer's messages.
    pub(crate) fn inflate_params(&self) -> InflateParams {
        self.agreement.inflate_params()
    }

    /// True if a compressible message of `len` bytes is worth compressing.
    pub(crate) fn wants(&self, len: usize) -> bool {
        len >= self.threshold
    }

    /// True if this peer takes the form compressed on its own (shared by all
    /// such peers); false if it compresses with a context of its own.
    pub(crate) fn shares_form(&self) -> bool {
        self.agreement.server_no_context_takeover()
    }

    /// True if a message compressed on its own, of `len` bytes, is within
    /// the window the peer allows.
    pub(crate) fn fits_window(&self, len: usize) -> bool {
        self.agreement.fits_window(len)
    }

    /// A compressor keeping context between messages, for this peer alone.
    pub(crate) fn context(&self) -> Deflater {
        Deflater::new(self.agreement.deflate_window_bits(), false)
    }
}

thread_local! {
    /// The compressor for messages compressed on their own. One per thread,
    /// created on first use and reset after every message.
    static ALONE: RefCell<Option<Deflater>> = const { RefCell::new(None) };
}

/// `payload` compressed on its own with the full window, or `None` if that
/// does not make it smaller (it then goes out plain).
pub(crate) fn compress_alone(payload: &[u8]) -> Option<Bytes> {
    let compressed = ALONE.with(|cell| {
        // Re-entrance is impossible (compression calls nothing back), but a
        // fresh compressor is the safe answer if it ever happened.
        match cell.try_borrow_mut() {
            Ok(mut slot) => slot
                .get_or_insert_with(|| Deflater::new(15, true))
                .compress(payload),
            Err(_) => Deflater::new(15, true).compress(payload),
        }
    });
    (compressed.len() < payload.len()).then(|| Bytes::from(compressed))
}
