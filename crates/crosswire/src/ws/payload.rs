//! What can be sent to a peer or published to a topic, and how it goes on the wire.
//!
//! The rules follow crossws, with its 0.3 bug fixed: strings, numbers and
//! booleans are text frames; JSON values are compact JSON **text** frames (for
//! `send` and `publish` alike); bytes are binary frames.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;

use super::message::Message;

/// Data ready to be framed: the payload bytes and whether they form a text frame.
///
/// Conversions exist for everything a handler usually sends:
///
/// ```
/// use crosswire::Payload;
/// use serde_json::json;
///
/// assert!(Payload::from("hello").is_text());
/// assert!(Payload::from(json!({"user": "server"})).is_text());
/// assert!(Payload::from(42).is_text());
/// assert!(Payload::from(vec![0u8, 1, 2]).is_binary());
/// assert_eq!(Payload::from(json!({"a": [1, 2]})).as_bytes(), b"{\"a\":[1,2]}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    data: Bytes,
    is_text: bool,
}

impl Payload {
    /// A text payload.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            data: Bytes::from(text.into()),
            is_text: true,
        }
    }

    /// A binary payload.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self {
            data: data.into(),
            is_text: false,
        }
    }

    /// Any `Serialize` value as a compact JSON text payload.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            data: Bytes::from(serde_json::to_vec(value)?),
            is_text: true,
        })
    }

    /// True if this goes out as a text frame.
    pub fn is_text(&self) -> bool {
        self.is_text
    }

    /// True if this goes out as a binary frame.
    pub fn is_binary(&self) -> bool {
        !self.is_text
    }

    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Splits into the shared payload bytes and the text flag.
    pub(crate) fn into_parts(self) -> (Bytes, bool) {
        (self.data, self.is_text)
    }
}

impl From<&str> for Payload {
    fn from(value: &str) -> Self {
        Self::text(value)
    }
}

impl From<String> for Payload {
    fn from(value: String) -> Self {
        Self::text(value)
    }
}

impl From<&String> for Payload {
    fn from(value: &String) -> Self {
        Self::text(value.as_str())
    }
}

impl From<Cow<'_, str>> for Payload {
    fn from(value: Cow<'_, str>) -> Self {
        Self::text(value.into_owned())
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::from(&value)
    }
}

impl From<&serde_json::Value> for Payload {
    fn from(value: &serde_json::Value) -> Self {
        // `Value`'s Display is compact JSON and cannot fail.
        Self::text(value.to_string())
    }
}

impl From<Bytes> for Payload {
    fn from(value: Bytes) -> Self {
        Self::binary(value)
    }
}

impl From<Vec<u8>> for Payload {
    fn from(value: Vec<u8>) -> Self {
        Self::binary(value)
    }
}

impl From<&[u8]> for Payload {
    fn from(value: &[u8]) -> Self {
        Self::binary(Bytes::copy_from_slice(value))
    }
}

impl<const N: usize> From<&[u8; N]> for Payload {
    fn from(value: &[u8; N]) -> Self {
        Self::binary(Bytes::copy_from_slice(value))
    }
}

impl From<Message> for Payload {
    /// Keeps the message's kind, so echoing a message is `peer.send(message)`.
    fn from(value: Message) -> Self {
        let (data, is_text) = value.into_parts();
        Self { data, is_text }
    }
}

impl From<&Message> for Payload {
    fn from(value: &Message) -> Self {
        Self::from(value.clone())
    }
}

macro_rules! text_from_display {
    ($($t:ty),*) => {
        $(impl From<$t> for Payload {
            fn from(value: $t) -> Self {
                Self::text(value.to_string())
            }
        })*
    };
}

text_from_display!(
    bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);
