//! The publish task: moves plain publishes from the outgoing buffer into
//! the client's queue.
//!
//! `Client::publish` only waits when the client's own queue is full (the
//! server is slow, stopped or gone); meanwhile new publishes collect in the
//! outgoing buffer, bounded, and past it are dropped and counted.
//!
//! Appends to history topics have their own buffer and task (see
//! [`crate::append`]): an append may wait for JetStream to answer a stream
//! lookup, and plain pub/sub must not wait with it.

use std::sync::Arc;

use crosswire::broker::{BrokerStage, Envelope};

use crate::{Inner, Pending};

const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Most envelope bytes joined into one NATS message (see
/// [`Envelope::encode_batch`]), well under the server's default 1 MiB
/// `max_payload`.
const JOIN_BYTES: usize = 64 << 10;

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client) {
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH_ITEMS);
    loop {
        batch.clear();
        inner
            .outgoing
            .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
            .await;
        // Consecutive publishes to one subject go as one batch envelope:
        // one message for the server to route instead of one per publish.
        let runs = Envelope::join_runs(&batch, |p| &p.subject, |p| &p.envelope, JOIN_BYTES);
        for (run, message) in runs {
            if let Err(error) = client.publish(run[0].subject.clone(), message).await {
                inner.report(
                    BrokerStage::Publish,
                    format_args!("publish not sent: {error}"),
                );
            }
        }
    }
}
