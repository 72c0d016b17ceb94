//! Errors, each able to describe the response the peer should get.
//!
//! A WebSocket server answers a broken frame with a close code and a broken
//! upgrade request with an HTTP status, so both error types carry that mapping
//! themselves instead of leaving every caller to reinvent it.

mod handshake;
mod protocol;

pub use handshake::HandshakeError;
pub use protocol::ProtocolError;
