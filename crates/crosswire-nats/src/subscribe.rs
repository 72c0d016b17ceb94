//! Follows the node's interest: one NATS subscription per topic with local
//! subscribers, each read by its own small task; for a history topic, a
//! follow of its stream instead ([`crate::follow`]).
//!
//! The client re-sends these subscriptions after a reconnect by itself, so
//! nothing here reacts to connection loss (a follow starts itself over).
//! Dropping a subscription (its task aborted) unsubscribes it.
//!
//! Once a round of changes is in effect (the server has the subscriptions:
//! a flush round trip; the follows' consumers exist) the round is marked
//! applied, which is what [`BrokerHistory::settled`] waits for. A round
//! still not in effect after a while is marked applied anyway, so one
//! failing topic does not hold up every other; whether a topic's own
//! follow started is kept apart, for [`BrokerHistory::settled_for`].
//!
//! [`BrokerHistory::settled`]: crosswire::broker::BrokerHistory::settled
//! [`BrokerHistory::settled_for`]: crosswire::broker::BrokerHistory::settled_for

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crosswire::broker::{BrokerLink, BrokerStage};
use futures_util::StreamExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Inner, follow};

/// Longest wait for a round of changes to take effect before it is marked
/// applied anyway (the server is down or refuses a follow; a recovery on a
/// topic whose follow has not started is then told its history is lost).
const SETTLE: Duration = Duration::from_secs(5);

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
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut readers = Readers(HashMap::new());
    // Topics that got subscribers before this task ran.
    for topic in link.interest() {
        inner.interest.record(&topic, true);
    }
    loop {
        let upto = inner.interest.requested();
        let mut follows = Vec::new();
        let mut subscribed_any = false;
        for (topic, subscribed) in inner.interest.take() {
            if !subscribed {
                if let Some(reader) = readers.0.remove(&topic) {
                    reader.abort();
                }
                inner.follows.stopped(&topic);
                continue;
            }
            if readers.0.contains_key(&topic) {
                continue;
            }
            if let Some(bounds) = link.history_bounds(&topic) {
                let (ready, follows_ready) = oneshot::channel();
                follows.push(follows_ready);
                let reader = tokio::spawn(follow::run(
                    Arc::clone(&inner),
                    jetstream.clone(),
                    link.clone(),
                    topic.clone(),
                    bounds,
                    Some(ready),
                    inner.follows.starting(&topic),
                ));
                readers.0.insert(topic, reader);
                continue;
            }
            match client.subscribe(inner.subject(&topic)).await {
                Ok(mut subscription) => {
                    subscribed_any = true;
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
        let in_effect = async {
            if subscribed_any {
                let _ = client.flush().await;
            }
            for ready in follows {
                let _ = ready.await;
            }
        };
        let _ = tokio::time::timeout(SETTLE, in_effect).await;
        inner.interest.applied(upto);
        if link.is_closed() {
            return;
        }
        inner.interest.changed().await;
    }
}
