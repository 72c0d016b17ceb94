//! The append task: moves appends to history topics from their own
//! buffer into JetStream.
//!
//! A publish to a history topic is a JetStream publish to the topic's
//! stream (see [`crate::history`]), one message per publish so each gets
//! its own sequence. Those of one batch are sent in order without waiting
//! for each acknowledgement; the acknowledgements are awaited after the
//! batch, and failures reported.
//!
//! An append whose stream must be looked up first (the first append to a
//! topic from this node, or one after the stream was deleted) needs an
//! answer from the server. When none comes within [`LOOKUP_TIMEOUT`] (NATS
//! is down or reconnecting, or JetStream does not answer), the task waits
//! and asks again, holding that append and every append after it, until
//! [`RETRY_FOR`] after it first asked: a short outage loses no history, and
//! a topic's appends keep their order. Appends made meanwhile collect in
//! the append buffer, bounded; plain publishes are not held (they have
//! the publish task, [`crate::publish`]). Past that period, unanswered
//! appends are dropped and reported, each after one lookup, until the
//! server answers again. An append that was sent but not acknowledged is
//! not sent again: it may have been stored, and sending it twice would
//! give one message two positions.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_nats::jetstream::{self, context::PublishErrorKind};
use bytes::Bytes;
use crosswire::broker::{BrokerStage, HistoryBounds};

use crate::Inner;
use crate::history;

const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Longest wait for the answer to a stream lookup (the client's default,
/// 10 s, would hold every append that long per attempt).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);
/// The first wait before a stream is looked up again after no answer;
/// each further wait is twice as long, up to [`RETRY_MOST`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MOST: Duration = Duration::from_secs(2);
/// How long the task keeps asking before it drops the append and reports
/// it (the outage outlasted what the append buffer is meant to bridge).
const RETRY_FOR: Duration = Duration::from_secs(30);

/// One publish on a history topic, waiting to be appended to its stream.
#[derive(Debug)]
pub(crate) struct Append {
    pub(crate) log: history::Log,
    pub(crate) bounds: HistoryBounds,
    pub(crate) envelope: Bytes,
}

impl Append {
    /// What it costs of the append buffer's budget.
    pub(crate) fn cost(&self) -> usize {
        self.envelope.len() + self.log.subject.len() + self.log.stream.len()
    }
}

/// The waits between stream lookups that went unanswered: from the first
/// of them until the server answers one (success or refusal).
#[derive(Debug, Default)]
struct Retry {
    /// When the first unanswered lookup was asked.
    since: Option<Instant>,
    wait: Duration,
}

impl Retry {
    /// A lookup asked at `asked` went unanswered: how long to wait before
    /// asking again, or `None` once [`RETRY_FOR`] has passed since the
    /// first unanswered one was asked.
    fn next_wait(&mut self, asked: Instant, now: Instant) -> Option<Duration> {
        let since = *self.since.get_or_insert(asked);
        if now.duration_since(since) >= RETRY_FOR {
            return None;
        }
        self.wait = (self.wait * 2).clamp(RETRY_FIRST, RETRY_MOST);
        Some(self.wait)
    }

    /// The server answered a lookup.
    fn answered(&mut self) {
        *self = Self::default();
    }
}

/// What became of one append.
enum Appended {
    /// Sent: its acknowledgement is to be awaited.
    Sent(jetstream::context::PublishAckFuture),
    /// Dropped and counted in [`Failed`].
    Dropped,
    /// Its stream could not be looked up for want of an answer: it may be
    /// tried again.
    Unanswered(String),
}

/// Appends of one batch that failed: reported once per batch, not once
/// per append (a stopped server fails them all).
#[derive(Default)]
struct Failed {
    count: usize,
    first: Option<String>,
    /// Streams that could not be looked up: their other appends in the
    /// batch are dropped without trying again.
    streams: HashSet<String>,
}

impl Failed {
    fn add(&mut self, error: String) {
        self.count += 1;
        self.first.get_or_insert(error);
    }

    fn report(self, inner: &Inner) {
        if let Some(first) = self.first {
            inner.report(
                BrokerStage::History,
                format_args!(
                    "{} appends to history streams may be lost; the first: {first}",
                    self.count
                ),
            );
        }
    }
}

/// The JetStream contexts of the append task: one for appends, whose
/// acknowledgements wait as long as the client's default, and one for
/// stream lookups, which give up sooner and are asked again.
struct Contexts {
    publish: jetstream::Context,
    lookups: jetstream::Context,
}

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client) {
    let mut lookups = jetstream::new(client.clone());
    lookups.set_timeout(LOOKUP_TIMEOUT);
    let contexts = Contexts {
        publish: jetstream::new(client),
        lookups,
    };
    let mut batch: Vec<Append> = Vec::with_capacity(BATCH_ITEMS);
    let mut retry = Retry::default();
    loop {
        let mut acks = Vec::new();
        let mut failed = Failed::default();
        batch.clear();
        inner
            .appends
            .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
            .await;
        let mut rest = &batch[..];
        while let Some(append) = rest.first() {
            let asked = Instant::now();
            match append_one(&inner, &contexts, append, &mut retry, &mut failed).await {
                Appended::Sent(ack) => acks.push((append, ack)),
                Appended::Dropped => {}
                Appended::Unanswered(error) => {
                    if let Some(wait) = retry.next_wait(asked, Instant::now()) {
                        tracing::debug!(target: "crosswire::broker", ?wait, "{error}; asking again");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    failed.streams.insert(append.log.stream.clone());
                    failed.add(error);
                }
            }
            rest = &rest[1..];
        }
        // Awaited together: each ack's timeout starts when it is first
        // polled, so after a lost connection one at a time would cost the
        // whole timeout per append while every other append waits.
        let answers = futures_util::future::join_all(
            acks.drain(..)
                .map(|(append, ack)| async move { (append, ack.await) }),
        )
        .await;
        for (append, answer) in answers {
            if let Err(error) = answer {
                if error.kind() == PublishErrorKind::StreamNotFound {
                    // Deleted under us: the next append makes it again.
                    inner.streams.forget(&append.log.stream);
                }
                failed.add(format!("{}: not acknowledged: {error}", append.log.stream));
            }
        }
        failed.report(&inner);
    }
}

/// Sends one append, making the topic's stream first if it is not known to
/// exist.
async fn append_one(
    inner: &Inner,
    contexts: &Contexts,
    append: &Append,
    retry: &mut Retry,
    failed: &mut Failed,
) -> Appended {
    let stream = &append.log.stream;
    if !inner.streams.contains(stream) {
        if failed.streams.contains(stream) {
            failed.add(format!("{stream}: not found"));
            return Appended::Dropped;
        }
        let found = history::ensure(&contexts.lookups, &append.log, append.bounds).await;
        if let Err(error) = &found
            && error.unanswered
        {
            return Appended::Unanswered(error.to_string());
        }
        retry.answered();
        if let Err(error) = found {
            failed.streams.insert(stream.clone());
            failed.add(error.to_string());
            return Appended::Dropped;
        }
        inner.streams.insert(stream);
    }
    match contexts
        .publish
        .publish(append.log.subject.clone(), append.envelope.clone())
        .await
    {
        Ok(ack) => Appended::Sent(ack),
        Err(error) => {
            failed.add(format!("{stream}: not sent: {error}"));
            Appended::Dropped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_a_ceiling_and_end_after_the_retry_period() {
        let start = Instant::now();
        let mut retry = Retry::default();
        let waits: Vec<_> = (0..7).map(|_| retry.next_wait(start, start)).collect();
        let ms = |ms| Some(Duration::from_millis(ms));
        assert_eq!(waits[..5], [ms(100), ms(200), ms(400), ms(800), ms(1600)]);
        assert_eq!(waits[5..], [ms(2000), ms(2000)]);
        // The period counts from when the first unanswered lookup was
        // asked, not from when its timeout ran out.
        let later = start + RETRY_FOR - Duration::from_millis(1);
        assert_eq!(retry.next_wait(later, later), ms(2000));
        assert_eq!(retry.next_wait(later, start + RETRY_FOR), None);
        retry.answered();
        let again = start + RETRY_FOR * 2;
        assert_eq!(retry.next_wait(again, again + LOOKUP_TIMEOUT), ms(100));
    }
}
