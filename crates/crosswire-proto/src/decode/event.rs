//! What the decoder hands to the application.

use crate::close::CloseFrame;
use bytes::Bytes;

/// A complete message or control frame received from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete text message, guaranteed to be valid UTF-8.
    Text(Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A ping; the server should answer with a pong carrying the same payload.
    Ping(Bytes),
    /// A pong, either answering a ping or sent unsolicited as a heartbeat.
    Pong(Bytes),
    /// The client started the closing handshake; `None` if it sent an empty close payload.
    Close(Option<CloseFrame>),
}
