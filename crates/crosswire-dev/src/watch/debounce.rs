//! Turning a burst of file events into one change.
//!
//! Saving one file is often several events (write to a temporary file,
//! rename, change the timestamps), and "save all" or a `git checkout` is
//! hundreds. A rebuild per event would be wasted work, so the watcher waits
//! until events stop for a short `quiet` spell, but never longer than `max`
//! after the first one, so a process that keeps writing cannot postpone the
//! rebuild forever.

use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How long events must stop before a change is taken: long enough for an
/// editor's write-and-rename, short enough not to be felt.
pub(crate) const QUIET: Duration = Duration::from_millis(80);

/// The longest a change waits from its first event.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(800);

/// Waits until events on `events` stop for `quiet` (or `max` passed), from
/// now: the caller has seen the first. Events are signalled with
/// `notify_one`, which keeps one permit, so none is lost between two waits.
pub(crate) async fn settle(events: &Notify, quiet: Duration, max: Duration) {
    let deadline = Instant::now() + max;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let wait = quiet.min(deadline - now);
        tokio::select! {
            () = events.notified() => {}
            () = tokio::time::sleep(wait) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const QUIET: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_millis(1000);

    /// Fires one event after each delay, in order.
    fn fire(events: &Arc<Notify>, delays: &[u64]) {
        let events = Arc::clone(events);
        let delays = delays.to_vec();
        tokio::spawn(async move {
            for delay in delays {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                events.notify_one();
            }
        });
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_settles_once_after_the_quiet_spell() {
        let events = Arc::new(Notify::new());
        let start = Instant::now();
        fire(&events, &[10, 5, 5, 30, 20]);
        events.notified().await;
        settle(&events, QUIET, MAX).await;
        // The last event comes at 70 ms; the change is taken 100 ms later.
        assert_eq!(start.elapsed(), Duration::from_millis(170));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_events_are_cut_at_the_maximum_wait() {
        let events = Arc::new(Notify::new());
        let start = Instant::now();
        fire(&events, &[50; 100]);
        events.notified().await;
        settle(&events, QUIET, MAX).await;
        assert_eq!(start.elapsed(), Duration::from_millis(50) + MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_before_the_wait_is_not_lost() {
        let events = Arc::new(Notify::new());
        events.notify_one();
        let start = Instant::now();
        events.notified().await;
        settle(&events, QUIET, MAX).await;
        assert_eq!(start.elapsed(), QUIET);
    }
}
