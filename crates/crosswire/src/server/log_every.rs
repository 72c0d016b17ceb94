//! At most one log line a second for something a client can repeat at will
//! (a refused connection, a refused handshake): a flood must not become a
//! flood of log lines, which costs the disk, the log shipper and the reader
//! more than the refusals themselves. Each line that is written carries how
//! many times the event happened since the last one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a repeated event is logged at most.
const EVERY: Duration = Duration::from_secs(1);

/// The log state of one kind of repeated event.
#[derive(Debug, Default)]
pub(crate) struct LogEvery {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last: Option<Instant>,
    unlogged: u64,
}

impl LogEvery {
    /// Counts one event; returns how many to report (this one included)
    /// when a line is due, `None` when this one is only counted.
    pub(crate) fn due(&self) -> Option<u64> {
        self.due_at(Instant::now())
    }

    fn due_at(&self, now: Instant) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.unlogged += 1;
        if state
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < EVERY)
        {
            return None;
        }
        state.last = Some(now);
        Some(std::mem::take(&mut state.unlogged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_with_the_count_since_the_last() {
        let log = LogEvery::default();
        let start = Instant::now();
        assert_eq!(log.due_at(start), Some(1));
        for n in 1..100 {
            assert_eq!(log.due_at(start + Duration::from_millis(n)), None);
        }
        assert_eq!(log.due_at(start + EVERY), Some(100));
        assert_eq!(log.due_at(start + EVERY + Duration::from_millis(1)), None);
        assert_eq!(log.due_at(start + EVERY * 5), Some(2));
    }
}
