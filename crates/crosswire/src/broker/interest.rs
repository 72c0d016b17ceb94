//! Interest changes waiting to reach a broker.
//!
//! The topic index tells the broker when a topic gets its first local
//! subscriber and loses its last one, while it holds its write lock, so the
//! calls must return at once. A broker records them here and its background
//! task applies them (`SUBSCRIBE`, `UNSUBSCRIBE`). Only the latest state per
//! topic is kept, so the map is bounded by the topics that changed since the
//! task last looked, and a topic that comes and goes in a burst costs one
//! command, not one per change.
//!
//! Changes are numbered: [`InterestChanges::settled`] waits until every
//! change recorded before it was applied ([`InterestChanges::applied`]),
//! which is how recovery knows that what is published from then on reaches
//! this node.
//!
//! While disconnected a broker may stop recording
//! ([`InterestChanges::set_recording`]): on reconnect it resubscribes from
//! [`BrokerLink::interest`](super::BrokerLink::interest) anyway, which is the
//! whole truth.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

/// The pending subscribe / unsubscribe changes of one broker connection.
#[derive(Debug)]
pub struct InterestChanges {
    /// Topic → subscribed, the latest state asked for.
    pending: Mutex<HashMap<String, bool>>,
    recording: AtomicBool,
    changed: Notify,
    /// Changes recorded so far (asked for, recorded or not).
    requested: AtomicU64,
    /// The number of the last change known to be in effect.
    applied: watch::Sender<u64>,
}

impl Default for InterestChanges {
    fn default() -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            recording: AtomicBool::new(true),
            changed: Notify::new(),
            requested: AtomicU64::new(0),
            applied: watch::Sender::new(0),
        }
    }
}

impl InterestChanges {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that `topic` is now (`true`) or no longer (`false`) wanted.
    /// Never waits.
    pub fn record(&self, topic: &str, subscribed: bool) {
        self.requested.fetch_add(1, Ordering::AcqRel);
        if !self.recording.load(Ordering::Acquire) {
            return;
        }
        self.lock().insert(topic.to_owned(), subscribed);
        self.changed.notify_one();
    }

    /// Takes every pending change, in no particular order (each topic at most
    /// once, with its latest state).
    pub fn take(&self) -> Vec<(String, bool)> {
        self.lock().drain().collect()
    }

    /// The number of the latest change asked for: read it before
    /// [`take`](InterestChanges::take) (or before reading the whole interest
    /// after a reconnect) and pass it to
    /// [`applied`](InterestChanges::applied) once what was taken is in
    /// effect.
    pub fn requested(&self) -> u64 {
        self.requested.load(Ordering::Acquire)
    }

    /// Every change up to number `upto` is in effect.
    pub fn applied(&self, upto: u64) {
        self.applied.send_if_modified(|applied| {
            let newer = upto > *applied;
            if newer {
                *applied = upto;
            }
            newer
        });
    }

    /// Resolves once every change recorded before the call is in effect.
    pub fn settled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let wanted = self.requested();
        let mut applied = self.applied.subscribe();
        async move {
            // The sender lives as long as the broker; if it is gone, nothing
            // will ever be applied and waiting longer is pointless.
            let _ = applied.wait_for(|applied| *applied >= wanted).await;
        }
    }

    /// Waits until a change is recorded (returns at once if one was recorded
    /// since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Turns recording on or off; turning it off forgets what is pending.
    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::Release);
        if !on {
            self.lock().clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_latest_state_of_a_topic_is_kept() {
        let changes = InterestChanges::default();
        changes.record("a", true);
        changes.record("b", true);
        changes.record("a", false);
        let mut taken = changes.take();
        taken.sort();
        assert_eq!(taken, [("a".to_owned(), false), ("b".to_owned(), true)]);
        assert!(changes.take().is_empty());
        changes.set_recording(false);
        changes.record("c", true);
        assert!(changes.take().is_empty());
    }

    #[tokio::test]
    async fn settled_waits_for_the_changes_recorded_before_it() {
        let changes = InterestChanges::default();
        changes.settled().await;
        changes.record("a", true);
        let upto = changes.requested();
        let settled = tokio::spawn(changes.settled());
        tokio::task::yield_now().await;
        assert!(!settled.is_finished());
        changes.applied(upto);
        settled.await.unwrap();
        changes.settled().await;
    }
}
