//! The subscribe task: one connection in subscriber mode that follows the
//! node's interest and hands every message to the node.

use std::sync::Arc;

use crosswire::broker::{BrokerLink, BrokerStage};
use futures_util::StreamExt;
use redis::aio::PubSubSink;

use crate::{ANSWER_TIMEOUT, CONNECT_TIMEOUT, Inner, PING_EVERY, RETRY};

/// Channels per `SUBSCRIBE` when resubscribing many topics at once.
const CHUNK: usize = 512;

pub(crate) async fn run(inner: Arc<Inner>, link: BrokerLink) {
    // True from a lost connection or failed attempt to the next success, so
    // an outage is reported once, not once per retry.
    let mut outage = false;
    while !link.is_closed() {
        let pubsub =
            match tokio::time::timeout(CONNECT_TIMEOUT, inner.client.get_async_pubsub()).await {
                Ok(Ok(pubsub)) => pubsub,
                Ok(Err(error)) => {
                    if !outage {
                        inner.report(
                            BrokerStage::Connect,
                            format_args!("subscribing connection: {error}"),
                        );
                    }
                    outage = true;
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
                Err(_) => {
                    if !outage {
                        inner.report(
                            BrokerStage::Connect,
                            "subscribing connection: Redis did not answer",
                        );
                    }
                    outage = true;
                    continue;
                }
            };
        let (mut sink, mut stream) = pubsub.split();
        // From here on, changes are recorded; the index is read after the
        // pending ones are dropped, so it includes them.
        inner.interest.set_recording(true);
        let upto = inner.interest.requested();
        drop(inner.interest.take());
        let topics = link.interest();
        let channels: Vec<Vec<u8>> = topics.iter().map(|topic| inner.channel(topic)).collect();
        if let Err(error) = change(&mut sink, &channels, true).await {
            inner.report(
                BrokerStage::Subscribe,
                format_args!("resubscribing {} topics: {error}", channels.len()),
            );
            inner.interest.set_recording(false);
            tokio::time::sleep(RETRY).await;
            continue;
        }
        inner.interest.applied(upto);
        if outage {
            tracing::info!(target: "crosswire::broker", topics = channels.len(), "reconnected to Redis and resubscribed");
        }
        link.set_connected(true);
        // A message is as good a sign of life as a PING's answer: only a
        // connection silent for `PING_EVERY` is pinged.
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = ping.tick() => {
                    if heard.elapsed() < PING_EVERY {
                        continue;
                    }
                    // Messages that come meanwhile wait in the client's
                    // buffer, in order.
                    let answered = tokio::time::timeout(ANSWER_TIMEOUT, sink.ping::<redis::Value>()).await;
                    if !matches!(answered, Ok(Ok(_))) {
                        inner.report(BrokerStage::Connect, "subscribing connection did not answer a PING; reconnecting");
                        break;
                    }
                    heard = tokio::time::Instant::now();
                }
                message = stream.next() => match message {
                    Some(message) => {
                        heard = tokio::time::Instant::now();
                        link.receive(message.get_payload_bytes());
                    }
                    None => {
                        inner.report(BrokerStage::Connect, "subscribing connection lost; reconnecting");
                        break;
                    }
                },
                () = inner.interest.changed() => {
                    let upto = inner.interest.requested();
                    let mut on = Vec::new();
                    let mut off = Vec::new();
                    for (topic, subscribed) in inner.interest.take() {
                        let channel = inner.channel(&topic);
                        if subscribed { on.push(channel) } else { off.push(channel) }
                    }
                    let result = match change(&mut sink, &on, true).await {
                        Ok(()) => change(&mut sink, &off, false).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = result {
                        inner.report(BrokerStage::Subscribe, format_args!("{error}; reconnecting"));
                        break;
                    }
                    inner.interest.applied(upto);
                }
            }
        }
        inner.interest.set_recording(false);
        link.set_connected(false);
        outage = true;
        tokio::time::sleep(RETRY).await;
    }
}

/// Subscribes to (or unsubscribes from) `channels`, a chunk per command,
/// each answered within [`ANSWER_TIMEOUT`] (a connection gone silent would
/// otherwise hold the task here, where no `PING` is sent).
async fn change(
    sink: &mut PubSubSink,
    channels: &[Vec<u8>],
    subscribe: bool,
) -> redis::RedisResult<()> {
    for chunk in channels.chunks(CHUNK) {
        let answered = if subscribe {
            tokio::time::timeout(ANSWER_TIMEOUT, sink.subscribe(chunk)).await
        } else {
            tokio::time::timeout(ANSWER_TIMEOUT, sink.unsubscribe(chunk)).await
        };
        match answered {
            Ok(result) => result?,
            Err(_) => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "Redis did not answer in time",
                )));
            }
        }
    }
    Ok(())
}
