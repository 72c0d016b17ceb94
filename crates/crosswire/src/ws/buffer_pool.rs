//! A small per-thread pool of send buffers.
//!
//! Small frames are copied into contiguous buffers (see [`super::outbox`]);
//! on a busy connection those buffers grow to tens of kilobytes and are freed
//! once written, many times a second. Freeing and allocating them again made
//! the allocator hand pages back to the kernel and fault them in again
//! (measured: page faults were a tenth of the server's time in chat rounds).
//! Written buffers that grew are kept here for the next one instead.
//!
//! New buffers start small, so a burst of one small message to ten thousand
//! peers costs ten thousand small buffers, not ten thousand large ones. The
//! pool holds at most [`POOL_BUFFERS`] per thread, so it bounds what it keeps.

use std::cell::RefCell;

/// Buffers kept per thread.
pub(crate) const POOL_BUFFERS: usize = 16;

/// Buffers smaller than this are not worth keeping.
const KEEP_MIN_CAPACITY: usize = 4 * 1024;

/// Buffers larger than this are not kept (one oversized burst must not stay
/// pinned).
const KEEP_MAX_CAPACITY: usize = 128 * 1024;

/// Capacity of a new buffer when the pool is empty.
const NEW_CAPACITY: usize = 512;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `len` bytes.
pub(crate) fn take(len: usize) -> Vec<u8> {
    let pooled = POOL.with(|pool| pool.borrow_mut().pop());
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
    if !(KEEP_MIN_CAPACITY..=KEEP_MAX_CAPACITY).contains(&buffer.capacity()) {
        return;
    }
    buffer.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_BUFFERS {
            pool.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_buffers_are_reused_and_the_pool_is_bounded() {
        let grown = Vec::<u8>::with_capacity(8 * 1024);
        let pointer = grown.as_ptr();
        give(grown);
        let again = take(10);
        assert_eq!(again.as_ptr(), pointer);
        assert!(again.is_empty());
        for _ in 0..POOL_BUFFERS * 2 {
            give(Vec::with_capacity(8 * 1024));
        }
        assert_eq!(POOL.with(|pool| pool.borrow().len()), POOL_BUFFERS);
        give(Vec::with_capacity(100));
        give(Vec::with_capacity(1 << 20));
        assert_eq!(POOL.with(|pool| pool.borrow().len()), POOL_BUFFERS);
    }
}
