//! A complete message received from a peer.
//!
//! The codec hands over whole messages (fragments already joined, text already
//! validated as UTF-8), so a `Message` is just the payload and its kind. The
//! payload is a shared [`Bytes`]: reading it never copies.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A message received from a WebSocket peer.
///
/// ```
/// use crosswire::Message;
///
/// let message = Message::from_text("{\"n\": 1}");
/// assert!(message.is_text());
/// assert_eq!(message.text(), "{\"n\": 1}");
/// let value: serde_json::Value = message.json().unwrap();
/// assert_eq!(value["n"], 1);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    data: Bytes,
    is_text: bool,
}

impl Message {
    /// A text message.
    pub fn from_text(text: impl Into<String>) -> Self {
        Self {
            data: Bytes::from(text.into()),
            is_text: true,
        }
    }

    /// A binary message.
    pub fn from_binary(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            is_text: false,
        }
    }

    /// Builds a message from a payload the codec has already validated.
    pub(crate) fn from_parts(data: Bytes, is_text: bool) -> Self {
        Self { data, is_text }
    }

    /// Splits into the payload and the text flag, without touching the
    /// payload's reference count.
    pub(crate) fn into_parts(self) -> (Bytes, bool) {
        (self.data, self.is_text)
    }

    /// The payload as text; invalid UTF-8 in a binary message is replaced by U+FFFD.
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }

    /// Parses the payload as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.data)
    }

    /// The raw payload (a cheap clone of the received buffer).
    pub fn bytes(&self) -> Bytes {
        self.data.clone()
    }

    /// The raw payload, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// True for a text message.
    pub fn is_text(&self) -> bool {
        self.is_text
    }

    /// True for a binary message.
    pub fn is_binary(&self) -> bool {
        !self.is_text
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl fmt::Display for Message {
    /// Like crossws's `message.toString()`: the payload as (lossy) text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("kind", &if self.is_text { "text" } else { "binary" })
            .field("len", &self.data.len())
            .finish()
    }
}
