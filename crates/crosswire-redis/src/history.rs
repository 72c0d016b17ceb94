//! History in Redis: one stream and one hash per topic, written and read by
//! Lua scripts so that positions are assigned in one place for every node.
//!
//! - `<prefix>:history:{<topic>}:meta`, a hash: `e`, the epoch (drawn by
//!   the first node that writes or reads the topic's history), and `o`, the
//!   latest offset.
//! - `<prefix>:history:{<topic>}:log`, a stream: entry `0-<offset>` holds
//!   the envelope (`m`) and the time it was appended in ms (`t`), capped at
//!   `size` entries with `MAXLEN`.
//!
//! The append script increments the offset, adds the entry and `PUBLISH`es
//! the positioned message on the topic's channel, atomically: every node
//! subscribed to the channel receives the topic's messages in offset order
//! (Redis runs one script at a time and delivers a channel's messages in
//! order). Both keys expire when the topic is idle: the log after `ttl`,
//! the hash after a day (or `ttl`, if longer). A lost hash (expired,
//! flushed) means a new epoch, and the log is started again with it, so an
//! old position is reported lost, never misread. The hash tag (`{topic}`)
//! keeps both keys in one slot of a cluster.
//!
//! Redis bounds the log by `size` and `ttl`; `max_bytes` bounds each node's
//! copy only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use crosswire::broker::{BrokerError, BrokerStage, HistoryBounds, HistoryPage};
use redis::Value;

use crate::Inner;

/// Appends one envelope: `KEYS` log, meta; `ARGV` channel, envelope, size,
/// ttl in ms, meta ttl in ms, a fresh epoch in case the topic has none.
pub(crate) const APPEND: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
  redis.call('DEL', KEYS[1])
end
local offset = redis.call('HINCRBY', KEYS[2], 'o', 1)
local now = redis.call('TIME')
local ms = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '0-' .. offset, 'm', ARGV[2], 't', ms)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[1], 'CWP1 ' .. epoch .. ' ' .. offset .. '\n' .. ARGV[2])
return offset
";

/// Reads the history after an offset: `KEYS` log, meta; `ARGV` after, ttl
/// in ms, most entries, meta ttl in ms, a fresh epoch in case the topic has
/// none. Returns the epoch, the latest offset, then id and envelope of
/// each entry younger than ttl.
const READ: &str = r"
local epoch = redis.call('HGET', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  redis.call('DEL', KEYS[1])
end
local top = tonumber(redis.call('HGET', KEYS[2], 'o') or '0')
local out = {epoch, top}
if tonumber(ARGV[1]) < top then
  local now = redis.call('TIME')
  local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2])
  local entries = redis.call('XRANGE', KEYS[1], '(0-' .. ARGV[1], '+', 'COUNT', ARGV[3])
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    local m, t
    for i = 1, #fields, 2 do
      if fields[i] == 'm' then m = fields[i + 1] elseif fields[i] == 't' then t = tonumber(fields[i + 1]) end
    end
    if m and t and t >= cutoff then
      table.insert(out, entry[1])
      table.insert(out, m)
    end
  end
end
return out
";

/// How long a topic's epoch and offset outlive its last publish (at least).
const META_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What an append needs besides the channel and the envelope.
#[derive(Debug)]
pub(crate) struct Append {
    pub(crate) log: Vec<u8>,
    pub(crate) meta: Vec<u8>,
    pub(crate) size: usize,
    pub(crate) ttl_ms: u64,
    pub(crate) meta_ttl_ms: u64,
    pub(crate) epoch: String,
}

/// Draws epochs: a random prefix per process and a counter, so no two
/// candidates are ever the same (a flushed topic must get a new epoch even
/// if this process started the old one).
#[derive(Debug)]
pub(crate) struct Epochs {
    prefix: String,
    next: AtomicU64,
}

impl Epochs {
    pub(crate) fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            prefix: random.get(..12).unwrap_or(&random).to_owned(),
            next: AtomicU64::new(1),
        }
    }

    pub(crate) fn draw(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl Inner {
    /// The keys of `topic`'s history: its log and its meta hash.
    fn history_keys(&self, topic: &str) -> (Vec<u8>, Vec<u8>) {
        let base = format!("{}:history:{{{topic}}}:", self.prefix);
        (
            format!("{base}log").into_bytes(),
            format!("{base}meta").into_bytes(),
        )
    }

    /// What appending to `topic`'s history takes.
    pub(crate) fn append(&self, topic: &str, bounds: HistoryBounds) -> Append {
        let (log, meta) = self.history_keys(topic);
        let ttl_ms = millis(bounds.ttl);
        Append {
            log,
            meta,
            size: bounds.size.max(1),
            ttl_ms,
            meta_ttl_ms: ttl_ms.max(millis(META_TTL)),
            epoch: self.epochs.draw(),
        }
    }

    /// Reads `topic`'s history after `after`.
    pub(crate) async fn read_history(
        &self,
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
        let mut connection = self.reader().await.map_err(|e| failed(&e))?;
        let (log, meta) = self.history_keys(topic);
        let ttl_ms = millis(bounds.ttl);
        let script = redis::Script::new(READ);
        let mut invocation = script.key(log);
        invocation
            .key(meta)
            .arg(after)
            .arg(ttl_ms)
            .arg(bounds.size.max(1))
            .arg(ttl_ms.max(millis(META_TTL)))
            .arg(self.epochs.draw());
        // A read is safe to repeat, so one that takes too long gives up its
        // connection: one whose far end went silent would otherwise be
        // kept, and fail every read after it, until the kernel gave up on
        // it many minutes later.
        let answer = tokio::time::timeout(READ_TIMEOUT, invocation.invoke_async(&mut connection));
        let value: Value = match answer.await {
            Ok(Ok(value)) => value,
            Ok(Err(error)) => {
                self.drop_reader();
                return Err(failed(&error));
            }
            Err(_) => {
                self.drop_reader();
                return Err(failed(&"Redis did not answer in time"));
            }
        };
        page(value).ok_or_else(|| failed(&"unexpected reply"))
    }
}

/// How long a history read may wait for Redis's answer (the reader of the
/// history gives up a little later, at 5 s).
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// The page a read script's reply describes.
fn page(value: Value) -> Option<HistoryPage> {
    let Value::Array(items) = value else {
        return None;
    };
    let mut items = items.into_iter();
    let epoch = match items.next()? {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok()?,
        _ => return None,
    };
    let top = match items.next()? {
        Value::Int(top) => u64::try_from(top).ok()?,
        _ => return None,
    };
    let mut entries = Vec::new();
    while let Some(id) = items.next() {
        let (Value::BulkString(id), Some(Value::BulkString(envelope))) = (id, items.next()) else {
            return None;
        };
        let offset = std::str::from_utf8(&id)
            .ok()?
            .strip_prefix("0-")?
            .parse()
            .ok()?;
        entries.push((offset, Bytes::from(envelope)));
    }
    Some(HistoryPage {
        epoch,
        top,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_reply_becomes_a_page_and_anything_else_is_refused() {
        let reply = Value::Array(vec![
            Value::BulkString(b"abc-1".to_vec()),
            Value::Int(7),
            Value::BulkString(b"0-6".to_vec()),
            Value::BulkString(b"six".to_vec()),
            Value::BulkString(b"0-7".to_vec()),
            Value::BulkString(b"seven".to_vec()),
        ]);
        assert_eq!(
            page(reply),
            Some(HistoryPage {
                epoch: "abc-1".into(),
                top: 7,
                entries: vec![(6, Bytes::from("six")), (7, Bytes::from("seven"))],
            })
        );
        let odd = Value::Array(vec![
            Value::BulkString(b"e".to_vec()),
            Value::Int(1),
            Value::BulkString(b"0-1".to_vec()),
        ]);
        assert_eq!(page(odd), None);
        assert_eq!(page(Value::Nil), None);
    }
}
