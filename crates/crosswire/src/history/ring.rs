//! One topic's recent publishes, oldest first, bounded by count, age and
//! bytes.
//!
//! A `VecDeque` of shared publications: appending moves one `Arc` in, and
//! the publication is the very value the live delivery used, so history adds
//! no copy of the payload. Old entries are dropped on every append and before
//! every read, so an idle topic's history shrinks the next time anyone looks
//! (and the store drops idle topics, see `store.rs`).

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::Arc;
use std::time::Instant;

use super::rules::Bounds;
use crate::pubsub::Publication;

/// Bytes one entry costs beyond its frames: the entry in the deque, the
/// publication and its `Arc` header, and the frame's header and shared
/// buffer bookkeeping (measured by `entry_overhead_is_what_the_types_hold`).
pub(crate) const ENTRY_OVERHEAD: usize =
    size_of::<Entry>() + size_of::<Publication>() + 2 * size_of::<usize>() + 32;

// 264 bytes on x86-64 (the README's figure); a type growing past this
// should be noticed.
const _: () = assert!(ENTRY_OVERHEAD < 512);

/// One kept publish.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) offset: u64,
    at: Instant,
    /// What it counts against `max_bytes`.
    weight: usize,
    pub(crate) publication: Arc<Publication>,
}

/// A topic's history and its latest offset.
#[derive(Debug)]
pub(crate) struct Ring {
    entries: VecDeque<Entry>,
    bytes: usize,
    /// Offset of the latest publish (0 before the first).
    top: u64,
    bounds: Bounds,
    /// When the latest publish happened (or the ring was made).
    last_publish: Instant,
}

/// The entries after a position are no longer all kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

impl Ring {
    pub(crate) fn new(bounds: Bounds, now: Instant) -> Self {
        Self {
            entries: VecDeque::with_capacity(bounds.size.min(64)),
            bytes: 0,
            top: 0,
            bounds,
            last_publish: now,
        }
    }

    /// The offset the next publish gets.
    pub(crate) fn next_offset(&self) -> u64 {
        self.top + 1
    }

    /// The latest offset (0 before the first publish).
    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    /// Appends the publish that got `next_offset()`, then drops what the
    /// bounds no longer allow.
    pub(crate) fn push(&mut self, publication: Arc<Publication>, now: Instant) {
        self.top += 1;
        self.last_publish = now;
        let weight = weight(&publication);
        self.bytes += weight;
        self.entries.push_back(Entry {
            offset: self.top,
            at: now,
            weight,
            publication,
        });
        self.trim(now);
    }

    /// Drops entries past `size`, `max_bytes` or `ttl`, oldest first.
    pub(crate) fn trim(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let expired = now.saturating_duration_since(front.at) >= self.bounds.ttl;
            let over = self.entries.len() > self.bounds.size || self.bytes > self.bounds.max_bytes;
            if !expired && !over {
                break;
            }
            self.bytes -= front.weight;
            self.entries.pop_front();
        }
    }

    /// Every entry after `offset`, oldest first, or `Gone` when some of them
    /// are no longer kept (or `offset` is past the latest, which no client of
    /// this history can hold).
    pub(crate) fn after(
        &mut self,
        offset: u64,
        now: Instant,
    ) -> Result<impl Iterator<Item = &Entry>, Gone> {
        self.trim(now);
        if offset > self.top {
            return Err(Gone);
        }
        let first_kept = self.entries.front().map_or(self.top + 1, |e| e.offset);
        if offset + 1 < first_kept {
            return Err(Gone);
        }
        Ok(self.entries.iter().filter(move |e| e.offset > offset))
    }

    /// True when nothing was published for `ttl` and nothing is kept: the
    /// ring can be dropped.
    pub(crate) fn is_idle(&mut self, now: Instant) -> bool {
        self.trim(now);
        self.entries.is_empty()
            && now.saturating_duration_since(self.last_publish) >= self.bounds.ttl
    }

    /// Entries and bytes kept, as counted against the bounds.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.entries.len(), self.bytes)
    }
}

/// What one entry counts against `max_bytes`: its frame, the event-stream
/// form it may grow (about as long), and the fixed overhead.
fn weight(publication: &Publication) -> usize {
    2 * publication.frame.wire_len() + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use crosswire_proto::OpCode;

    use super::*;
    use crate::ws::outbox::OutFrame;

    fn publication(text: &'static str) -> Arc<Publication> {
        Arc::new(Publication::new(OutFrame::new(
            OpCode::Text,
            Bytes::from_static(text.as_bytes()),
        )))
    }

    fn bounds(size: usize, ttl: u64, max_bytes: usize) -> Bounds {
        Bounds {
            size,
            ttl: Duration::from_secs(ttl),
            max_bytes,
        }
    }

    fn offsets(ring: &mut Ring, after: u64, now: Instant) -> Result<Vec<u64>, Gone> {
        ring.after(after, now)
            .map(|e| e.map(|e| e.offset).collect())
    }

    #[test]
    fn offsets_grow_by_one_and_reads_return_what_follows() {
        let now = Instant::now();
        let mut ring = Ring::new(bounds(3, 60, 1 << 20), now);
        assert_eq!(offsets(&mut ring, 0, now), Ok(vec![]));
        for _ in 0..5 {
            ring.push(publication("m"), now);
        }
        assert_eq!(ring.top(), 5);
        assert_eq!(offsets(&mut ring, 5, now), Ok(vec![]));
        assert_eq!(offsets(&mut ring, 2, now), Ok(vec![3, 4, 5]));
        assert_eq!(offsets(&mut ring, 4, now), Ok(vec![5]));
        // Offsets 2 (after 1) is no longer kept; 6 was never published.
        assert_eq!(offsets(&mut ring, 1, now), Err(Gone));
        assert_eq!(offsets(&mut ring, 6, now), Err(Gone));
    }

    #[test]
    fn age_and_bytes_bound_the_ring_too() {
        let start = Instant::now();
        let mut ring = Ring::new(bounds(100, 10, 1 << 20), start);
        ring.push(publication("old"), start);
        ring.push(publication("new"), start + Duration::from_secs(6));
        let later = start + Duration::from_secs(11);
        assert_eq!(offsets(&mut ring, 1, later), Ok(vec![2]));
        assert_eq!(offsets(&mut ring, 0, later), Err(Gone));
        assert!(!ring.is_idle(later));
        assert!(ring.is_idle(start + Duration::from_secs(17)));

        let one = weight(&publication("0123456789"));
        let mut ring = Ring::new(bounds(100, 60, 3 * one), start);
        for _ in 0..10 {
            ring.push(publication("0123456789"), start);
        }
        assert_eq!(ring.usage(), (3, 3 * one));
    }
}
