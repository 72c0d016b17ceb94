//! A per-thread pool of send buffers, bounded by bytes.
//!
//! Small frames are copied into contiguous buffers (see [`super::outbox`]);
//! on a busy connection those buffers grow to kilobytes and are freed once
//! written, many times a second. A publish to a thousand peers fills a
//! thousand of them in one turn and frees them all after the writes. Freeing
//! and allocating them again made the allocator hand pages back to the kernel
//! and fault them in again, and made every buffer grow again from small
//! (measured on fan-out to 1 000 peers: page faults and the copies of
//! growing buffers were a tenth of the server's time). Written buffers that
//! grew are kept here for the next ones instead.
//!
//! New buffers start small, so a burst of one small message to ten thousand
//! peers costs ten thousand small buffers, not ten thousand large ones. The
//! pool keeps at most [`POOL_BYTES`] of capacity per thread: what a worker
//! retains after a burst is bounded, whatever the number of peers.

use std::cell::RefCell;

/// Capacity kept per thread, in bytes.
pub(crate) const POOL_BYTES: usize = 8 * 1024 * 1024;

/// Buffers smaller than this are not worth keeping.
const KEEP_MIN_CAPACITY: usize = 4 * 1024;

/// Buffers larger than this are not kept (one oversized burst must not stay
/// pinned).
const KEEP_MAX_CAPACITY: usize = 128 * 1024;

/// Capacity of a new buffer when the pool is empty.
const NEW_CAPACITY: usize = 512;

/// The kept buffers and the sum of their capacities.
#[derive(Default)]
struct Pool {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// An empty buffer with room for at least `len` bytes.
pub(crate) fn take(len: usize) -> Vec<u8> {
    let pooled = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let buffer = pool.buffers.pop()?;
        pool.bytes -= buffer.capacity();
        Some(buffer)
    });
    match pooled {
        Some(mut buffer) => {
            buffer.reserve(len);
            buffer
        }
        None => Vec::with_capacity(len.max(NEW_CAPACITY)),
    }
}

/// Returns a written buffer for reuse (or frees it).
pub(crate) fn give(mut buffer: Vec<u8>) {
    let capacity = buffer.capacity();
    if !(KEEP_MIN_CAPACITY..=KEEP_MAX_CAPACITY).contains(&capacity) {
        return;
    }
    buffer.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.bytes + capacity <= POOL_BYTES {
            pool.bytes += capacity;
            pool.buffers.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_buffers_are_reused_and_the_pool_is_bounded_by_bytes() {
        let grown = Vec::<u8>::with_capacity(8 * 1024);
        let pointer = grown.as_ptr();
        give(grown);
        let again = take(10);
        assert_eq!(again.as_ptr(), pointer);
        assert!(again.is_empty());
        let fits = POOL_BYTES / (8 * 1024);
        for _ in 0..fits * 2 {
            give(Vec::with_capacity(8 * 1024));
        }
        let kept = || POOL.with(|pool| (pool.borrow().buffers.len(), pool.borrow().bytes));
        assert_eq!(kept(), (fits, fits * 8 * 1024));
        give(Vec::with_capacity(100));
        give(Vec::with_capacity(1 << 20));
        assert_eq!(kept(), (fits, fits * 8 * 1024));
        let taken = take(1);
        assert!(taken.capacity() >= 8 * 1024);
        assert_eq!(kept(), (fits - 1, (fits - 1) * 8 * 1024));
    }
}
