//! Broker failures as the app sees them: what went wrong and at which stage.
//!
//! A broker error never reaches a WebSocket peer or a hook. It is logged
//! (target `crosswire::broker`) and handed to the app's `on_broker_error`
//! callback, so an app can count, alert or expose a health check.

use std::fmt;

/// Where in a broker's life an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BrokerStage {
    /// Connecting or reconnecting, or the connection was lost.
    Connect,
    /// Subscribing to or unsubscribing from a topic on the broker.
    Subscribe,
    /// Handing a publish to the broker, including publishes dropped because
    /// the outgoing buffer was full.
    Publish,
    /// A message on a broker channel could not be decoded (written by
    /// something that is not a Crosswire node, or by an incompatible version);
    /// it was dropped.
    Decode,
    /// Appending to or reading a topic's history kept by the broker.
    History,
}

impl BrokerStage {
    /// The stage's name, as logged: `connect`, `subscribe`, `publish`, `decode`,
    /// `history`.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerStage::Connect => "connect",
            BrokerStage::Subscribe => "subscribe",
            BrokerStage::Publish => "publish",
            BrokerStage::Decode => "decode",
            BrokerStage::History => "history",
        }
    }
}

impl fmt::Display for BrokerStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A broker failed at some stage; the broker goes on (reconnecting if it
/// must) and the error is only reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broker {stage} error: {message}")]
pub struct BrokerError {
    stage: BrokerStage,
    message: String,
}

impl BrokerError {
    /// An error at `stage`, described by `message`.
    pub fn new(stage: BrokerStage, message: impl fmt::Display) -> Self {
        Self {
            stage,
            message: message.to_string(),
        }
    }

    /// The stage the error happened at.
    pub fn stage(&self) -> BrokerStage {
        self.stage
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The `[broker]` settings cannot be used: a bad URL, an unknown scheme, or a
/// broker that is unreachable at startup (without `wait_at_startup`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct BrokerConfigError {
    key: &'static str,
    message: String,
}

impl BrokerConfigError {
    /// A problem with the setting `key` (such as `broker.url`).
    pub fn new(key: &'static str, message: impl fmt::Display) -> Self {
        Self {
            key,
            message: message.to_string(),
        }
    }

    /// The setting at fault, such as `broker.url`.
    pub fn key(&self) -> &'static str {
        self.key
    }
}
