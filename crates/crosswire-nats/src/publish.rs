//! The publish task: moves the outgoing buffer into the client's queue.
//!
//! `Client::publish` only waits when the client's own queue is full (the
//! server is slow, stopped or gone); meanwhile new publishes collect in the
//! outgoing buffer, bounded, and past it are dropped and counted.

use std::sync::Arc;

use crosswire::broker::{BrokerStage, Envelope};

use crate::Inner;

const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Most envelope bytes joined into one NATS message (see
/// [`Envelope::encode_batch`]), well under the server's default 1 MiB
/// `max_payload`.
const JOIN_BYTES: usize = 64 << 10;

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client) {
    let mut batch = Vec::with_capacity(BATCH_ITEMS);
    loop {
        batch.clear();
        inner
            .outgoing
            .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
            .await;
        // Consecutive publishes to one subject go as one batch envelope:
        // one message for the server to route instead of one per publish.
        let runs = Envelope::join_runs(&batch, |p| &p.subject, |p| &p.envelope, JOIN_BYTES);
        for (first, message) in runs {
            if let Err(error) = client.publish(first.subject.clone(), message).await {
                inner.report(
                    BrokerStage::Publish,
                    format_args!("publish not sent: {error}"),
                );
            }
        }
    }
}
