//! The publish task: drains the outgoing buffer as pipelines of `PUBLISH`.

use std::sync::Arc;

use crosswire::broker::{BrokerStage, Envelope};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::{CONNECT_TIMEOUT, Inner, Pending, RETRY};

/// Most publishes in one pipeline: enough to amortise the round trip, small
/// enough that one batch lost with a dying connection is a small loss.
const BATCH_ITEMS: usize = 1024;
/// Most bytes in one pipeline (at least one publish is always sent).
const BATCH_BYTES: usize = 1 << 20;
/// Most envelope bytes joined into one `PUBLISH` (see [`Envelope::encode_batch`]).
const JOIN_BYTES: usize = 64 << 10;

/// Opens the publishing connection. No response timeout: a pipeline that
/// timed out might still run later, behind newer publishes sent on a new
/// connection, which would reorder them.
pub(crate) async fn connect(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None);
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    // Loads the history script, which pipelines then call by its hash; it
    // doubles as the check that the server answers.
    let mut command = redis::cmd("SCRIPT");
    command.arg("LOAD").arg(crate::history::APPEND);
    let load = command.query_async::<String>(&mut connection);
    match tokio::time::timeout(CONNECT_TIMEOUT, load).await {
        Ok(result) => result.map(|_| connection),
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer to PING",
        ))),
    }
}

/// One pipeline for a batch, in order: runs of plain publishes, and one
/// call of the history script per publish to a history topic.
fn pipeline(batch: &[Pending], append_hash: &str) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    let mut rest = batch;
    while let Some(first) = rest.first() {
        if let Some(append) = &first.append {
            pipe.cmd("EVALSHA")
                .arg(append_hash)
                .arg(2)
                .arg(&append.log[..])
                .arg(&append.meta[..])
                .arg(&first.channel[..])
                .arg(&first.envelope[..])
                .arg(append.size)
                .arg(append.ttl_ms)
                .arg(append.meta_ttl_ms)
                .arg(&append.epoch)
                .ignore();
            rest = &rest[1..];
            continue;
        }
        let plain = rest.iter().take_while(|p| p.append.is_none()).count();
        // Consecutive publishes to one channel go as one batch envelope:
        // Redis then handles one command and one message per run instead
        // of one per publish, which is what bounds a busy room.
        let runs = Envelope::join_runs(&rest[..plain], |p| &p.channel, |p| &p.envelope, JOIN_BYTES);
        for (first, message) in runs {
            pipe.cmd("PUBLISH")
                .arg(&first.channel[..])
                .arg(&message[..])
                .ignore();
        }
        rest = &rest[plain..];
    }
    pipe
}

pub(crate) async fn run(inner: Arc<Inner>, mut connection: Option<MultiplexedConnection>) {
    let append_hash = redis::Script::new(crate::history::APPEND)
        .get_hash()
        .to_owned();
    let mut batch = Vec::with_capacity(BATCH_ITEMS);
    // True from the first failed connection attempt to the next success, so
    // an outage is reported once, not once per retry.
    let mut outage = false;
    loop {
        let mut live = match connection.take() {
            Some(live) => live,
            None => match connect(&inner.client).await {
                Ok(live) => {
                    if outage {
                        tracing::info!(target: "crosswire::broker", "publishing connection to Redis restored");
                    }
                    outage = false;
                    live
                }
                Err(error) => {
                    if !outage {
                        inner.report(
                            BrokerStage::Connect,
                            format_args!("publishing connection: {error}"),
                        );
                    }
                    outage = true;
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            },
        };
        loop {
            batch.clear();
            inner
                .outgoing
                .next_batch(&mut batch, BATCH_ITEMS, BATCH_BYTES)
                .await;
            let pipe = pipeline(&batch, &append_hash);
            if let Err(error) = pipe.query_async::<()>(&mut live).await {
                inner.report(
                    BrokerStage::Publish,
                    format_args!("{} publishes may be lost: {error}", batch.len()),
                );
                break;
            }
        }
    }
}
