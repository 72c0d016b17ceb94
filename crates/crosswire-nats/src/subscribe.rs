//! Follows the node's interest: one NATS subscription per topic with local
//! subscribers, each read by its own small task.
//!
//! The client re-sends these subscriptions after a reconnect by itself, so
//! nothing here reacts to connection loss. Dropping a subscription (its task
//! aborted) unsubscribes it.

use std::collections::HashMap;
use std::sync::Arc;

use crosswire::broker::{BrokerLink, BrokerStage};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::Inner;

/// Aborts every reader when the interest task itself ends (server stop).
struct Readers(HashMap<String, JoinHandle<()>>);

impl Drop for Readers {
    fn drop(&mut self) {
        for (_, reader) in self.0.drain() {
            reader.abort();
        }
    }
}

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client, link: BrokerLink) {
    let mut readers = Readers(HashMap::new());
    // Topics that got subscribers before this task ran.
    for topic in link.interest() {
        inner.interest.record(&topic, true);
    }
    loop {
        for (topic, subscribed) in inner.interest.take() {
            if !subscribed {
                if let Some(reader) = readers.0.remove(&topic) {
                    reader.abort();
                }
                continue;
            }
            if readers.0.contains_key(&topic) {
                continue;
            }
            match client.subscribe(inner.subject(&topic)).await {
                Ok(mut subscription) => {
                    let link = link.clone();
                    let reader = tokio::spawn(async move {
                        while let Some(message) = subscription.next().await {
                            link.receive(&message.payload);
                        }
                    });
                    readers.0.insert(topic, reader);
                }
                Err(error) => inner.report(
                    BrokerStage::Subscribe,
                    format_args!("topic {topic:?}: {error}"),
                ),
            }
        }
        if link.is_closed() {
            return;
        }
        inner.interest.changed().await;
    }
}
