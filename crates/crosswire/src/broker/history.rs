//! History kept by the broker: one order and one set of positions for a
//! topic on every node.
//!
//! Without a broker, or with one that keeps no history, a `[[history]]`
//! topic's positions are assigned by each node for its own publishes (see
//! [`crate::history`]). A broker that implements [`BrokerHistory`] instead
//! *sequences* the topic: a publish on a history topic is not delivered
//! locally at once but appended to the broker's log, which gives it the next
//! offset and sends it, positioned, to every node subscribed to the topic,
//! its own included. Every node then delivers the same messages in the same
//! order with the same positions, so a client that reconnects to **another
//! node** recovers exactly what it missed.
//!
//! The contract is on [`BrokerHistory`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::BrokerError;

/// A future an engine returns from [`BrokerHistory`].
pub type HistoryFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The bounds of one topic's history, from its `[[history]]` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBounds {
    /// Most messages kept.
    pub size: usize,
    /// How long a message is kept.
    pub ttl: Duration,
    /// Most bytes kept (an engine that cannot bound bytes documents it).
    pub max_bytes: usize,
}

/// What [`BrokerHistory::read`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The epoch of the topic's log (one is started if the topic had none).
    pub epoch: String,
    /// The latest offset (0 before the first publish).
    pub top: u64,
    /// Kept entries after the offset asked for, oldest first: each offset
    /// with the envelope appended at it.
    pub entries: Vec<(u64, Bytes)>,
}

/// A broker that keeps topics' history and orders their publishes across
/// nodes (see [`crate::history`]).
///
/// The contract, on top of the [broker's](crate::broker):
///
/// - [`BrokerHistory::append`] MUST NOT wait. The engine assigns the topic's
///   next offset (1 for the first publish of an epoch), keeps the envelope
///   within `bounds` and delivers it with its position to every node
///   subscribed to the topic (through
///   [`BrokerLink::receive_positioned`](crate::broker::BrokerLink::receive_positioned),
///   or a message in the [`encode_positioned`] form given to
///   [`BrokerLink::receive`](crate::broker::BrokerLink::receive)), in offset order.
/// - The epoch names one lifetime of the topic's log and MUST change when the
///   log is lost (a flushed key, a deleted stream), so positions from the
///   old one are recognised.
/// - [`BrokerHistory::settled`] resolves once every subscription asked for
///   before the call is in effect: what is appended after that reaches this
///   node. Recovery reads the log only after it, so nothing falls between
///   the read and the live messages. An engine that can tell one topic's
///   subscription failed while others took effect says so through
///   [`BrokerHistory::settled_for`]. A recovery whose topic is not
///   confirmed within 5 s tells its client the history is lost rather than
///   replaying up to a possible hole.
/// - [`BrokerHistory::read`] returns the kept entries after an offset and
///   the topic's latest position, from the same log.
///
/// The envelope a node appends may carry the key of the peer that published
/// it ([`Envelope::exclude`](crate::broker::Envelope::exclude)): its own node skips
/// that peer. Its payload may hold a stand-in for the position (the
/// publishing node's id and `:0`, what a `publish_with` builder was given),
/// which every node replaces with the real position on delivery.
pub trait BrokerHistory: Send + Sync + std::fmt::Debug + 'static {
    /// Appends one envelope to `topic`'s log. MUST NOT wait.
    fn append(&self, topic: &str, envelope: Bytes, bounds: HistoryBounds);

    /// Resolves once every subscription asked for before the call is in
    /// effect.
    fn settled(&self) -> HistoryFuture<()>;

    /// Resolves like [`BrokerHistory::settled`], with whether `topic`'s own
    /// subscription is in effect: `false` when the engine gave up waiting
    /// for it (the rest of the round may have taken effect). The default
    /// trusts `settled`.
    fn settled_for(&self, topic: &str) -> HistoryFuture<bool> {
        let _ = topic;
        let settled = self.settled();
        Box::pin(async move {
            settled.await;
            true
        })
    }

    /// Reads `topic`'s log: its epoch and latest offset, and the entries
    /// after `after` (none when `after` is at or past the latest).
    fn read(
        &self,
        topic: &str,
        after: u64,
        bounds: HistoryBounds,
    ) -> HistoryFuture<Result<HistoryPage, BrokerError>>;
}

/// What starts a positioned message in its byte form.
pub(crate) const POSITIONED_MAGIC: &[u8] = b"CWP1 ";

/// A positioned message as one byte string, for an engine that carries it
/// on the same channel as plain envelopes: `CWP1 <epoch> <offset>\n`, then
/// the envelope. [`BrokerLink::receive`](super::BrokerLink::receive)
/// recognises it. (A script running inside the engine can build the same
/// bytes by concatenation.)
pub fn encode_positioned(epoch: &str, offset: u64, envelope: &[u8]) -> Bytes {
    let offset = offset.to_string();
    let mut out = BytesMut::with_capacity(
        POSITIONED_MAGIC.len() + epoch.len() + offset.len() + 2 + envelope.len(),
    );
    out.put_slice(POSITIONED_MAGIC);
    out.put_slice(epoch.as_bytes());
    out.put_u8(b' ');
    out.put_slice(offset.as_bytes());
    out.put_u8(b'\n');
    out.put_slice(envelope);
    out.freeze()
}

/// A positioned message, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Positioned<'a> {
    pub(crate) epoch: &'a str,
    pub(crate) offset: u64,
    pub(crate) envelope: &'a [u8],
}

/// A positioned message whose head is not an epoch and an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadHead;

/// Splits a positioned message into its epoch, offset and envelope; `None`
/// when the bytes do not start with [`POSITIONED_MAGIC`].
pub(crate) fn decode_positioned(bytes: &[u8]) -> Option<Result<Positioned<'_>, BadHead>> {
    let rest = bytes.strip_prefix(POSITIONED_MAGIC)?;
    let parse = || {
        // The head is short: an epoch (at most 64 bytes) and an offset.
        let newline = rest
            .iter()
            .take(96)
            .position(|&b| b == b'\n')
            .ok_or(BadHead)?;
        let head = std::str::from_utf8(&rest[..newline]).map_err(|_| BadHead)?;
        let (epoch, offset) = head.split_once(' ').ok_or(BadHead)?;
        let offset: u64 = offset.parse().map_err(|_| BadHead)?;
        let valid = !epoch.is_empty()
            && epoch.len() <= 64
            && epoch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid || offset == 0 {
            return Err(BadHead);
        }
        Ok(Positioned {
            epoch,
            offset,
            envelope: &rest[newline + 1..],
        })
    };
    Some(parse())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_positioned_message_reads_back_and_a_bad_head_is_refused() {
        let bytes = encode_positioned("r1a2b", 42, b"CW...");
        assert_eq!(
            decode_positioned(&bytes),
            Some(Ok(Positioned {
                epoch: "r1a2b",
                offset: 42,
                envelope: b"CW...",
            }))
        );
        assert_eq!(decode_positioned(b"CW plain envelope"), None);
        for bad in [
            &b"CWP1 e 0\nx"[..],
            b"CWP1 e x\nx",
            b"CWP1 e\nx",
            b"CWP1 e 1",
            b"CWP1 a:b 1\nx",
        ] {
            assert_eq!(decode_positioned(bad), Some(Err(BadHead)), "{bad:?}");
        }
    }
}
