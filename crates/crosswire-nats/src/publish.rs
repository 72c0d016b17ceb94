//! The publish task: moves the outgoing buffer into the client's queue.
//!
//! `Client::publish` only waits when the client's own queue is full (the
//! server is slow, stopped or gone); meanwhile new publishes collect in the
//! outgoing buffer, bounded, and past it are dropped and counted.
//!
//! A publish to a history topic is a JetStream publish to the topic's
//! stream instead (see [`crate::history`]), one message per publish so each
//! gets its own sequence. Those of one batch are sent in order without
//! waiting for each acknowledgement; the acknowledgements are awaited after
//! the batch, and failures reported.

use std::collections::HashSet;
use std::sync::Arc;

use async_nats::jetstream::{self, context::PublishErrorKind};
use crosswire::broker::{BrokerStage, Envelope};

use crate::history;
use crate::{Inner, Pending};

const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Most envelope bytes joined into one NATS message (see
/// [`Envelope::encode_batch`]), well under the server's default 1 MiB
/// `max_payload`.
const JOIN_BYTES: usize = 64 << 10;

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

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client) {
    let jetstream = jetstream::new(client.clone());
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH_ITEMS);
    loop {
        let mut acks = Vec::new();
        let mut failed = Failed::default();
        batch.clear();
        inner
            .outgoing
            .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
            .await;
        let mut rest = &batch[..];
        while let Some(first) = rest.first() {
            if let Some(append) = &first.append {
                if let Some(ack) = append_one(&inner, &jetstream, first, append, &mut failed).await
                {
                    acks.push((append, ack));
                }
                rest = &rest[1..];
                continue;
            }
            let plain = rest.iter().take_while(|p| p.append.is_none()).count();
            // Consecutive publishes to one subject go as one batch envelope:
            // one message for the server to route instead of one per publish.
            let runs =
                Envelope::join_runs(&rest[..plain], |p| &p.subject, |p| &p.envelope, JOIN_BYTES);
            for (run, message) in runs {
                if let Err(error) = client.publish(run[0].subject.clone(), message).await {
                    inner.report(
                        BrokerStage::Publish,
                        format_args!("publish not sent: {error}"),
                    );
                }
            }
            rest = &rest[plain..];
        }
        // Awaited together: each ack's timeout starts when it is first
        // polled, so after a lost connection one at a time would cost the
        // whole timeout per append while every other publish waits.
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
/// exist. Returns the acknowledgement to wait for.
async fn append_one(
    inner: &Inner,
    jetstream: &jetstream::Context,
    pending: &Pending,
    append: &crate::Append,
    failed: &mut Failed,
) -> Option<jetstream::context::PublishAckFuture> {
    let stream = &append.log.stream;
    if !inner.streams.contains(stream) {
        if failed.streams.contains(stream) {
            failed.add(format!("{stream}: not found"));
            return None;
        }
        match history::ensure(jetstream, &append.log, append.bounds).await {
            Ok(_) => inner.streams.insert(stream),
            Err(error) => {
                failed.streams.insert(stream.clone());
                failed.add(error);
                return None;
            }
        }
    }
    match jetstream
        .publish(append.log.subject.clone(), pending.envelope.clone())
        .await
    {
        Ok(ack) => Some(ack),
        Err(error) => {
            failed.add(format!("{stream}: not sent: {error}"));
            None
        }
    }
}
