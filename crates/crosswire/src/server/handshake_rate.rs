//! Handshakes per second per remote address, when an operator asks.
//!
//! A single address that opens WebSocket connections as fast as it can makes
//! the server hash keys, allocate peers and run `open` hooks for nothing.
//! With `[server] max_handshakes_per_ip_per_second` set (it is off by
//! default: many users can share one address behind a NAT or a proxy), each
//! address gets a token bucket of that rate (with a burst of the same size)
//! and upgrades past it are answered `429 Too Many Requests` (logged at
//! most once a second, with the count since). Addresses are counted as
//! `max_connections_per_ip` counts them: IPv6 per `/64`, since one
//! subscriber can pick any address of its `/64` (and, by filling the table
//! with fresh ones, would otherwise get a fresh burst at every overflow).
//!
//! The table is bounded: when it holds [`MAX_ADDRESSES`] entries, the ones
//! whose bucket has refilled (addresses that have been quiet for a second)
//! are forgotten, and if none has, the whole table is, which at worst
//! grants a fresh burst to addresses under attack once per overflow.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use tokio::time::Instant;

use super::log_every::LogEvery;
use super::per_address::counted_as;
use crate::ws::rate::Bucket;

/// Addresses remembered at most.
const MAX_ADDRESSES: usize = 65_536;

/// Upgrades per second per remote address.
#[derive(Debug)]
pub(crate) struct HandshakeRate {
    rate: u32,
    buckets: Mutex<HashMap<IpAddr, (Bucket, Instant)>>,
    /// Refusals are logged at most once a second.
    log: LogEvery,
}

impl HandshakeRate {
    /// A limit of `rate` upgrades per second per address; 0 for none.
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
            log: LogEvery::default(),
        }
    }

    /// Logs that an upgrade from `remote` was refused (at most one line a
    /// second, with the count since).
    pub(crate) fn log_refusal(&self, remote: SocketAddr) {
        if let Some(refused) = self.log.due() {
            tracing::info!(
                target: "crosswire::upgrade",
                %remote,
                limit = "[server] max_handshakes_per_ip_per_second",
                refused,
                "too many handshakes from one address: 429"
            );
        }
    }

    /// True if an upgrade from `address` is within the limit.
    pub(crate) fn admit(&self, address: IpAddr) -> bool {
        if self.rate == 0 {
            return true;
        }
        let address = counted_as(address);
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&address) {
            buckets.retain(|_, (_, last)| now.saturating_duration_since(*last).as_secs() < 1);
            if buckets.len() >= MAX_ADDRESSES {
                buckets.clear();
            }
        }
        let (bucket, last) = buckets
            .entry(address)
            .or_insert_with(|| (Bucket::new(self.rate, self.rate, now), now));
        *last = now;
        bucket.take(now)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn each_address_has_its_own_allowance() {
        let limit = HandshakeRate::new(5);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!((0..8).filter(|_| limit.admit(a)).count(), 5);
        assert_eq!((0..8).filter(|_| limit.admit(b)).count(), 5);
        assert!((0..1000).all(|_| HandshakeRate::new(0).admit(a)));
    }

    #[test]
    fn an_ipv6_64_shares_one_allowance_and_a_mapped_address_is_its_ipv4() {
        let limit = HandshakeRate::new(5);
        let in_one_64 = |n: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, n, n, n, n));
        assert_eq!((0..8u16).filter(|n| limit.admit(in_one_64(*n))).count(), 5);
        let next_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(limit.admit(next_64));
        assert_eq!(limit.buckets.lock().unwrap().len(), 2);

        let v4 = Ipv4Addr::new(192, 0, 2, 7);
        assert_eq!((0..5).filter(|_| limit.admit(IpAddr::V4(v4))).count(), 5);
        assert!(!limit.admit(IpAddr::V6(v4.to_ipv6_mapped())));
    }

    #[test]
    fn the_table_stays_bounded() {
        let limit = HandshakeRate::new(1);
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            limit.admit(IpAddr::V4(Ipv4Addr::from(n)));
        }
        assert!(limit.buckets.lock().unwrap().len() <= MAX_ADDRESSES);
    }
}
