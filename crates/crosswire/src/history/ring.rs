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
    /// The lifetime of the history these offsets count in. Drawn by the
    /// store for a history kept here; the broker's, as last received, for a
    /// topic the broker sequences (empty until then).
    epoch: Arc<str>,
    /// Subscribers joined while their recovery reads the broker's history:
    /// live messages skip them until they are replayed what they missed.
    /// Each is removed when its replay is queued; see `sequenced.rs`.
    gates: Vec<u64>,
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
    pub(crate) fn new(epoch: Arc<str>, bounds: Bounds, now: Instant) -> Self {
        Self {
            epoch,
            gates: Vec::new(),
            // Grown by the first publishes rather than made up front: a
            // log is also made when a client subscribes to a topic nobody
            // publishes to (any name a rule's pattern matches), and each
            // such log must cost little until a publish gives it entries.
            entries: VecDeque::new(),
            bytes: 0,
            top: 0,
            bounds,
            last_publish: now,
        }
    }

    /// The epoch the offsets count in.
    pub(crate) fn epoch(&self) -> &Arc<str> {
        &self.epoch
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

    /// Appends a publish the broker positioned at `epoch:offset`. Returns
    /// false, keeping nothing, for one already kept (an offset at or below
    /// the latest of the same epoch). A new epoch, or an offset past the
    /// next one (messages this node never received), starts the ring over
    /// at it, so what is kept is always contiguous.
    pub(crate) fn push_at(
        &mut self,
        epoch: &str,
        offset: u64,
        publication: Arc<Publication>,
        now: Instant,
    ) -> bool {
        if *self.epoch != *epoch {
            self.epoch = Arc::from(epoch);
            self.restart(offset.saturating_sub(1));
        } else if offset <= self.top {
            return false;
        } else if offset > self.top + 1 {
            self.restart(offset.saturating_sub(1));
        }
        self.push(publication, now);
        true
    }

    /// Forgets every entry; the next push gets `top + 1`.
    fn restart(&mut self, top: u64) {
        self.entries.clear();
        self.bytes = 0;
        self.top = top;
    }

    /// Makes the ring what the broker's log held when it was read (`epoch`,
    /// latest offset `top`, `entries` oldest first), followed by what this
    /// node received live after it, when that follows on without a hole.
    pub(crate) fn rebuild(
        &mut self,
        epoch: &str,
        top: u64,
        entries: Vec<(u64, Arc<Publication>)>,
        now: Instant,
    ) {
        let same_epoch = *self.epoch == *epoch;
        let live: Vec<Entry> = if same_epoch {
            std::mem::take(&mut self.entries)
                .into_iter()
                .filter(|entry| entry.offset > top)
                .collect()
        } else {
            Vec::new()
        };
        if let Some(first) = live.first()
            && first.offset != top + 1
        {
            // A hole between the log as read and what arrived live: keep
            // the live part, which is contiguous.
            self.restart(first.offset.saturating_sub(1));
            for entry in live {
                self.push(entry.publication, entry.at);
            }
            return;
        }
        self.epoch = Arc::from(epoch);
        let first_read = entries.first().map_or(top + 1, |(offset, _)| *offset);
        self.restart(first_read.saturating_sub(1));
        for (offset, publication) in entries {
            if offset != self.top + 1 {
                // The log as read has a hole (it cannot, but bytes from a
                // broker are not trusted): keep what follows it.
                self.restart(offset.saturating_sub(1));
            }
            self.push(publication, now);
        }
        if self.top < top {
            // The newest entries were too old to read back (ttl).
            self.restart(top);
        }
        for entry in live {
            self.push(entry.publication, entry.at);
        }
    }

    /// Makes live messages skip subscriber `key` until [`Ring::ungate`].
    pub(crate) fn gate(&mut self, key: u64) {
        if !self.gates.contains(&key) {
            self.gates.push(key);
        }
    }

    /// Lets every live message reach `key` again.
    pub(crate) fn ungate(&mut self, key: u64) {
        self.gates.retain(|&gated| gated != key);
    }

    /// True when live messages must skip `key`.
    pub(crate) fn skips(&self, key: u64) -> bool {
        self.gates.contains(&key)
    }

    /// True when some subscriber is gated.
    pub(crate) fn has_gates(&self) -> bool {
        !self.gates.is_empty()
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
        let mut ring = Ring::new(Arc::from("e"), bounds(3, 60, 1 << 20), now);
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
    fn a_ring_nobody_published_to_holds_no_room_for_entries() {
        let now = Instant::now();
        let mut ring = Ring::new(Arc::from("e"), bounds(100, 60, 1 << 20), now);
        assert_eq!(ring.entries.capacity(), 0);
        ring.push(publication("m"), now);
        assert!(ring.entries.capacity() >= 1);
    }

    #[test]
    fn age_and_bytes_bound_the_ring_too() {
        let start = Instant::now();
        let mut ring = Ring::new(Arc::from("e"), bounds(100, 10, 1 << 20), start);
        ring.push(publication("old"), start);
        ring.push(publication("new"), start + Duration::from_secs(6));
        let later = start + Duration::from_secs(11);
        assert_eq!(offsets(&mut ring, 1, later), Ok(vec![2]));
        assert_eq!(offsets(&mut ring, 0, later), Err(Gone));
        assert!(!ring.is_idle(later));
        assert!(ring.is_idle(start + Duration::from_secs(17)));

        let one = weight(&publication("0123456789"));
        let mut ring = Ring::new(Arc::from("e"), bounds(100, 60, 3 * one), start);
        for _ in 0..10 {
            ring.push(publication("0123456789"), start);
        }
        assert_eq!(ring.usage(), (3, 3 * one));
    }

    #[test]
    fn positioned_pushes_stay_contiguous_and_a_rebuild_joins_read_and_live() {
        let now = Instant::now();
        let mut ring = Ring::new(Arc::from(""), bounds(10, 60, 1 << 20), now);
        assert!(ring.push_at("a", 5, publication("m"), now));
        assert!(ring.push_at("a", 6, publication("m"), now));
        assert!(!ring.push_at("a", 6, publication("m"), now));
        assert_eq!(offsets(&mut ring, 4, now), Ok(vec![5, 6]));
        assert_eq!(offsets(&mut ring, 3, now), Err(Gone));
        // A hole restarts the ring at what arrived.
        assert!(ring.push_at("a", 9, publication("m"), now));
        assert_eq!(offsets(&mut ring, 8, now), Ok(vec![9]));
        assert_eq!(offsets(&mut ring, 6, now), Err(Gone));
        // Read back 5..=8 from the broker: joined with the live 9.
        let read = (5..=8).map(|o| (o, publication("r"))).collect();
        ring.rebuild("a", 8, read, now);
        assert_eq!(offsets(&mut ring, 4, now), Ok(vec![5, 6, 7, 8, 9]));
        // A new epoch starts over.
        assert!(ring.push_at("b", 1, publication("m"), now));
        assert_eq!(&**ring.epoch(), "b");
        assert_eq!(offsets(&mut ring, 0, now), Ok(vec![1]));
        // A read of a log whose latest entries expired keeps its top.
        ring.rebuild("c", 4, Vec::new(), now);
        assert_eq!((ring.top(), offsets(&mut ring, 4, now)), (4, Ok(vec![])));
        assert_eq!(offsets(&mut ring, 3, now), Err(Gone));
    }

    #[test]
    fn a_gate_skips_its_subscriber_until_removed() {
        let now = Instant::now();
        let mut ring = Ring::new(Arc::from("e"), bounds(10, 60, 1 << 20), now);
        ring.gate(7);
        ring.gate(7);
        assert!(ring.skips(7) && !ring.skips(8));
        ring.gate(9);
        ring.ungate(7);
        assert!(!ring.skips(7) && ring.skips(9));
        ring.ungate(9);
        assert!(!ring.has_gates());
    }
}
