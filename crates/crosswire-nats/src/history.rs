//! History in JetStream: one stream per history topic, whose sequence
//! numbers are the topic's offsets.
//!
//! A stream holds exactly one topic (one subject), so its sequence grows by
//! exactly one per appended message and is the same on every node: it is
//! assigned by the server that stores the stream, not by a publisher. The
//! stream's creation time names the epoch, so a stream deleted and created
//! again (by any node) starts a new epoch and old positions are recognised
//! as lost. JetStream bounds the stream itself: `max_msgs` is the rule's
//! `size`, `max_age` its `ttl`, `max_bytes` its `max_bytes`, discarding the
//! oldest.
//!
//! Streams use file storage: the history (and its epoch) then survives a
//! restart of the NATS server, so clients still recover across it. Memory
//! storage would be a little faster and would start a new epoch on every
//! server restart.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use crosswire::broker::{BrokerError, BrokerStage, HistoryBounds, HistoryPage};
use futures_util::{StreamExt, TryStreamExt};

use crate::subject::{subject, token};

/// Longest stream name this crate builds (the file store makes a directory
/// of it; file names are limited to 255 bytes).
const MAX_NAME: usize = 200;
/// Messages read at once by [`read`], one by one; more are fetched
/// through a consumer.
const READ_CONCURRENCY: usize = 32;

/// Where one topic's history lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Log {
    /// The stream's name.
    pub(crate) stream: String,
    /// The one subject the stream holds.
    pub(crate) subject: String,
}

impl Log {
    /// The stream and subject of `topic`'s history under `prefix`:
    /// `<prefix>.h.t<base64url(topic)>` and `<prefix>_H_<base64url(topic)>`
    /// (a prefix with characters a stream name may not hold is written in
    /// hex; a long name ends in a hash of the topic instead).
    pub(crate) fn of(prefix: &str, topic: &str) -> Self {
        let safe = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let prefix_name = if safe(prefix) {
            prefix.to_owned()
        } else {
            prefix.bytes().map(|b| format!("{b:02x}")).collect()
        };
        let mut stream = format!("{prefix_name}_H_{}", token(topic));
        if stream.len() > MAX_NAME {
            // Cut at a char boundary (the name is ASCII) and add the hash
            // and length of the whole topic.
            stream.truncate(MAX_NAME - 34);
            stream.push_str(&format!("-{:016x}{:016x}", fnv1a(topic), topic.len()));
        }
        Self {
            stream,
            subject: subject(&format!("{prefix}.h"), topic),
        }
    }

    /// The stream's configuration for these bounds.
    fn config(&self, bounds: HistoryBounds) -> stream::Config {
        let clamp = |n: usize| i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        stream::Config {
            name: self.stream.clone(),
            subjects: vec![self.subject.clone()],
            max_messages: clamp(bounds.size),
            max_bytes: if bounds.max_bytes == 0 {
                -1
            } else {
                clamp(bounds.max_bytes)
            },
            max_age: bounds.ttl,
            discard: stream::DiscardPolicy::Old,
            storage: stream::StorageType::File,
            num_replicas: 1,
            ..Default::default()
        }
    }
}

/// FNV-1a, 64 bits: a stable hash for names too long to hold the topic.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The epoch of a stream: its creation time in nanoseconds, in hex. Every
/// node reads the same value, and a stream made again gets a new one.
pub(crate) fn epoch(info: &stream::Info) -> String {
    format!("{:x}", info.created.unix_timestamp_nanos())
}

/// A stream, its epoch and its latest sequence when it was looked up.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) stream: stream::Stream,
    pub(crate) epoch: String,
    pub(crate) top: u64,
}

/// The streams known to exist, so publishes skip the lookup.
#[derive(Debug, Default)]
pub(crate) struct Known(Mutex<HashSet<String>>);

impl Known {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn contains(&self, stream: &str) -> bool {
        self.lock().contains(stream)
    }

    pub(crate) fn insert(&self, stream: &str) {
        let mut known = self.lock();
        // Bounded: forget everything rather than grow without end.
        if known.len() >= 65_536 {
            known.clear();
        }
        known.insert(stream.to_owned());
    }

    pub(crate) fn forget(&self, stream: &str) {
        self.lock().remove(stream);
    }
}

/// Why a stream could not be found or made.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct EnsureError {
    message: String,
    /// No answer came in time (the server is down or reconnecting; the
    /// client queues requests meanwhile): asking again later may succeed.
    /// Anything else (no JetStream, a stream of that name for other
    /// subjects, a refusal, a closed client) is an answer, or would fail
    /// again.
    pub(crate) unanswered: bool,
}

/// Finds `log`'s stream, creating it (a new epoch) when it does not exist.
pub(crate) async fn ensure(
    jetstream: &jetstream::Context,
    log: &Log,
    bounds: HistoryBounds,
) -> Result<Found, EnsureError> {
    use jetstream::context::CreateStreamErrorKind as Kind;
    let stream = jetstream
        .get_or_create_stream(log.config(bounds))
        .await
        .map_err(|e| EnsureError {
            unanswered: e.kind() == Kind::TimedOut,
            message: match e.kind() {
                Kind::JetStreamUnavailable => format!(
                    "stream {}: JetStream is not enabled on the NATS server (run nats-server with -js); history topics need it",
                    log.stream
                ),
                _ => format!("stream {}: {e}", log.stream),
            },
        })?;
    let info = stream.cached_info();
    if !info.config.subjects.contains(&log.subject) {
        return Err(EnsureError {
            message: format!(
                "stream {} exists for other subjects ({:?}), not {}",
                log.stream, info.config.subjects, log.subject
            ),
            unanswered: false,
        });
    }
    Ok(Found {
        epoch: epoch(info),
        top: info.state.last_sequence,
        stream,
    })
}

/// Reads `log`'s stream: epoch, latest sequence and the messages after
/// `after` (at most `bounds.size`, oldest first).
pub(crate) async fn read(
    jetstream: &jetstream::Context,
    log: &Log,
    topic: &str,
    after: u64,
    bounds: HistoryBounds,
) -> Result<HistoryPage, BrokerError> {
    let failed = |error: &dyn std::fmt::Display| {
        BrokerError::new(
            BrokerStage::History,
            format_args!("reading the history of {topic:?}: {error}"),
        )
    };
    let found = ensure(jetstream, log, bounds)
        .await
        .map_err(|e| failed(&e))?;
    let stream = &found.stream;
    let top = found.top;
    let mut entries = Vec::new();
    if after < top {
        let size = u64::try_from(bounds.size.max(1)).unwrap_or(u64::MAX);
        let first = (after + 1).max(top.saturating_sub(size) + 1);
        if top - first < READ_CONCURRENCY as u64 {
            get_each(stream, first, top, &mut entries)
                .await
                .map_err(|e| failed(&e))?;
        } else {
            fetch(stream, log, first, top, &mut entries)
                .await
                .map_err(|e| failed(&e))?;
        }
    }
    Ok(HistoryPage {
        epoch: found.epoch,
        top,
        entries,
    })
}

/// Reads `first..=top` one message at a time, [`READ_CONCURRENCY`] at
/// once: cheap for the server when a client missed little.
async fn get_each(
    stream: &stream::Stream,
    first: u64,
    top: u64,
    entries: &mut Vec<(u64, Bytes)>,
) -> Result<(), stream::RawMessageError> {
    let got: Vec<Option<(u64, Bytes)>> = futures_util::stream::iter(first..=top)
        .map(|sequence| async move {
            match stream.get_raw_message(sequence).await {
                Ok(message) => Ok(Some((sequence, message.payload))),
                // Removed since (age, size, or deleted): skipped.
                Err(error) if error.kind() == stream::RawMessageErrorKind::NoMessageFound => {
                    Ok(None)
                }
                Err(error) => Err(error),
            }
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    entries.extend(got.into_iter().flatten());
    Ok(())
}

/// Reads `first..=top` through a short-lived consumer: one request for
/// all of them, for a client that missed much.
async fn fetch(
    stream: &stream::Stream,
    log: &Log,
    first: u64,
    top: u64,
    entries: &mut Vec<(u64, Bytes)>,
) -> Result<(), async_nats::Error> {
    let config = consumer::pull::Config {
        deliver_policy: consumer::DeliverPolicy::ByStartSequence {
            start_sequence: first,
        },
        ack_policy: consumer::AckPolicy::None,
        filter_subject: log.subject.clone(),
        inactive_threshold: Duration::from_secs(5),
        memory_storage: true,
        num_replicas: 1,
        ..Default::default()
    };
    let reader = stream.create_consumer(config).await?;
    let count = usize::try_from(top - first + 1).unwrap_or(usize::MAX);
    let result = async {
        let mut messages = reader.fetch().max_messages(count).messages().await?;
        while let Some(message) = messages.next().await {
            let message = message?;
            let sequence = message.info()?.stream_sequence;
            if sequence > top {
                break;
            }
            entries.push((sequence, message.message.payload));
        }
        Ok::<_, async_nats::Error>(())
    }
    .await;
    // Not waited for: the server drops the consumer by itself soon anyway.
    let stream = stream.clone();
    let name = reader.cached_info().name.clone();
    tokio::spawn(async move {
        let _ = stream.delete_consumer(&name).await;
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_valid_and_distinct() {
        let long = "é".repeat(300);
        let mut seen = std::collections::HashSet::new();
        for (prefix, topic) in [
            ("app", "feed"),
            ("app", "feed2"),
            ("app", ""),
            ("app", "a.b c*>"),
            ("my.app", "feed"),
            ("app", &long[..]),
            ("app", &long[..598]),
        ] {
            let log = Log::of(prefix, topic);
            assert!(log.stream.len() <= MAX_NAME, "{}", log.stream);
            assert!(
                log.stream
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')),
                "{}",
                log.stream
            );
            assert!(log.subject.starts_with(&format!("{prefix}.h.t")));
            assert!(seen.insert(log.stream), "{prefix} {topic}");
        }
    }
}
