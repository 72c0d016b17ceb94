//! Layering: built-in defaults, then `crosswire.toml`, then the environment.
//!
//! The file is first deserialized on its own so that its errors carry the line,
//! the key and what was expected; each environment variable is checked on its
//! own for the same reason, so an error always names its source.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::Config;

/// A configuration source could not be read or holds an invalid setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key in it is unknown or has a bad value.
    #[error("{origin}: {message}")]
    File {
        /// The file (or the name given to [`Config::from_toml`]).
        origin: String,
        /// The key, its position and what was expected.
        message: String,
    },
    /// An environment variable names an unknown setting or holds a bad value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What was expected.
        message: String,
    },
}

/// Sections that `CROSSWIRE_<SECTION>_<KEY>` variables may address.
const SECTIONS: &[&str] = &["server", "websocket", "sse", "broker", "dev", "metrics"];

/// Where settings come from; a value so tests need not touch the process.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    /// The config file path and whether it must exist.
    pub(crate) file: Option<(PathBuf, bool)>,
    /// Environment variables, in any order.
    pub(crate) env: Vec<(String, String)>,
}

impl Sources {
    /// The process's working directory and environment.
    pub(crate) fn from_process() -> Self {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let file = match env.iter().find(|(k, _)| k == "CROSSWIRE_CONFIG") {
            Some((_, path)) => Some((PathBuf::from(path), true)),
            None => Some((PathBuf::from("crosswire.toml"), false)),
        };
        Self { file, env }
    }
}

pub(crate) fn load(defaults: Config, sources: &Sources) -> Result<Config, ConfigError> {
    let mut merged = to_table(&defaults);
    if let Some((path, required)) = &sources.file
        && let Some(table) = read_file(path, *required)?
    {
        merge(&mut merged, table);
    }
    for (var, value) in &sources.env {
        if let Some(overlay) = env_overlay(var, value, &sources.env)? {
            merge(&mut merged, overlay);
        }
    }
    if let Some(rule) = history_overlay(&sources.env)? {
        merged.insert("history".to_owned(), Value::Array(vec![Value::Table(rule)]));
    }
    Config::deserialize_table(merged).map_err(|message| ConfigError::File {
        origin: "configuration".to_owned(),
        message,
    })
}

pub(crate) fn from_toml(defaults: Config, text: &str, origin: &str) -> Result<Config, ConfigError> {
    let table = parse_checked(text, origin)?;
    let mut merged = to_table(&defaults);
    merge(&mut merged, table);
    Config::deserialize_table(merged).map_err(|message| ConfigError::File {
        origin: origin.to_owned(),
        message,
    })
}

fn read_file(path: &Path, required: bool) -> Result<Option<Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse_checked(&text, &path.display().to_string()).map(Some)
}

/// Parses TOML text and checks it against the schema, keeping toml's
/// line-and-key error messages.
fn parse_checked(text: &str, origin: &str) -> Result<Table, ConfigError> {
    let file_error = |e: toml::de::Error| ConfigError::File {
        origin: origin.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    };
    toml::from_str::<Config>(text).map_err(file_error)?;
    toml::from_str::<Table>(text).map_err(file_error)
}

/// The nested tables, as (section, table): `[dev.hmr]` and `[server.tls]`.
/// No plain key of those sections starts with the table's name and `_`, so
/// `CROSSWIRE_SERVER_TLS_CERT` can only mean `[server.tls] cert`.
const NESTED: &[(&str, &str)] = &[("dev", "hmr"), ("server", "tls")];

/// Turns `CROSSWIRE_WEBSOCKET_IDLE_TIMEOUT=30s` into `{websocket = {idle_timeout = "30s"}}`,
/// checked on its own. Variables outside Crosswire's sections are ignored.
fn env_overlay(
    var: &str,
    value: &str,
    env: &[(String, String)],
) -> Result<Option<Table>, ConfigError> {
    let (section, key) = if var == "PORT" {
        // The platform convention, below the explicit CROSSWIRE_SERVER_PORT.
        if env.iter().any(|(k, _)| k == "CROSSWIRE_SERVER_PORT") {
            return Ok(None);
        }
        ("server".to_owned(), "port".to_owned())
    } else {
        let Some(rest) = var.strip_prefix("CROSSWIRE_") else {
            return Ok(None);
        };
        let rest = rest.to_ascii_lowercase();
        let Some(section) = SECTIONS.iter().find(|s| rest.starts_with(&format!("{s}_"))) else {
            return Ok(None);
        };
        let key = rest[section.len() + 1..].to_owned();
        ((*section).to_owned(), key)
    };
    let mut inner = Table::new();
    let nested = NESTED.iter().find_map(|(outer, table)| {
        let rest = key.strip_prefix(table)?.strip_prefix('_')?;
        (*outer == section).then_some((*table, rest))
    });
    match nested {
        // CROSSWIRE_DEV_HMR_PORT is `[dev.hmr] port`.
        Some((table, nested_key)) => {
            let mut nested_table = Table::new();
            nested_table.insert(nested_key.to_owned(), scalar(value));
            inner.insert(table.to_owned(), Value::Table(nested_table));
        }
        None => {
            inner.insert(key, scalar(value));
        }
    }
    let mut overlay = Table::new();
    overlay.insert(section, Value::Table(inner));
    Config::deserialize_table(overlay.clone()).map_err(|message| ConfigError::Env {
        var: var.to_owned(),
        message,
    })?;
    Ok(Some(overlay))
}

/// `CROSSWIRE_HISTORY_<KEY>` variables as one `[[history]]` rule (which
/// replaces the file's rules), each checked on its own; `None` when no such
/// variable is set.
fn history_overlay(env: &[(String, String)]) -> Result<Option<Table>, ConfigError> {
    let mut rule = Table::new();
    for (var, value) in env {
        let Some(key) = var.strip_prefix("CROSSWIRE_HISTORY_") else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let mut single = Table::new();
        single.insert(key.clone(), scalar(value));
        let mut overlay = Table::new();
        overlay.insert(
            "history".to_owned(),
            Value::Array(vec![Value::Table(single)]),
        );
        Config::deserialize_table(overlay).map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
        rule.insert(key, scalar(value));
    }
    Ok((!rule.is_empty()).then_some(rule))
}

/// An environment string as the TOML scalar it looks like.
fn scalar(value: &str) -> Value {
    if let Ok(b) = value.parse::<bool>() {
        Value::Boolean(b)
    } else if let Ok(i) = value.parse::<i64>() {
        Value::Integer(i)
    } else {
        Value::String(value.to_owned())
    }
}

fn to_table(config: &Config) -> Table {
    // Serializing a plain struct of strings, numbers and booleans cannot fail.
    Table::try_from(config).unwrap_or_default()
}

/// Deep-merges `overlay` into `base`.
fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_inner)), Value::Table(inner)) => merge(base_inner, inner),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl Config {
    fn deserialize_table(table: Table) -> Result<Self, String> {
        Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

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
    fn compression_defaults_to_shared_and_can_be_set_from_file_or_environment() {
        use crate::config::Compression;
        let defaults = Config::default();
        assert_eq!(defaults.websocket.compression, Compression::Shared);
        assert_eq!(defaults.websocket.compression_threshold, 64);
        let config = Config::from_toml(
            "[websocket]\ncompression = \"per_peer\"\ncompression_threshold = \"1KiB\"\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.websocket.compression, Compression::PerPeer);
        assert_eq!(config.websocket.compression_threshold, 1024);
        let config = load(
            Config::default(),
            &env(&[("CROSSWIRE_WEBSOCKET_COMPRESSION", "off")]),
        )
        .unwrap();
        assert_eq!(config.websocket.compression, Compression::Off);
        let err = Config::from_toml("[websocket]\ncompression = \"on\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("compression"), "{err}");
    }

    #[test]
    fn a_file_overrides_defaults_and_keeps_the_rest() {
        let config = Config::from_toml(
            "[websocket]\nmax_message_size = \"16MiB\"\nidle_timeout = 5\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.websocket.max_message_size, 16 << 20);
        assert_eq!(config.websocket.idle_timeout, Duration::from_secs(5));
        assert_eq!(config.websocket.ping_interval, Duration::from_secs(30));
        assert_eq!(config.server.port, 3000);
    }

    #[test]
    fn an_unknown_key_names_the_file_the_key_and_the_expected_keys() {
        let err = Config::from_toml("[websocket]\nmax_mesage_size = 1\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("crosswire.toml:"), "{err}");
        assert!(err.contains("max_mesage_size"), "{err}");
        assert!(err.contains("max_message_size"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_bad_value_says_what_was_expected() {
        let err = Config::from_toml("[websocket]\nidle_timeout = \"soon\"\n", "app.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("idle_timeout"), "{err}");
        assert!(err.contains("expected a duration"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let sources = env(&[
            ("CROSSWIRE_WEBSOCKET_SEND_QUEUE_BYTES", "64KiB"),
            ("CROSSWIRE_WEBSOCKET_ENABLED", "false"),
            ("CROSSWIRE_SERVER_PORT", "4000"),
            ("PORT", "5000"),
            ("HOME", "/root"),
        ]);
        let config = load(Config::default(), &sources).unwrap();
        assert_eq!(config.websocket.send_queue_bytes, 64 << 10);
        assert!(!config.websocket.enabled);
        assert_eq!(config.server.port, 4000);
    }

    #[test]
    fn the_sse_section_has_defaults_a_file_and_environment_overrides() {
        let defaults = Config::default();
        assert_eq!(defaults.sse.keep_alive, Duration::from_secs(15));
        assert_eq!(defaults.sse.queue_bytes, 1 << 20);
        let config = Config::from_toml(
            "[sse]\nkeep_alive = \"500ms\"\nqueue_bytes = \"64KiB\"\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.sse.keep_alive, Duration::from_millis(500));
        assert_eq!(config.sse.queue_bytes, 64 << 10);
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_SSE_KEEP_ALIVE", "0"),
                ("CROSSWIRE_SSE_QUEUE_BYTES", "2MiB"),
            ]),
        )
        .unwrap();
        assert_eq!(config.sse.keep_alive, Duration::ZERO);
        assert_eq!(config.sse.queue_bytes, 2 << 20);
        let err = load(Config::default(), &env(&[("CROSSWIRE_SSE_KEEPALIVE", "1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CROSSWIRE_SSE_KEEPALIVE"), "{err}");
        assert!(err.contains("keep_alive"), "{err}");
    }

    #[test]
    fn the_dev_section_has_defaults_a_file_and_environment_overrides() {
        let defaults = Config::default();
        assert_eq!(defaults.dev.hmr.path, "/__crosswire/reload");
        assert_eq!(defaults.dev.hmr.port, None);
        let config = Config::from_toml("[dev.hmr]\nport = 3002\n", "crosswire.toml").unwrap();
        assert_eq!(config.dev.hmr.port, Some(3002));
        assert_eq!(config.dev.hmr.path, "/__crosswire/reload");
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_DEV", "1"),
                ("CROSSWIRE_DEV_HMR_PORT", "4002"),
                ("CROSSWIRE_DEV_HMR_PATH", "/_reload"),
            ]),
        )
        .unwrap();
        assert_eq!(config.dev.hmr.port, Some(4002));
        assert_eq!(config.dev.hmr.path, "/_reload");
        let err = Config::from_toml("[dev.hmr]\nprot = 1\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn the_tls_table_has_defaults_a_file_and_environment_overrides() {
        let defaults = Config::default();
        assert!(!defaults.server.tls.is_enabled());
        assert_eq!(
            defaults.server.tls.handshake_timeout,
            Duration::from_secs(10)
        );
        let config = Config::from_toml(
            "[server]\nport = 8443\n[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.server.port, 8443);
        assert_eq!(config.server.tls.cert.as_deref(), Some(Path::new("c.pem")));
        assert_eq!(config.server.tls.key.as_deref(), Some(Path::new("k.pem")));
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_SERVER_TLS_CERT", "/etc/cw/cert.pem"),
                ("CROSSWIRE_SERVER_TLS_KEY", "/etc/cw/key.pem"),
                ("CROSSWIRE_SERVER_TLS_HANDSHAKE_TIMEOUT", "3s"),
                ("CROSSWIRE_SERVER_PORT", "8443"),
            ]),
        )
        .unwrap();
        assert!(config.server.tls.is_enabled());
        assert_eq!(
            config.server.tls.cert.as_deref(),
            Some(Path::new("/etc/cw/cert.pem"))
        );
        assert_eq!(
            config.server.tls.key.as_deref(),
            Some(Path::new("/etc/cw/key.pem"))
        );
        assert_eq!(config.server.tls.handshake_timeout, Duration::from_secs(3));
        assert_eq!(config.server.port, 8443);
        let err = load(
            Config::default(),
            &env(&[("CROSSWIRE_SERVER_TLS_CRT", "c.pem")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CROSSWIRE_SERVER_TLS_CRT"), "{err}");
        let err = Config::from_toml("[server.tls]\ncrt = \"c.pem\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("crt"), "{err}");
    }

    #[test]
    fn the_broker_section_has_defaults_a_file_and_environment_overrides() {
        let defaults = Config::default();
        assert_eq!(defaults.broker.url, None);
        assert_eq!(defaults.broker.prefix, "crosswire");
        assert!(!defaults.broker.wait_at_startup);
        assert_eq!(defaults.broker.buffer_bytes, 16 << 20);
        assert_eq!(defaults.broker.ca_file, None);
        let config = Config::from_toml(
            "[broker]\nurl = \"redis://127.0.0.1:6379\"\nprefix = \"app1\"\nwait_at_startup = true\nbuffer_bytes = \"1MiB\"\nca_file = \"ca.pem\"\ncert_file = \"node.pem\"\nkey_file = \"node-key.pem\"\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.broker.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(config.broker.scheme(), Some("redis"));
        assert_eq!(config.broker.prefix, "app1");
        assert!(config.broker.wait_at_startup);
        assert_eq!(config.broker.buffer_bytes, 1 << 20);
        assert_eq!(config.broker.ca_file.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(
            config.broker.cert_file.as_deref(),
            Some(Path::new("node.pem"))
        );
        assert_eq!(
            config.broker.key_file.as_deref(),
            Some(Path::new("node-key.pem"))
        );
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_BROKER_URL", "tls://127.0.0.1:4222"),
                ("CROSSWIRE_BROKER_PREFIX", "other"),
                ("CROSSWIRE_BROKER_CA_FILE", "/etc/broker-ca.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(config.broker.url.as_deref(), Some("tls://127.0.0.1:4222"));
        assert_eq!(config.broker.prefix, "other");
        assert_eq!(
            config.broker.ca_file.as_deref(),
            Some(Path::new("/etc/broker-ca.pem"))
        );
    }

    #[test]
    fn history_rules_come_from_the_file_or_one_rule_from_the_environment() {
        let defaults = Config::default();
        assert!(defaults.history.is_empty());
        let text = "[[history]]\ntopics = [\"chat\", \"room:*\"]\nsize = 10\nttl = \"30s\"\n\n[[history]]\ntopics = [\"news\"]\n";
        let config = from_toml(Config::default(), text, "crosswire.toml").unwrap();
        assert_eq!(config.history.len(), 2);
        assert_eq!(config.history[0].topics, ["chat", "room:*"]);
        assert_eq!(config.history[0].size, 10);
        assert_eq!(config.history[0].ttl, Duration::from_secs(30));
        assert_eq!(config.history[0].max_bytes, 1 << 20);
        assert_eq!(config.history[1].size, 100);
        assert_eq!(config.history[1].ttl, Duration::from_secs(300));

        let sources = env(&[
            ("CROSSWIRE_HISTORY_TOPICS", "chat, room:*"),
            ("CROSSWIRE_HISTORY_MAX_BYTES", "64KiB"),
        ]);
        let config = load(Config::default(), &sources).unwrap();
        assert_eq!(config.history.len(), 1);
        assert_eq!(config.history[0].topics, ["chat", "room:*"]);
        assert_eq!(config.history[0].max_bytes, 64 << 10);
        assert_eq!(config.history[0].size, 100);

        let err = from_toml(Config::default(), "[[history]]\ntopics = [\"a*b\"]\n", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a*b"), "{err}");
        let err = load(Config::default(), &env(&[("CROSSWIRE_HISTORY_SIZE", "0")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CROSSWIRE_HISTORY_SIZE"), "{err}");
    }

    #[test]
    fn a_bad_broker_url_or_prefix_names_the_key() {
        let err = Config::from_toml("[broker]\nurl = \"localhost\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("url"), "{err}");
        assert!(err.contains("expected a URL"), "{err}");
        let err = load(
            Config::default(),
            &env(&[("CROSSWIRE_BROKER_URL", "redis:/x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CROSSWIRE_BROKER_URL"), "{err}");
        for bad in ["my app", "app:x", "app.x", "", "a*"] {
            let text = format!("[broker]\nprefix = \"{bad}\"\n");
            let err = Config::from_toml(&text, "crosswire.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("prefix"), "{bad}: {err}");
        }
        let config =
            Config::from_toml("[broker]\nprefix = \"my_app-2\"\n", "crosswire.toml").unwrap();
        assert_eq!(config.broker.prefix, "my_app-2");
        let err = Config::from_toml("[broker]\nurll = \"redis://x\"\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn edge_limits_have_defaults_a_file_and_environment_overrides() {
        let defaults = Config::default();
        assert_eq!(defaults.server.max_connections, 10_000);
        assert_eq!(defaults.server.max_header_bytes, 16 << 10);
        assert_eq!(defaults.websocket.allowed_origins, None);
        assert_eq!(defaults.sse.allowed_origins, None);
        let config = Config::from_toml(
            "[server]\nmax_connections = 50\nmax_header_bytes = \"8KiB\"\n\
             [websocket]\nallowed_origins = [\"https://example.com\", \"https://*.example.com\"]\n\
             [sse]\nallowed_origins = [\"*\"]\n",
            "crosswire.toml",
        )
        .unwrap();
        assert_eq!(config.server.max_connections, 50);
        assert_eq!(config.server.max_header_bytes, 8 << 10);
        assert_eq!(
            config.websocket.allowed_origins.as_deref(),
            Some(
                &[
                    "https://example.com".to_owned(),
                    "https://*.example.com".to_owned()
                ][..]
            )
        );
        assert_eq!(
            config.sse.allowed_origins.as_deref(),
            Some(&["*".to_owned()][..])
        );
        let config = load(
            Config::default(),
            &env(&[
                ("CROSSWIRE_SERVER_MAX_CONNECTIONS", "7"),
                ("CROSSWIRE_SERVER_MAX_HEADER_BYTES", "32KiB"),
                (
                    "CROSSWIRE_WEBSOCKET_ALLOWED_ORIGINS",
                    "https://a.example, http://localhost:3000",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.max_connections, 7);
        assert_eq!(config.server.max_header_bytes, 32 << 10);
        assert_eq!(
            config.websocket.allowed_origins.as_deref(),
            Some(
                &[
                    "https://a.example".to_owned(),
                    "http://localhost:3000".to_owned()
                ][..]
            )
        );
        // A list an app gives as a default survives the layering.
        let mut defaults = Config::default();
        defaults.sse.allowed_origins = Some(vec!["https://*.example.com".to_owned()]);
        let config = load(defaults.clone(), &Sources::default()).unwrap();
        assert_eq!(config.sse.allowed_origins, defaults.sse.allowed_origins);
    }

    #[test]
    fn bad_edge_limits_name_the_key() {
        let err = Config::from_toml("[server]\nmax_connections = 0\n", "crosswire.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_connections"), "{err}");
        let err = Config::from_toml(
            "[websocket]\nallowed_origins = [\"example.com\"]\n",
            "crosswire.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("allowed_origins"), "{err}");
        assert!(err.contains("expected an origin"), "{err}");
        let err = load(
            Config::default(),
            &env(&[("CROSSWIRE_SSE_ALLOWED_ORIGINS", "https://*example.com")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CROSSWIRE_SSE_ALLOWED_ORIGINS"), "{err}");
    }

    #[test]
    fn port_applies_when_no_crosswire_port_is_set() {
        let config = load(Config::default(), &env(&[("PORT", "5000")])).unwrap();
        assert_eq!(config.server.port, 5000);
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let err = load(
            Config::default(),
            &env(&[("CROSSWIRE_WEBSOCKET_IDEL_TIMEOUT", "3")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("CROSSWIRE_WEBSOCKET_IDEL_TIMEOUT"), "{err}");
        assert!(err.contains("idle_timeout"), "{err}");
        let err = load(Config::default(), &env(&[("PORT", "http")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("PORT"), "{err}");
    }

    #[test]
    fn defaults_given_by_an_app_survive_a_file_without_them() {
        let mut defaults = Config::default();
        defaults.server.port = 9001;
        let config = load(defaults, &Sources::default()).unwrap();
        assert_eq!(config.server.port, 9001);
    }
}
