//! Every history topic's log on this node: found (or started) by topic name
//! on each publish to a topic a rule names.
//!
//! Each topic log has its own epoch, drawn when the log starts: a random
//! prefix per store (so a restarted process never reuses one) and a counter
//! per log (so a topic whose idle log was dropped starts a new epoch, and
//! a position from the old one is reported as lost rather than misread).
//!
//! A topic's log lock is what orders its publishes: the offset is assigned,
//! the entry appended and the message queued for every local subscriber
//! under it (see `publish.rs`), so every subscriber sees offsets in
//! increasing order. Lock order: a topic log, then a topic shard, then a
//! subscriber's queue. Nothing awaits under any of them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::ring::Ring;
use super::rules::Rules;
use crate::config::HistoryConfig;

/// Logs are swept for idle ones at most this often, when a new log starts:
/// topics named by clients (`room:*`) must not pile up, and a sweep walks
/// every log, so it is not done per publish.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Numbers stores, so a thread's cached log is never taken for another
/// store's (several servers may run in one process).
static NEXT_STORE: AtomicU64 = AtomicU64::new(1);

/// The log a thread looked up last, and what it was looked up in.
struct LastLog {
    store: u64,
    generation: u64,
    topic: Box<str>,
    log: Arc<TopicLog>,
}

thread_local! {
    /// A worker publishes to the same topic over and over (a busy room):
    /// the log found last is tried first, so those publishes skip the rules
    /// and the store's lock, which every worker would otherwise contend for.
    static LAST_LOG: RefCell<Option<LastLog>> = const { RefCell::new(None) };
}

/// One topic's history: its ring, behind the lock that orders the topic's
/// publishes.
#[derive(Debug)]
pub(crate) struct TopicLog {
    ring: Mutex<Ring>,
    /// For a topic the broker sequences: one more than the broker's follow
    /// generation in which the ring was last read back from the broker and
    /// has since received every live message (0: never). Only then may a
    /// recovery be served from the ring alone (see `sequenced.rs`).
    live_since: AtomicU64,
}

impl TopicLog {
    /// True when the ring holds every message of the broker's log from its
    /// first entry on, as of follow generation `generation`.
    pub(crate) fn is_live(&self, generation: u64) -> bool {
        self.live_since.load(Ordering::Acquire) == generation + 1
    }

    /// Marks the ring complete as of follow generation `generation`.
    pub(crate) fn set_live(&self, generation: u64) {
        self.live_since.store(generation + 1, Ordering::Release);
    }

    /// Locks the ring. Held while a publish is assigned its offset and
    /// queued, and while a recovering subscriber is replayed and joined.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Ring> {
        // The ring is consistent between statements; a panic in a payload
        // builder (run under this lock) leaves it as it was.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Logs {
    by_topic: HashMap<Arc<str>, Arc<TopicLog>>,
    last_sweep: Instant,
}

/// The history of every topic of this node that a `[[history]]` rule names.
#[derive(Debug)]
pub(crate) struct HistoryStore {
    rules: Rules,
    /// Random per store: a restart gives every topic a new epoch.
    prefix: String,
    /// Numbers the logs this store starts.
    next_log: AtomicU64,
    /// True when the broker keeps the history: rings then mirror the
    /// broker's logs and take their epochs from it.
    sequenced: bool,
    /// This store's number (see `NEXT_STORE`).
    id: u64,
    /// Grows whenever a log is dropped, so a thread's cached log is known
    /// to be stale.
    generation: AtomicU64,
    logs: Mutex<Logs>,
}

impl Default for HistoryStore {
    fn default() -> Self {
        Self::new(&[], false)
    }
}

impl HistoryStore {
    pub(crate) fn new(configs: &[HistoryConfig], sequenced: bool) -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            rules: Rules::new(configs),
            prefix: random.get(..12).unwrap_or(&random).to_owned(),
            next_log: AtomicU64::new(1),
            sequenced,
            id: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            logs: Mutex::new(Logs {
                by_topic: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Logs> {
        self.logs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when no topic keeps history; the publish path asks this first.
    pub(crate) fn is_off(&self) -> bool {
        self.rules.is_empty()
    }

    /// True when the broker keeps the history (see `sequenced.rs`).
    pub(crate) fn is_sequenced(&self) -> bool {
        self.sequenced
    }

    /// The bounds of `topic`'s history; `None` when no rule names it.
    pub(crate) fn bounds(&self, topic: &str) -> Option<super::rules::Bounds> {
        self.rules.bounds(topic)
    }

    /// The log of `topic`, started now if it has none yet; `None` when no
    /// rule names the topic.
    pub(crate) fn log(&self, topic: &str) -> Option<Arc<TopicLog>> {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = LAST_LOG.with_borrow(|last| {
            last.as_ref()
                .filter(|last| {
                    last.store == self.id && last.generation == generation && *last.topic == *topic
                })
                .map(|last| Arc::clone(&last.log))
        });
        if cached.is_some() {
            return cached;
        }
        let log = self.find(topic)?;
        LAST_LOG.set(Some(LastLog {
            store: self.id,
            generation,
            topic: Box::from(topic),
            log: Arc::clone(&log),
        }));
        Some(log)
    }

    /// [`log`](Self::log) without the thread's cache.
    fn find(&self, topic: &str) -> Option<Arc<TopicLog>> {
        let bounds = self.rules.bounds(topic)?;
        let now = Instant::now();
        let mut logs = self.lock();
        if let Some(log) = logs.by_topic.get(topic) {
            return Some(Arc::clone(log));
        }
        if now.saturating_duration_since(logs.last_sweep) >= SWEEP_EVERY {
            logs.last_sweep = now;
            let before = logs.by_topic.len();
            // A log whose lock is held is busy, hence not idle.
            logs.by_topic.retain(|_, log| match log.ring.try_lock() {
                Ok(mut ring) => ring.has_gates() || !ring.is_idle(now),
                Err(_) => true,
            });
            if logs.by_topic.len() != before {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
        }
        let epoch: Arc<str> = if self.sequenced {
            // Unknown until the broker's first message or read.
            Arc::from("")
        } else {
            let number = self.next_log.fetch_add(1, Ordering::Relaxed);
            Arc::from(format!("{}-{number}", self.prefix))
        };
        let log = Arc::new(TopicLog {
            ring: Mutex::new(Ring::new(epoch, bounds, now)),
            live_since: AtomicU64::new(0),
        });
        logs.by_topic.insert(Arc::from(topic), Arc::clone(&log));
        Some(log)
    }

    /// Topic logs kept, and entries and bytes they hold together.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize, usize) {
        let logs: Vec<_> = self.lock().by_topic.values().cloned().collect();
        let (entries, bytes) = logs.iter().fold((0, 0), |(e, b), log| {
            let (entries, bytes) = log.lock().usage();
            (e + entries, b + bytes)
        });
        (logs.len(), entries, bytes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::history::ring::ENTRY_OVERHEAD;
    use crate::pubsub::Publication;
    use crate::ws::outbox::OutFrame;

    fn fill(store: &HistoryStore, topic: &str, count: usize, payload: &'static [u8]) {
        let log = store.log(topic).unwrap();
        let now = Instant::now();
        let mut ring = log.lock();
        for _ in 0..count {
            let frame = OutFrame::new(OpCode::Text, Bytes::from_static(payload));
            ring.push(Arc::new(Publication::new(frame)), now);
        }
    }

    /// The figure the README gives: a full default topic of 100-byte chat
    /// messages, as counted against `max_bytes`.
    #[test]
    fn memory_per_topic_is_what_the_bounds_allow() {
        let store = HistoryStore::new(&[HistoryConfig::for_topics(["chat", "room:*"])], false);
        fill(&store, "chat", 250, &[b'x'; 100]);
        let (topics, entries, bytes) = store.usage();
        assert_eq!((topics, entries), (1, 100));
        // A 100-byte payload is a 102-byte frame; each entry counts it twice
        // plus the fixed overhead.
        assert_eq!(bytes, 100 * (2 * 102 + ENTRY_OVERHEAD));
        // Large messages stop at the byte budget.
        fill(&store, "room:big", 100, &[b'y'; 60_000]);
        let big = store.log("room:big").unwrap();
        let (kept, big_bytes) = big.lock().usage();
        assert!(
            big_bytes <= 1 << 20 && kept == 8,
            "{kept} entries, {big_bytes} bytes"
        );
        assert!(store.log("other").is_none());
    }

    #[test]
    fn every_topic_log_has_its_own_epoch_and_a_new_store_new_ones() {
        let store = HistoryStore::new(&[HistoryConfig::for_topics(["*"])], false);
        let epoch = |log: &TopicLog| Arc::clone(log.lock().epoch());
        let a = store.log("a").unwrap();
        let b = store.log("b").unwrap();
        assert_ne!(epoch(&a), epoch(&b));
        assert!(Arc::ptr_eq(&a, &store.log("a").unwrap()));
        let restarted = HistoryStore::new(&[HistoryConfig::for_topics(["*"])], false);
        assert_ne!(epoch(&restarted.log("a").unwrap()), epoch(&a));
    }
}
