//! The publish task: moves the outgoing buffer into the client's queue.
//!
//! `Client::publish` only waits when the client's own queue is full (the
//! server is slow, stopped or gone); meanwhile new publishes collect in the
//! outgoing buffer, bounded, and past it are dropped and counted.

use std::sync::Arc;

use crosswire::broker::BrokerStage;

use crate::Inner;

const BATCH_ITEMS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;

pub(crate) async fn run(inner: Arc<Inner>, client: async_nats::Client) {
    let mut batch = Vec::with_capacity(BATCH_ITEMS);
    loop {
        batch.clear();
        inner
            .outgoing
            .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
            .await;
        for pending in batch.drain(..) {
            if let Err(error) = client.publish(pending.subject, pending.envelope).await {
                inner.report(
                    BrokerStage::Publish,
                    format_args!("publish not sent: {error}"),
                );
            }
        }
    }
}
