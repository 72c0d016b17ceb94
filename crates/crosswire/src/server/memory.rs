//! Giving memory back to the kernel after connections leave.
//!
//! glibc's malloc keeps what a server frees: pages of freed peers stay in its
//! heaps (one per thread that allocated), and later connections, allocated
//! on other threads and at other addresses, grow the heaps instead of
//! refilling them. Measured with `crosswire-bench conns --rounds 10` (10 000
//! connections opened and all dropped, ten times): the bench server started
//! at 5.6 MB and sat at 90 MB with no connection left after the tenth round.
//! A `malloc_trim` after each round brought it back to 7–8 MB and kept every
//! round's figure with 10 000 open flat.
//!
//! So one task per server watches the number of live connections and trims
//! once it has fallen well below its peak: after a burst of clients left,
//! not on every close. The trim runs on a blocking thread, since it walks
//! every heap. Elsewhere than glibc it does nothing.

use std::sync::Arc;
use std::time::Duration;

use super::tracker::Tracker;

/// How often the live count is looked at.
const PERIOD: Duration = Duration::from_secs(1);

/// The fewest connections that must have left since the peak before a trim:
/// below this, what could come back is not worth a walk of the heaps.
const MIN_DROP: usize = 512;

/// Watches the live connection count and trims the allocator after large
/// drops, until the task is dropped.
pub(crate) async fn run(tracker: Arc<Tracker>) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut peak = 0usize;
    loop {
        ticks.tick().await;
        let live = tracker.live();
        peak = peak.max(live);
        if worth_trimming(peak, live) {
            let released = tokio::task::spawn_blocking(release).await.unwrap_or(false);
            tracing::debug!(target: "crosswire::server", peak, live, released, "returned freed memory to the kernel");
            peak = live;
        }
    }
}

/// True when enough connections left since `peak` to trim: at least
/// [`MIN_DROP`] and at least a quarter of the peak.
fn worth_trimming(peak: usize, live: usize) -> bool {
    let dropped = peak.saturating_sub(live);
    dropped >= MIN_DROP && dropped >= peak / 4
}

/// Returns the allocator's free pages to the kernel; true if any were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release() -> bool {
    // SAFETY: `malloc_trim` has no preconditions: it only takes glibc's own
    // arena locks and releases pages that hold no live allocation.
    #[allow(unsafe_code)]
    let released = unsafe { libc::malloc_trim(0) };
    released != 0
}

/// Other allocators give memory back on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_after_a_large_drop_from_the_peak() {
        assert!(!worth_trimming(0, 0));
        assert!(!worth_trimming(400, 0), "too few left to be worth it");
        assert!(worth_trimming(10_000, 7_000));
        assert!(
            !worth_trimming(10_000, 9_000),
            "under a quarter of the peak"
        );
        assert!(
            !worth_trimming(100_000, 90_000),
            "under a quarter of the peak"
        );
        assert!(worth_trimming(100_000, 70_000));
        assert!(worth_trimming(600, 0));
    }
}
