//! Scale-out for the cluster benchmark: with `[broker] url` (or `CROSSWIRE_BROKER_URL`)
//! set, bench servers on different ports share their chat room through Redis
//! or NATS; without it each server is on its own.

use crosswire::BrokerConfig;
use crosswire::broker::{Broker, BrokerConfigError};

/// The broker `config` names, picked by the URL's scheme; `None` when no URL
/// is set. An unknown scheme is an error naming `broker.url`.
pub async fn from_config(
    config: &BrokerConfig,
) -> Result<Option<Box<dyn Broker>>, BrokerConfigError> {
    let Some(scheme) = config.scheme() else {
        return Ok(None);
    };
    let broker: Box<dyn Broker> = match scheme {
        "redis" | "rediss" => Box::new(crosswire_redis::connect(config).await?),
        "nats" | "tls" => Box::new(crosswire_nats::connect(config).await?),
        other => {
            return Err(BrokerConfigError::new(
                "broker.url",
                format_args!(
                    "unknown scheme \"{other}\" (expected redis://, rediss://, nats:// or tls://)"
                ),
            ));
        }
    };
    Ok(Some(broker))
}
