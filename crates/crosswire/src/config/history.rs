//! `[[history]]`: which topics keep their recent publishes, so a client that
//! reconnects can be given exactly what it missed.
//!
//! History is opt-in per topic pattern because it costs memory and a little
//! order-keeping on every publish to the topic; topics no rule names pay
//! nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units;

/// One `[[history]]` rule: the topics it covers and how much of each topic's
/// past it keeps. Every bound applies at once; the oldest entries go first.
///
/// ```toml
/// [[history]]
/// topics = ["chat", "room:*"]   # exact names, or a prefix ending in `*`
/// size = 100                    # entries per topic
/// ttl = "5m"                    # how long an entry is kept
/// max_bytes = "1MiB"            # bytes per topic, as counted below
/// ```
///
/// `CROSSWIRE_HISTORY_TOPICS=chat,room:*` (with `CROSSWIRE_HISTORY_SIZE`,
/// `_TTL`, `_MAX_BYTES`) replaces the file's rules with one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// Topic patterns: an exact name (`"chat"`), or a prefix followed by `*`
    /// (`"room:*"` covers `room:a` and `room:b`). A list, or one string of
    /// comma-separated patterns. Default none. The first rule that matches a
    /// topic sets its bounds.
    #[serde(deserialize_with = "patterns::deserialize")]
    pub topics: Vec<String>,
    /// Entries kept per topic. Default 100: a client away for a few seconds
    /// in a busy room still recovers, and a topic's history stays small.
    #[serde(deserialize_with = "units::positive")]
    pub size: usize,
    /// How long an entry is kept. Default 5 minutes: longer than a phone
    /// changing cells or a rolling deploy; a client away longer reloads.
    #[serde(with = "units::duration")]
    pub ttl: Duration,
    /// Bytes kept per topic. Default 1 MiB. An entry counts its frame twice
    /// (the WebSocket frame and the event-stream form it may grow) plus a
    /// fixed overhead (see the README's measured figure), so this bounds the
    /// memory a topic can pin whatever its messages' sizes.
    #[serde(with = "units::size")]
    pub max_bytes: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            topics: Vec::new(),
            size: 100,
            ttl: Duration::from_secs(300),
            max_bytes: 1 << 20,
        }
    }
}

impl HistoryConfig {
    /// A rule with the default bounds for `topics` (exact names or
    /// `prefix*` patterns).
    pub fn for_topics<I, S>(topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            topics: topics.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The same rule keeping `size` entries per topic.
    #[must_use]
    pub fn size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// The same rule keeping entries for `ttl`.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same rule keeping at most `max_bytes` per topic.
    #[must_use]
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

mod patterns {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let expected = "expected a list of topic patterns such as [\"chat\", \"room:*\"]";
        let list: Vec<String> = match Raw::deserialize(d).map_err(|_| D::Error::custom(expected))? {
            Raw::List(list) => list,
            Raw::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        for pattern in &list {
            let stars = pattern.matches('*').count();
            let valid =
                !pattern.is_empty() && (stars == 0 || (stars == 1 && pattern.ends_with('*')));
            if !valid {
                return Err(D::Error::custom(format!(
                    "\"{pattern}\" is not a topic pattern: a name, or a prefix ending in `*` such as \"room:*\""
                )));
            }
        }
        Ok(list)
    }
}
