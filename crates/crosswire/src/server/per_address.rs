//! Open connections per remote address, when an operator asks
//! (`[server] max_connections_per_ip`).
//!
//! `max_connections` keeps the server alive under a flood, but a single
//! client can take every one of those slots and lock everyone else out.
//! With a per-address limit (off by default: many users may share one
//! address behind a NAT or a proxy), an address that already holds that
//! many connections gets `503` for the next one, as nginx's `limit_conn`
//! answers, while other addresses are served as before.
//!
//! IPv6 addresses are counted per `/64`: one subscriber usually gets a whole
//! `/64` and can pick any address in it, so counting single addresses would
//! limit nothing. IPv4-mapped IPv6 addresses count as the IPv4 address.
//!
//! The table holds one entry per address with a connection open, so it is
//! bounded by `max_connections`. A connection's [`TaskGuard`] names its
//! entry by a slot number (four bytes in every connection, where the
//! address would take twenty), and gives it back when the connection ends.
//!
//! [`TaskGuard`]: super::tracker::TaskGuard

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

/// A slot number that names no entry: the connection is not counted.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// Open connections per address, up to a limit.
#[derive(Debug)]
pub(crate) struct PerAddress {
    limit: u32,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// Each counted address's slot.
    slots_by_key: HashMap<IpAddr, u32>,
    /// The address of each slot and its open connections (0: free).
    slots: Vec<(IpAddr, u32)>,
    /// Free slots, to be used again.
    free: Vec<u32>,
}

impl PerAddress {
    /// A limit of `limit` connections per address; `None` for 0 (no limit).
    pub(crate) fn new(limit: u32) -> Option<Self> {
        (limit > 0).then(|| Self {
            limit,
            table: Mutex::new(Table::default()),
        })
    }

    /// The limit.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Counts one more connection from `address` and returns its slot, or
    /// `None` if the address already has `limit` open.
    pub(crate) fn claim(&self, address: IpAddr) -> Option<u32> {
        let key = counted_as(address);
        let mut table = self.lock();
        if let Some(&slot) = table.slots_by_key.get(&key) {
            let open = &mut table.slots.get_mut(slot as usize)?.1;
            if *open >= self.limit {
                return None;
            }
            *open += 1;
            return Some(slot);
        }
        let slot = match table.free.pop() {
            Some(slot) => {
                *table.slots.get_mut(slot as usize)? = (key, 1);
                slot
            }
            None => {
                // More slots than `u32` can name would mean four billion
                // open connections: refuse rather than wrap.
                let slot = u32::try_from(table.slots.len())
                    .ok()
                    .filter(|&slot| slot != NO_SLOT)?;
                table.slots.push((key, 1));
                slot
            }
        };
        table.slots_by_key.insert(key, slot);
        Some(slot)
    }

    /// A connection counted in `slot` ended.
    pub(crate) fn release(&self, slot: u32) {
        let mut table = self.lock();
        let Some((key, open)) = table.slots.get_mut(slot as usize) else {
            return;
        };
        if *open == 0 {
            // Released already: the slot may name another address now.
            debug_assert!(false, "slot {slot} released twice");
            return;
        }
        *open -= 1;
        if *open == 0 {
            let key = *key;
            table.slots_by_key.remove(&key);
            table.free.push(slot);
            // After a crowd has gone, give the memory back.
            if table.free.len() == table.slots.len() && table.slots.capacity() > 1024 {
                *table = Table::default();
            }
        }
    }

    /// Addresses with a connection open.
    #[cfg(test)]
    pub(crate) fn addresses(&self) -> usize {
        self.lock().slots_by_key.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What `address` is counted as: itself for IPv4, its `/64` for IPv6 (an
/// IPv4-mapped address as the IPv4 address). The handshake rate limit
/// counts the same way.
pub(crate) fn counted_as(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn each_address_gets_the_limit_and_gets_it_back() {
        let limit = PerAddress::new(2).expect("a limit");
        let a1 = limit.claim(v4(1)).expect("first");
        let a2 = limit.claim(v4(1)).expect("second");
        assert_eq!(a1, a2);
        assert_eq!(limit.claim(v4(1)), None);
        let b = limit.claim(v4(2)).expect("another address");
        assert_ne!(a1, b);
        limit.release(a1);
        assert_eq!(limit.claim(v4(1)), Some(a1));
        limit.release(a1);
        limit.release(a1);
        limit.release(b);
        assert_eq!(limit.addresses(), 0);
        assert!(PerAddress::new(0).is_none());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limit = PerAddress::new(1).expect("a limit");
        let one: IpAddr = "2001:db8:1:2::1".parse().expect("address");
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("address");
        let other_64: IpAddr = "2001:db8:1:3::1".parse().expect("address");
        assert!(limit.claim(one).is_some());
        assert_eq!(limit.claim(same_64), None);
        assert!(limit.claim(other_64).is_some());

        let mapped: IpAddr = "::ffff:10.0.0.7".parse().expect("address");
        assert!(limit.claim(v4(7)).is_some());
        assert_eq!(limit.claim(mapped), None);
    }

    #[test]
    fn slots_are_reused_and_the_table_shrinks_when_empty() {
        let limit = PerAddress::new(1).expect("a limit");
        let slots: Vec<u32> = (0..5000u32)
            .map(|n| {
                let address = IpAddr::V4(Ipv4Addr::from(n));
                limit.claim(address).expect("one each")
            })
            .collect();
        assert_eq!(limit.addresses(), 5000);
        for slot in slots {
            limit.release(slot);
        }
        assert_eq!(limit.addresses(), 0);
        assert_eq!(limit.lock().slots.capacity(), 0);
    }
}
