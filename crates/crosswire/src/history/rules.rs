//! Which topics keep history: the `[[history]]` patterns, matched once per
//! publish.
//!
//! Matching must cost next to nothing for topics no rule names, since every
//! publish asks: with no rule it is one branch; otherwise one hash lookup for
//! the exact names and a `starts_with` per prefix pattern (a handful).

use std::collections::HashMap;

use crate::config::HistoryConfig;

/// The bounds of one topic's history (a broker that keeps history is given
/// them too).
pub(crate) type Bounds = crate::broker::HistoryBounds;

impl From<&HistoryConfig> for Bounds {
    fn from(config: &HistoryConfig) -> Self {
        Self {
            size: config.size.max(1),
            ttl: config.ttl,
            max_bytes: config.max_bytes,
        }
    }
}

/// The compiled `[[history]]` rules.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    /// Exact names, with the index of the first rule that named them.
    exact: HashMap<String, usize>,
    /// Prefix patterns in rule order, with their rule's index.
    prefixes: Vec<(String, usize)>,
    bounds: Vec<Bounds>,
}

impl Rules {
    pub(crate) fn new(configs: &[HistoryConfig]) -> Self {
        let mut rules = Self::default();
        for (index, config) in configs.iter().enumerate() {
            rules.bounds.push(Bounds::from(config));
            for pattern in &config.topics {
                match pattern.strip_suffix('*') {
                    Some(prefix) => rules.prefixes.push((prefix.to_owned(), index)),
                    None => {
                        rules.exact.entry(pattern.clone()).or_insert(index);
                    }
                }
            }
        }
        rules
    }

    /// True when no topic keeps history.
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }

    /// The bounds of `topic`'s history, or `None` when it keeps none. The
    /// first rule (in file order) that matches wins.
    pub(crate) fn bounds(&self, topic: &str) -> Option<Bounds> {
        if self.is_empty() {
            return None;
        }
        let exact = self.exact.get(topic).copied();
        let prefix = self
            .prefixes
            .iter()
            .find(|(prefix, _)| topic.starts_with(prefix.as_str()))
            .map(|(_, index)| *index);
        let index = match (exact, prefix) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        self.bounds.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_and_prefixes_match_and_the_first_rule_wins() {
        let rules = Rules::new(&[
            HistoryConfig::for_topics(["chat", "room:*"]).size(10),
            HistoryConfig::for_topics(["room:big", "*"]).size(20),
        ]);
        assert_eq!(rules.bounds("chat").map(|b| b.size), Some(10));
        assert_eq!(rules.bounds("room:a").map(|b| b.size), Some(10));
        assert_eq!(rules.bounds("room:big").map(|b| b.size), Some(10));
        assert_eq!(rules.bounds("other").map(|b| b.size), Some(20));
        let none = Rules::new(&[HistoryConfig::for_topics(["chat"])]);
        assert_eq!(none.bounds("chat2"), None);
        assert_eq!(none.bounds("cha"), None);
        assert!(Rules::new(&[]).is_empty());
    }
}
