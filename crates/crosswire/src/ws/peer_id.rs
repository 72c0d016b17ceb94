//! Peer ids: random (version 4) UUIDs, as crossws gives its peers.
//!
//! `Uuid::new_v4` asks the kernel for 16 random bytes on every call, a
//! system call per handshake. Ids are drawn instead from a per-thread block
//! of the kernel's randomness, refilled once used up: the same source, read
//! once per [`IDS_PER_FILL`] peers.

use std::cell::RefCell;

use uuid::Uuid;

/// Ids drawn from one read of the kernel's randomness.
const IDS_PER_FILL: usize = 64;

const ID_BYTES: usize = 16;

/// Random bytes not yet handed out, from the back.
struct Pool {
    bytes: [u8; IDS_PER_FILL * ID_BYTES],
    left: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            bytes: [0; IDS_PER_FILL * ID_BYTES],
            left: 0,
        })
    };
}

impl Pool {
    fn next(&mut self) -> Option<[u8; ID_BYTES]> {
        if self.left < ID_BYTES {
            getrandom::fill(&mut self.bytes).ok()?;
            self.left = self.bytes.len();
        }
        let start = self.left - ID_BYTES;
        let drawn = self.bytes.get_mut(start..self.left)?;
        let mut id = [0; ID_BYTES];
        id.copy_from_slice(drawn);
        // Handed out once: not kept where a later id could be read from.
        drawn.fill(0);
        self.left = start;
        Some(id)
    }
}

/// A new random peer id.
pub(crate) fn new_peer_id() -> Uuid {
    POOL.try_with(|pool| pool.borrow_mut().next())
        .ok()
        .flatten()
        .map_or_else(Uuid::new_v4, |bytes| {
            uuid::Builder::from_random_bytes(bytes).into_uuid()
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_version_4_and_distinct_across_refills() {
        let ids: HashSet<Uuid> = (0..IDS_PER_FILL * 5).map(|_| new_peer_id()).collect();
        assert_eq!(ids.len(), IDS_PER_FILL * 5);
        for id in &ids {
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
        // Other threads draw from blocks of their own.
        let elsewhere = std::thread::spawn(new_peer_id).join().unwrap();
        assert!(!ids.contains(&elsewhere));
    }
}
