//! What a client may send per second: control frames always, data messages
//! when the app asks.
//!
//! Answering a ping costs the server a pong, so a client that floods pings
//! makes the server work and write for nothing: past `[websocket]
//! max_control_frames_per_second` (default 100) it is closed with 1008. An
//! app can also bound data messages per peer (`max_messages_per_second`,
//! off by default) with a burst allowance; past it a message is dropped or
//! the peer closed with 1008, as `on_message_rate` says, and counted.
//!
//! Each limit is a token bucket, allocated the first time the peer sends
//! that kind of frame: an idle connection, and one of a browser (which
//! never pings), carries no bucket.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

/// A token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(rate).max(1));
        Self {
            rate: f64::from(rate),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Takes a token from the bucket in `slot`, creating it on first use; true
/// when the frame is within the limit. A `rate` of 0 means no limit.
pub(crate) fn admit(slot: &mut Option<Box<Bucket>>, rate: u32, burst: u32) -> bool {
    if rate == 0 {
        return true;
    }
    let now = Instant::now();
    slot.get_or_insert_with(|| Box::new(Bucket::new(rate, burst, now)))
        .take(now)
}

/// What the rate limits did, server-wide
/// ([`ServerHandle::rate_limit_stats`](crate::ServerHandle::rate_limit_stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitStats {
    /// Messages dropped over `max_messages_per_second` (`on_message_rate =
    /// "drop_message"`).
    pub messages_dropped: u64,
    /// Peers closed with 1008 over `max_messages_per_second`.
    pub closed_for_messages: u64,
    /// Peers closed with 1008 over `max_control_frames_per_second`.
    pub closed_for_control_frames: u64,
}

/// The counters behind [`RateLimitStats`].
#[derive(Debug, Default)]
pub(crate) struct RateCounters {
    pub(crate) messages_dropped: AtomicU64,
    pub(crate) closed_for_messages: AtomicU64,
    pub(crate) closed_for_control_frames: AtomicU64,
}

impl RateCounters {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> RateLimitStats {
        RateLimitStats {
            messages_dropped: self.messages_dropped.load(Ordering::Relaxed),
            closed_for_messages: self.closed_for_messages.load(Ordering::Relaxed),
            closed_for_control_frames: self.closed_for_control_frames.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(10, 20, start);
        assert_eq!((0..25).filter(|_| bucket.take(start)).count(), 20);
        // Half a second later: five more.
        let later = start + Duration::from_millis(500);
        assert_eq!((0..10).filter(|_| bucket.take(later)).count(), 5);
        // Never more than the burst, however long it waited.
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..50).filter(|_| bucket.take(much_later)).count(), 20);
    }

    #[test]
    fn no_rate_means_no_limit_and_no_bucket() {
        let mut slot = None;
        assert!((0..10_000).all(|_| admit(&mut slot, 0, 0)));
        assert!(slot.is_none());
        assert!((0..3).all(|_| admit(&mut slot, 3, 0)));
        assert!(!admit(&mut slot, 3, 0));
    }
}
