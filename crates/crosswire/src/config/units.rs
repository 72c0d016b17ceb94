//! Durations and byte sizes as people write them in a config file.
//!
//! A duration is a whole number of seconds (`30`) or a string with a unit
//! (`"500ms"`, `"30s"`, `"2m"`, `"1h"`). A size is a number of bytes (`65536`)
//! or a string with a unit (`"64KiB"`, `"1MiB"`, `"1MB"`, `"512B"`).

use std::time::Duration;

/// Parses `"500ms"`, `"30s"`, `"2m"`, `"1h"` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "" | "s" => number.checked_mul(1000)?,
        "ms" => number,
        "m" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// Parses `"64KiB"`, `"1MiB"`, `"1GiB"`, `"1kB"`, `"1MB"`, `"512B"` or a bare number of bytes.
pub(crate) fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: usize = number.parse().ok()?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{millis}ms")
    }
}

/// Serde for durations: accepts seconds as an integer or a string with a unit.
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*value))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)
            .map_err(|_| D::Error::custom("expected a duration such as 30, \"30s\" or \"500ms\""))?
        {
            Raw::Seconds(secs) => Ok(Duration::from_secs(secs)),
            Raw::Text(text) => super::parse_duration(&text).ok_or_else(|| {
                D::Error::custom(format!(
                    "expected a duration such as \"30s\", \"500ms\", \"2m\", got \"{text}\""
                ))
            }),
        }
    }
}

/// Serde for byte sizes: accepts bytes as an integer or a string with a unit.
pub(crate) mod size {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bytes(u64),
        Text(String),
    }

    pub(crate) fn serialize<S: Serializer>(value: &usize, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*value as u64)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        let size = match Raw::deserialize(d)
            .map_err(|_| D::Error::custom("expected a size such as 65536 or \"64KiB\""))?
        {
            Raw::Bytes(bytes) => usize::try_from(bytes).ok(),
            Raw::Text(text) => super::parse_size(&text),
        };
        match size {
            Some(0) | None => Err(D::Error::custom(
                "expected a size above zero such as 65536, \"64KiB\" or \"1MiB\"",
            )),
            Some(size) => Ok(size),
        }
    }
}

/// Checks that a URL has a scheme and something after `://`; which schemes
/// work is up to the broker crates.
pub(crate) fn url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::{Deserialize, de::Error};
    let text = String::deserialize(d)?;
    let valid = text.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
            && !rest.chars().any(char::is_whitespace)
    });
    if valid {
        Ok(Some(text))
    } else {
        Err(D::Error::custom(format!(
            "expected a URL such as \"redis://127.0.0.1:6379\" or \"nats://127.0.0.1:4222\", got \"{text}\""
        )))
    }
}

/// A channel prefix: letters, digits, `-` and `_`, at most 64. Neither
/// Redis's separator (`:`) nor NATS's (`.`) may appear, or one app's prefix
/// plus a topic could be another app's channel or subject (`app` with topic
/// `x:chat` against `app:x` with topic `chat`).
pub(crate) fn prefix<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use serde::{Deserialize, de::Error};
    let text = String::deserialize(d)?;
    if is_valid_prefix(&text) {
        Ok(text)
    } else {
        Err(D::Error::custom(format!(
            "expected a prefix of at most 64 letters, digits, `-` or `_` such as \"myapp\", got \"{text}\""
        )))
    }
}

/// See [`prefix`].
pub(crate) fn is_valid_prefix(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A count that must be at least one (`max_connections`).
pub(crate) fn positive<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    use serde::{Deserialize, de::Error};
    match u64::deserialize(d) {
        Ok(n) if n > 0 => usize::try_from(n).map_err(|_| D::Error::custom("number too large")),
        _ => Err(D::Error::custom(
            "expected a whole number above zero such as 10000",
        )),
    }
}

/// `allowed_origins`: a list of origins, or one string of comma-separated
/// origins (what an environment variable can hold), each checked here so a
/// typo fails at startup instead of refusing every browser.
pub(crate) mod origins {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<String>>, D::Error> {
        let list = match Raw::deserialize(d).map_err(|_| {
            D::Error::custom(
                "expected a list of origins such as [\"https://example.com\", \"https://*.example.com\"]",
            )
        })? {
            Raw::List(list) => list,
            Raw::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        crate::origin::OriginPolicy::from_setting(Some(&list)).map_err(D::Error::custom)?;
        Ok(Some(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_and_without_units() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("5 weeks"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("1MB"), Some(1_000_000));
        assert_eq!(parse_size("512B"), Some(512));
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn durations_print_back_in_the_shortest_unit() {
        assert_eq!(format_duration(Duration::from_secs(120)), "120s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
