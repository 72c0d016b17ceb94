//! `[metrics]`: whether and where the server serves Prometheus metrics.
//!
//! Off by default: counters cost a little on every message, and an
//! endpoint that tells the world how busy a server is should be asked for.
//! When on, `GET /metrics` answers on the app's own port (the simplest thing
//! to scrape), or, with `listen` set, on an address of its own, so that the
//! numbers need not be public where the app is.

use serde::{Deserialize, Serialize};

/// `[metrics]`: Prometheus metrics (see the crate README's metrics table).
/// `CROSSWIRE_METRICS_ENABLED`, `CROSSWIRE_METRICS_PATH` and
/// `CROSSWIRE_METRICS_LISTEN` set them from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Count and serve metrics. Default false: nothing is counted and no
    /// path is taken from the app.
    pub enabled: bool,
    /// The path metrics are served at. Default `/metrics`, the path
    /// Prometheus scrapes unless told otherwise. On the app's port it takes
    /// precedence over a route of the app's on the same path.
    #[serde(deserialize_with = "path")]
    pub path: String,
    /// An address of its own for the metrics (`"127.0.0.1:9100"`), so they
    /// need not be reachable where the app is. Default none: they are served
    /// on the app's port. When set, the app's port does not serve them.
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "listen")]
    pub listen: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            path: "/metrics".to_owned(),
            listen: None,
        }
    }
}

/// A path starts with `/`, as a request's path does.
fn path<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let path = String::deserialize(d)?;
    if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
        return Err(serde::de::Error::custom(format!(
            "expected a path such as \"/metrics\", got {path:?}"
        )));
    }
    Ok(path)
}

/// A socket address: `host:port`, an IPv6 host in brackets.
fn listen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let addr = String::deserialize(d)?;
    if addr.parse::<std::net::SocketAddr>().is_err() {
        return Err(serde::de::Error::custom(format!(
            "expected an address such as \"127.0.0.1:9100\", got {addr:?}"
        )));
    }
    Ok(Some(addr))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::Config;
    use super::super::load::{Sources, load};

    fn env(vars: &[(&str, &str)]) -> Sources {
        Sources {
            file: None,
            env: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn metrics_are_off_by_default_and_set_by_file_or_environment() {
        let defaults = Config::default();
        assert!(!defaults.metrics.enabled);
        assert_eq!(defaults.metrics.path, "/metrics");
        assert_eq!(defaults.metrics.listen, None);
        let config = Config::from_toml(
            "[metrics]\nenabled = true\npath = \"/_metrics\"\nlisten = \"127.0.0.1:9100\"\n",
            "crosswire.toml",
        )
        .unwrap();
        assert!(config.metrics.enabled);
        assert_eq!(config.metrics.path, "/_metrics");
        assert_eq!(config.metrics.listen.as_deref(), Some("127.0.0.1:9100"));
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_METRICS_ENABLED", "true"),
                ("CROSSWIRE_METRICS_LISTEN", "[::1]:9100"),
            ]),
        )
        .unwrap();
        assert!(config.metrics.enabled);
        assert_eq!(config.metrics.listen.as_deref(), Some("[::1]:9100"));
    }

    #[test]
    fn a_bad_metrics_setting_names_the_key() {
        let err = Config::from_toml("[metrics]\nlisten = \"9100\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Config::from_toml("[metrics]\npath = \"metrics\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("path"), "{err}");
        let err = load(
            Config::default(),
            &env(&[("CROSSWIRE_METRICS_ENABLED", "maybe")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CROSSWIRE_METRICS_ENABLED"), "{err}");
    }
}
