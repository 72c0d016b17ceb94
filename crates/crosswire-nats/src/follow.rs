//! Follows one history topic's stream: every message appended to it, in
//! sequence order, handed to the node with its position.
//!
//! A follow is an ephemeral push consumer (no acks, idle heartbeats)
//! delivering to an inbox this task subscribed to first. The task checks
//! that consumer sequences go up by one; a hole (a message dropped on the
//! way), a heartbeat that says more was sent than arrived, or no heartbeat
//! for a while (connection lost, stream deleted) makes it start over: it
//! looks the stream up again and creates a new consumer from the sequence
//! after the last one delivered. If the stream's epoch changed (it was
//! deleted and made again), it starts from the new stream's first message.
//! It does not use async-nats's ordered consumer because that one recreates
//! itself on a stream of the same name without noticing a new epoch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use async_nats::{HeaderMap, StatusCode};
use crosswire::broker::{BrokerLink, BrokerStage, HistoryBounds};
use futures_util::StreamExt;
use tokio::sync::oneshot;

use crate::history::{self, Log};
use crate::{Inner, RETRY};

/// How often the server sends a heartbeat on an idle follow.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence after which a follow is started over.
const SILENCE: Duration = Duration::from_secs(3);
/// How long the server keeps a consumer whose inbox nobody reads.
const INACTIVE: Duration = Duration::from_secs(10);

/// Whether each followed topic's follow has made its first consumer: until
/// then, messages appended to the stream may never reach this node, so a
/// recovery that reads the stream cannot promise what comes after its read
/// ([`BrokerHistory::settled_for`](crosswire::broker::BrokerHistory::settled_for)).
/// One entry per running follow, kept by the interest task.
#[derive(Debug, Default)]
pub(crate) struct Follows(Mutex<HashMap<String, Arc<AtomicBool>>>);

impl Follows {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A follow of `topic` is starting; the flag to set once it has.
    pub(crate) fn starting(&self, topic: &str) -> Arc<AtomicBool> {
        let started = Arc::new(AtomicBool::new(false));
        self.lock().insert(topic.to_owned(), Arc::clone(&started));
        started
    }

    /// The follow of `topic` was stopped.
    pub(crate) fn stopped(&self, topic: &str) {
        self.lock().remove(topic);
    }

    /// Whether `topic` has a follow that made its first consumer.
    pub(crate) fn started(&self, topic: &str) -> bool {
        self.lock()
            .get(topic)
            .is_some_and(|started| started.load(Ordering::Acquire))
    }
}

/// Where a follow stands: the epoch it delivers and the last sequence it
/// delivered (or found as the top when it started).
struct Place {
    epoch: String,
    last: u64,
}

/// A failed attempt to (re)start following `topic`: reported once per
/// outage, then a pause before the next attempt.
async fn failed(inner: &Inner, topic: &str, error: String, outage: &mut bool) {
    if !*outage {
        inner.report(
            BrokerStage::Subscribe,
            format_args!("following the history of {topic:?}: {error}"),
        );
    }
    *outage = true;
    tokio::time::sleep(RETRY).await;
}

/// Follows `topic` until aborted. `ready` is sent once the first consumer
/// exists on the server.
pub(crate) async fn run(
    inner: Arc<Inner>,
    jetstream: jetstream::Context,
    link: BrokerLink,
    topic: String,
    bounds: HistoryBounds,
    mut ready: Option<oneshot::Sender<()>>,
    started: Arc<AtomicBool>,
) {
    let log = Log::of(inner.prefix(), &topic);
    let mut place: Option<Place> = None;
    // True from a failure to the next success: an outage is reported once.
    let mut outage = false;
    while !link.is_closed() {
        let found = match history::ensure(&jetstream, &log, bounds).await {
            Ok(found) => found,
            Err(error) => {
                failed(&inner, &topic, error.to_string(), &mut outage).await;
                continue;
            }
        };
        let start = match &mut place {
            Some(place) if place.epoch == found.epoch => place.last + 1,
            Some(place) => {
                // A new stream: everything in it is new to this node.
                tracing::info!(target: "crosswire::broker", topic, old = %place.epoch, new = %found.epoch, "history stream made again; following its new epoch");
                place.epoch = found.epoch;
                place.last = 0;
                1
            }
            None => {
                let start = found.top + 1;
                place = Some(Place {
                    epoch: found.epoch,
                    last: found.top,
                });
                start
            }
        };
        let Some(current) = place.as_mut() else {
            continue;
        };
        let client = jetstream.client();
        let inbox = client.new_inbox();
        let mut messages = match client.subscribe(inbox.clone()).await {
            Ok(messages) => messages,
            Err(error) => {
                inner.report(
                    BrokerStage::Subscribe,
                    format_args!("following the history of {topic:?}: {error}"),
                );
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let config = consumer::push::Config {
            deliver_subject: inbox,
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ack_policy: consumer::AckPolicy::None,
            filter_subject: log.subject.clone(),
            idle_heartbeat: HEARTBEAT,
            inactive_threshold: INACTIVE,
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        };
        let created = jetstream
            .create_consumer_on_stream(config, log.stream.as_str())
            .await;
        if let Err(error) = created {
            failed(&inner, &topic, error.to_string(), &mut outage).await;
            continue;
        }
        if outage {
            tracing::info!(target: "crosswire::broker", topic, "following the history again");
        }
        outage = false;
        started.store(true, Ordering::Release);
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        // The consumer sequence of the last message received.
        let mut consumed = 0u64;
        loop {
            let message = match tokio::time::timeout(SILENCE, messages.next()).await {
                Ok(Some(message)) => message,
                Ok(None) | Err(_) => {
                    tracing::debug!(target: "crosswire::broker", topic, "history follow silent; starting over");
                    break;
                }
            };
            if message.status == Some(StatusCode::IDLE_HEARTBEAT) {
                if heartbeat_says_missed(message.headers.as_ref(), consumed) {
                    tracing::debug!(target: "crosswire::broker", topic, "history follow missed messages; starting over");
                    break;
                }
                continue;
            }
            if message.status.is_some() {
                continue;
            }
            let message = jetstream::Message {
                message,
                context: jetstream.clone(),
            };
            let Ok(info) = message.info() else {
                continue;
            };
            let (sequence, consumer_sequence) = (info.stream_sequence, info.consumer_sequence);
            if consumer_sequence != consumed + 1 {
                break;
            }
            consumed = consumer_sequence;
            if sequence <= current.last {
                continue;
            }
            current.last = sequence;
            link.receive_positioned(&current.epoch, sequence, &message.message.payload);
        }
    }
}

/// An idle heartbeat names the last consumer sequence sent; more than was
/// received means messages were lost on the way.
fn heartbeat_says_missed(headers: Option<&HeaderMap>, consumed: u64) -> bool {
    headers
        .and_then(|headers| headers.get("Nats-Last-Consumer"))
        .and_then(|value| value.as_str().parse::<u64>().ok())
        .is_some_and(|last| last != consumed)
}
