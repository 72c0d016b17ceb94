//! One way for an app to set up its logs: levels from `RUST_LOG`, and text
//! for people or JSON lines for log shippers from `CROSSWIRE_LOG_FORMAT`.
//!
//! The library logs through `tracing` and never installs a subscriber; an
//! app that already has one keeps it. This is the subscriber the examples and
//! `crosswire new` apps use, so that every Crosswire app reads the same two
//! variables the same way. It needs the `logging` feature, which brings in
//! `tracing-subscriber` with its JSON formatter.
//!
//! In JSON, each line is one object: `timestamp`, `level`, `target`,
//! `fields` (with `message`), and, inside a connection, `span` (the
//! innermost span's fields: `peer`, `remote`, `route`, `path`) and `spans`
//! (every open span, outermost first). Logs go to standard error, so a
//! program's own output on standard output stays its own.
//!
//! ```no_run
//! fn main() -> Result<(), crosswire::logging::LoggingError> {
//!     // `info` unless RUST_LOG says otherwise; text unless
//!     // CROSSWIRE_LOG_FORMAT=json.
//!     crosswire::logging::init("info")?;
//!     Ok(())
//! }
//! ```

use tracing_subscriber::EnvFilter;

/// The variable that picks the log format: `text` (the default) or `json`.
pub const LOG_FORMAT_VAR: &str = "CROSSWIRE_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event, with span fields in front.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// The format `CROSSWIRE_LOG_FORMAT` names: unset or empty is text.
    pub fn from_env() -> Result<Self, LoggingError> {
        match std::env::var(LOG_FORMAT_VAR) {
            Ok(value) => Self::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(Self::Text),
            Err(std::env::VarError::NotUnicode(value)) => {
                Err(LoggingError::Format(value.to_string_lossy().into_owned()))
            }
        }
    }

    /// `text` or `json`, in any case; empty is text.
    pub fn parse(value: &str) -> Result<Self, LoggingError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(LoggingError::Format(value.to_owned())),
        }
    }
}

/// Logging could not be set up; the message says which variable to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// `CROSSWIRE_LOG_FORMAT` is neither `text` nor `json`.
    #[error("CROSSWIRE_LOG_FORMAT={0:?} is not a log format; use `text` (the default) or `json`")]
    Format(String),
    /// `RUST_LOG` (or the default given to [`init`]) is not a valid filter.
    #[error("RUST_LOG is not a valid filter ({0}); for example `info` or `info,crosswire=debug`")]
    Filter(String),
    /// A global subscriber was installed before.
    #[error("a tracing subscriber is already installed")]
    AlreadySet,
}

/// Installs the global subscriber: levels from `RUST_LOG` (or `default`,
/// such as `"info"` or `"warn,crosswire=info"`, when it is unset or empty),
/// the format from `CROSSWIRE_LOG_FORMAT`, written to standard error.
pub fn init(default: &str) -> Result<(), LoggingError> {
    let format = LogFormat::from_env()?;
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => EnvFilter::try_new(&value),
        _ => EnvFilter::try_new(default),
    }
    .map_err(|error| LoggingError::Filter(error.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|_| LoggingError::AlreadySet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_in_any_case_and_refuse_the_rest() {
        assert_eq!(LogFormat::parse("").ok(), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("text").ok(), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse(" JSON ").ok(), Some(LogFormat::Json));
        let error = LogFormat::parse("yaml").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "CROSSWIRE_LOG_FORMAT=\"yaml\" is not a log format; use `text` (the default) or `json`"
            )
        );
    }
}
