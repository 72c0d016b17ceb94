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
//! The table is bounded, in two generations of at most half of
//! [`MAX_ADDRESSES`] each: an address seen again moves into the current
//! one, and when the current one is full it becomes the previous one and
//! the old previous one is forgotten. So an address that keeps trying
//! keeps its bucket, however many other addresses come and go (a fresh
//! burst for everyone at each overflow would be a reset an attacker with
//! many addresses could trigger at will), only addresses quiet for a whole
//! generation are forgotten, and each handshake costs O(1) work.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use tokio::time::Instant;

use super::log_every::LogEvery;
use super::per_address::counted_as;
use crate::ws::rate::Bucket;

/// Addresses remembered at most.
const MAX_ADDRESSES: usize = 65_536;

/// The buckets of the addresses seen lately, in two generations.
#[derive(Debug, Default)]
struct Buckets {
    current: HashMap<IpAddr, Bucket>,
    previous: HashMap<IpAddr, Bucket>,
}

impl Buckets {
    /// `address`'s bucket, moved into the current generation (made with
    /// `rate` if the address is new).
    fn of(&mut self, address: IpAddr, rate: u32, now: Instant) -> &mut Bucket {
        if !self.current.contains_key(&address) {
            let bucket = self
                .previous
                .remove(&address)
                .unwrap_or_else(|| Bucket::new(rate, rate, now));
            if self.current.len() >= MAX_ADDRESSES / 2 {
                self.previous = std::mem::take(&mut self.current);
            }
            self.current.insert(address, bucket);
        }
        self.current
            .entry(address)
            .or_insert_with(|| Bucket::new(rate, rate, now))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// Upgrades per second per remote address.
#[derive(Debug)]
pub(crate) struct HandshakeRate {
    rate: u32,
    buckets: Mutex<Buckets>,
    /// Refusals are logged at most once a second.
    log: LogEvery,
}

impl HandshakeRate {
    /// A limit of `rate` upgrades per second per address; 0 for none.
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: Mutex::new(Buckets::default()),
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
        buckets.of(address, self.rate, now).take(now)
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
        for n in 0..(MAX_ADDRESSES as u32 * 3 + 10) {
            limit.admit(IpAddr::V4(Ipv4Addr::from(n)));
        }
        assert!(limit.buckets.lock().unwrap().len() <= MAX_ADDRESSES);
    }

    #[test]
    fn an_address_that_keeps_trying_stays_limited_however_many_others_come() {
        let limit = HandshakeRate::new(1);
        let throttled = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1));
        let started = std::time::Instant::now();
        let mut admitted = 0;
        // Four tables' worth of fresh /64s, the throttled one trying between.
        for n in 0..(MAX_ADDRESSES as u32 * 4) {
            if n % 1000 == 0 && limit.admit(throttled) {
                admitted += 1;
            }
            let fresh = IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb9,
                (n >> 16) as u16,
                n as u16,
                0,
                0,
                0,
                1,
            ));
            limit.admit(fresh);
        }
        // One token to start with, and one more per second that passed.
        let allowed = 1 + started.elapsed().as_secs() + 1;
        assert!(
            admitted <= allowed,
            "{admitted} admitted, {allowed} allowed"
        );
    }
}
