//! `[server] workers`: how many worker threads serve connections.

use std::fmt;
use std::num::NonZeroUsize;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The number of worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Workers {
    /// One per CPU the process may run on (`"auto"`, the default).
    #[default]
    Auto,
    /// Exactly this many.
    Count(NonZeroUsize),
}

impl Workers {
    /// The number of workers to start: `Auto` asks the operating system how
    /// many CPUs this process may use, which on Linux honours
    /// `sched_setaffinity` (`taskset`) and a cgroup CPU quota.
    pub fn resolve(self) -> usize {
        match self {
            Workers::Count(count) => count.get(),
            Workers::Auto => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        }
    }
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workers::Auto => f.write_str("auto"),
            Workers::Count(count) => write!(f, "{count}"),
        }
    }
}

impl Serialize for Workers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Workers::Auto => serializer.serialize_str("auto"),
            Workers::Count(count) => serializer.serialize_u64(count.get() as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Workers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Workers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#""auto" or a number of worker threads of at least 1"#)
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Workers, E> {
                usize::try_from(value)
                    .ok()
                    .and_then(NonZeroUsize::new)
                    .map(Workers::Count)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Workers, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
                    .and_then(|value| self.visit_u64(value))
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Workers, E> {
                if value == "auto" {
                    return Ok(Workers::Auto);
                }
                match value.parse::<u64>() {
                    Ok(count) => self.visit_u64(count),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Str(value), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    use super::*;

    #[test]
    fn workers_take_auto_or_a_positive_count() {
        let config = Config::from_toml("[server]\nworkers = 3", "t").unwrap();
        assert_eq!(config.server.workers.resolve(), 3);
        let config = Config::from_toml("[server]\nworkers = \"auto\"", "t").unwrap();
        assert_eq!(config.server.workers, Workers::Auto);
        assert!(config.server.workers.resolve() >= 1);
        for bad in ["0", "-1", "\"many\""] {
            let error = Config::from_toml(&format!("[server]\nworkers = {bad}"), "t")
                .unwrap_err()
                .to_string();
            assert!(error.contains("workers"), "{error}");
        }
    }
}
