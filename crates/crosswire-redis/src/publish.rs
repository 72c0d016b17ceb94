//! The publish task: drains the outgoing buffer as pipelines of `PUBLISH`.

use std::collections::HashSet;
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
    match tokio::time::timeout(CONNECT_TIMEOUT, load_script(&mut connection)).await {
        Ok(result) => result.map(|_| connection),
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer to PING",
        ))),
    }
}

/// Loads the history script on the server `connection` talks to.
async fn load_script(connection: &mut MultiplexedConnection) -> redis::RedisResult<()> {
    let mut command = redis::cmd("SCRIPT");
    command.arg("LOAD").arg(crate::history::APPEND);
    command.query_async::<String>(connection).await.map(drop)
}

/// The batch entries one command of a pipeline carries: `start..start+len`.
#[derive(Debug, Clone, Copy)]
struct Carries {
    start: usize,
    len: usize,
}

/// Adds the history script's call for `pending` (a publish to a history
/// topic) to `pipe`.
fn append_command(pipe: &mut redis::Pipeline, pending: &Pending, append_hash: &str) {
    let Some(append) = &pending.append else {
        return;
    };
    pipe.cmd("EVALSHA")
        .arg(append_hash)
        .arg(2)
        .arg(&append.log[..])
        .arg(&append.meta[..])
        .arg(&pending.channel[..])
        .arg(&pending.envelope[..])
        .arg(append.size)
        .arg(append.ttl_ms)
        .arg(append.meta_ttl_ms)
        .arg(&append.epoch);
}

/// One pipeline for a batch, in order: runs of plain publishes, and one
/// call of the history script per publish to a history topic; with, for
/// each command, the batch entries it carries.
fn pipeline(batch: &[Pending], append_hash: &str) -> (redis::Pipeline, Vec<Carries>) {
    let mut pipe = redis::pipe();
    let mut carries = Vec::new();
    let mut start = 0;
    while let Some(first) = batch.get(start) {
        if first.append.is_some() {
            append_command(&mut pipe, first, append_hash);
            carries.push(Carries { start, len: 1 });
            start += 1;
            continue;
        }
        let rest = &batch[start..];
        let plain = rest.iter().take_while(|p| p.append.is_none()).count();
        // Consecutive publishes to one channel go as one batch envelope:
        // Redis then handles one command and one message per run instead
        // of one per publish, which is what bounds a busy room.
        let runs = Envelope::join_runs(&rest[..plain], |p| &p.channel, |p| &p.envelope, JOIN_BYTES);
        for (run, message) in runs {
            pipe.cmd("PUBLISH")
                .arg(&run[0].channel[..])
                .arg(&message[..]);
            carries.push(Carries {
                start,
                len: run.len(),
            });
            start += run.len();
        }
    }
    debug_assert_eq!(start, batch.len(), "every publish carried once");
    (pipe, carries)
}

/// Publishes Redis refused, and the first reason it gave.
#[derive(Default)]
struct Refused {
    count: usize,
    first: Option<redis::RedisError>,
}

impl Refused {
    fn add(&mut self, count: usize, error: redis::RedisError) {
        self.count += count;
        self.first.get_or_insert(error);
    }
}

/// Sends `batch` as one pipeline. A command Redis refuses (out of memory,
/// say) loses what it carries, and is reported; the others ran, and the
/// connection stays. A history call refused because Redis no longer has
/// the script (`SCRIPT FLUSH`, or a failover to a server that never loaded
/// it) ran nothing: it is sent again once the script is loaded, unless a
/// later append to the same topic in this pipeline went through (another
/// connection may load the script mid-pipeline), which it must not follow.
/// An error returned means the connection failed: what had no answer may
/// be lost.
async fn send(
    live: &mut MultiplexedConnection,
    batch: &[Pending],
    append_hash: &str,
    inner: &Inner,
) -> redis::RedisResult<()> {
    let (mut pipe, carries) = pipeline(batch, append_hash);
    let answers: Vec<redis::RedisResult<redis::Value>> =
        pipe.ignore_errors().query_async(live).await?;
    let (mut refused, again) = sort_answers(batch, &carries, answers);
    if !again.is_empty() {
        load_script(live).await?;
        let mut pipe = redis::pipe();
        for &index in &again {
            append_command(&mut pipe, &batch[index], append_hash);
        }
        let answers: Vec<redis::RedisResult<redis::Value>> =
            pipe.ignore_errors().query_async(live).await?;
        for answer in answers {
            if let Err(error) = answer {
                refused.add(1, error);
            }
        }
    }
    if let Some(error) = refused.first {
        inner.report(
            BrokerStage::Publish,
            format_args!("{} publishes refused by Redis: {error}", refused.count),
        );
    }
    Ok(())
}

/// Sorts a pipeline's answers: what Redis refused, and the history calls
/// (their batch index, in order) to send again once the script is back,
/// those refused for want of it with no later append to their topic in the
/// pipeline.
fn sort_answers(
    batch: &[Pending],
    carries: &[Carries],
    answers: Vec<redis::RedisResult<redis::Value>>,
) -> (Refused, Vec<usize>) {
    let mut refused = Refused::default();
    let mut again = Vec::new();
    // Backwards, so each refused append knows whether a later one to its
    // topic got in.
    let mut appended_later: HashSet<&[u8]> = HashSet::new();
    for (answer, carried) in answers.into_iter().zip(carries).rev() {
        let log = batch[carried.start]
            .append
            .as_ref()
            .map(|append| &append.log[..]);
        match (answer, log) {
            (Ok(_), Some(log)) => {
                appended_later.insert(log);
            }
            (Ok(_), None) => {}
            (Err(error), Some(log))
                if error.kind() == NO_SCRIPT && !appended_later.contains(log) =>
            {
                again.push(carried.start);
            }
            (Err(error), _) => refused.add(carried.len, error),
        }
    }
    again.reverse();
    (refused, again)
}

/// The answer to a script call the server does not have.
const NO_SCRIPT: redis::ErrorKind = redis::ErrorKind::Server(redis::ServerErrorKind::NoScript);

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
            if let Err(error) = send(&mut live, &batch, &append_hash, &inner).await {
                inner.report(
                    BrokerStage::Publish,
                    format_args!("{} publishes may be lost: {error}", batch.len()),
                );
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::history::Append;

    fn plain(channel: &str) -> Pending {
        Pending {
            channel: channel.as_bytes().to_vec(),
            envelope: Bytes::from_static(b"e"),
            append: None,
        }
    }

    fn append(log: &str) -> Pending {
        Pending {
            channel: log.as_bytes().to_vec(),
            envelope: Bytes::from_static(b"e"),
            append: Some(Append {
                log: log.as_bytes().to_vec(),
                meta: Vec::new(),
                size: 10,
                ttl_ms: 1000,
                meta_ttl_ms: 1000,
                epoch: String::new(),
            }),
        }
    }

    fn no_script() -> redis::RedisResult<redis::Value> {
        Err(redis::RedisError::from((NO_SCRIPT, "NOSCRIPT")))
    }

    fn ok() -> redis::RedisResult<redis::Value> {
        Ok(redis::Value::Int(1))
    }

    #[test]
    fn appends_refused_for_a_lost_script_go_again_unless_their_topic_moved_on() {
        // a1 b1 (plain p) a2 b2: the script came back between a2 and b2.
        let batch = [
            append("a"),
            append("b"),
            plain("p"),
            append("a"),
            append("b"),
        ];
        let (_, carries) = pipeline(&batch, "hash");
        assert_eq!(carries.len(), 5);
        let answers = vec![no_script(), no_script(), ok(), no_script(), ok()];
        let (refused, again) = sort_answers(&batch, &carries, answers);
        // Both of "a" go again, in order; "b"'s first must not follow b2.
        assert_eq!(again, [0, 3]);
        assert_eq!(refused.count, 1);
    }

    #[test]
    fn other_refusals_lose_what_their_command_carried() {
        let batch = [plain("p"), plain("p"), append("a"), plain("q")];
        let (_, carries) = pipeline(&batch, "hash");
        // The two publishes to "p" went as one command.
        assert_eq!(carries.len(), 3);
        let oom = || {
            Err(redis::RedisError::from((
                redis::ErrorKind::Extension,
                "OOM",
            )))
        };
        let (refused, again) = sort_answers(&batch, &carries, vec![oom(), oom(), ok()]);
        assert!(again.is_empty());
        assert_eq!(refused.count, 3);
    }
}
