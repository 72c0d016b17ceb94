//! Where a message sits in its topic's history: `<epoch>:<offset>`.
//!
//! The offset alone cannot tell a client whether it missed nothing or the
//! history it counted in is gone (a restart, a topic's history expired and
//! started again at 1). The epoch names one lifetime of one topic's history:
//! drawn at random when that history starts, never reused, so a position
//! from another lifetime is recognised and reported instead of being
//! silently misread.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A message's place in its topic's history: the history's epoch and the
/// message's offset, which grows by one per publish on the topic.
///
/// Written `<epoch>:<offset>` (the SSE `id:` of the message, and what
/// [`Display`](fmt::Display) and [`FromStr`] use); serialized as that string.
///
/// ```
/// use crosswire::history::StreamPosition;
///
/// let position: StreamPosition = "3f9a1c2b7d4e-1:42".parse().unwrap();
/// assert_eq!(position.epoch(), "3f9a1c2b7d4e-1");
/// assert_eq!(position.offset(), 42);
/// assert_eq!(position.to_string(), "3f9a1c2b7d4e-1:42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamPosition {
    epoch: Arc<str>,
    offset: u64,
}

impl StreamPosition {
    /// A position in the history `epoch`, at `offset`.
    pub fn new(epoch: impl Into<Arc<str>>, offset: u64) -> Self {
        Self {
            epoch: epoch.into(),
            offset,
        }
    }

    /// The lifetime of the topic's history this position counts in.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The message's offset: 1 for the first publish of the epoch, and one
    /// more for each publish after it. 0 means "before the first message".
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn shared_epoch(&self) -> &Arc<str> {
        &self.epoch
    }
}

impl fmt::Display for StreamPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch, self.offset)
    }
}

/// A string that is not `<epoch>:<offset>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a stream position `<epoch>:<offset>`")]
#[non_exhaustive]
pub struct ParsePositionError;

impl FromStr for StreamPosition {
    type Err = ParsePositionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (epoch, offset) = text.rsplit_once(':').ok_or(ParsePositionError)?;
        // Epochs are short and printable; anything else did not come from us,
        // and is refused before it is stored or compared.
        let valid_epoch = !epoch.is_empty()
            && epoch.len() <= 64
            && epoch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid_epoch {
            return Err(ParsePositionError);
        }
        let offset = offset.parse().map_err(|_| ParsePositionError)?;
        Ok(Self::new(epoch, offset))
    }
}

impl Serialize for StreamPosition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_print_and_parse_back() {
        let position = StreamPosition::new("ab12-3", 7);
        assert_eq!(position.to_string().parse::<StreamPosition>(), Ok(position));
        assert_eq!(
            serde_json::to_string(&StreamPosition::new("e", 1)).unwrap(),
            "\"e:1\""
        );
    }

    #[test]
    fn what_is_not_a_position_is_refused() {
        for text in [
            "",
            "7",
            ":7",
            "e:",
            "e:-1",
            "e:x",
            "e f:1",
            "e\n:1",
            &"e".repeat(65),
        ] {
            assert_eq!(
                text.parse::<StreamPosition>(),
                Err(ParsePositionError),
                "{text:?}"
            );
        }
    }
}
