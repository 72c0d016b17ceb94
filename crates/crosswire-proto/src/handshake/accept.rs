//! The `Sec-WebSocket-Accept` proof.
//!
//! The server proves it understood the WebSocket handshake by hashing the
//! client's key with a GUID that only WebSocket servers know to use, which
//! stops caches and plain HTTP servers from completing the upgrade by accident.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID appended to every client key (section 1.3).
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client key (base64(sha1(key ++ GUID))).
///
/// `key` is the `Sec-WebSocket-Key` header value exactly as sent, still in base64.
///
/// ```
/// use crosswire_proto::accept_key;
///
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    STANDARD.encode(sha1.finalize())
}

#[cfg(test)]
mod tests {
    use super::accept_key;

    #[test]
    fn rfc_sample_key_gives_rfc_accept_value() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
