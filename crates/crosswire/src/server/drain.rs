//! Graceful shutdown: drain the server instead of dropping it.
//!
//! A rolling deploy stops one instance while its clients move to the next.
//! Closing every peer in the same instant sends all of them to the next
//! instance in the same millisecond, and dropping connections loses what
//! was queued for them. So a shutdown:
//!
//! 1. keeps the listening sockets open and answering: new WebSocket upgrades
//!    and event-stream requests get `503 Service Unavailable` with
//!    `Retry-After` and `Connection: close` (a load balancer sees refusals,
//!    not resets), other requests are served with `Connection: close`;
//! 2. ends every event stream after its queued events, with a final
//!    `retry:` line that spreads the browsers' reconnects over a few seconds;
//! 3. closes the WebSocket peers with `[server] shutdown_close_code`, each
//!    after the frames already queued for it, in batches spread over the
//!    first half of `[server] shutdown_timeout`;
//! 4. waits for every connection to finish its closing handshake and its
//!    `close` hook, until the timeout; what is still open then is closed
//!    hard, and counted in the last log line.

use std::time::Duration;

use tokio::time::{Instant, sleep, timeout_at};

use super::service::Routes;

/// Peers closed per batch at least: below this, batching only delays.
const MIN_BATCH: usize = 100;

/// Pause between two batches.
const BATCH_PAUSE: Duration = Duration::from_millis(10);

/// How one shutdown went, for its last log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Drained {
    /// WebSocket peers sent a close frame.
    pub(crate) peers_closed: usize,
    /// Connections still open at the timeout, closed hard.
    pub(crate) closed_hard: usize,
}

impl Drained {
    /// The shutdown's last log line.
    pub(crate) fn log(&self) {
        if self.closed_hard > 0 {
            tracing::warn!(
                target: "crosswire::server",
                peers_closed = self.peers_closed,
                closed_hard = self.closed_hard,
                "shut down: connections still open at the shutdown timeout were closed hard"
            );
        } else {
            tracing::info!(target: "crosswire::server", peers_closed = self.peers_closed, "shut down: every connection drained");
        }
    }
}

/// Drains `routes` within `timeout`; the caller has already told HTTP
/// connections to finish (and keeps the listeners accepting).
pub(crate) async fn drain(routes: &Routes, timeout: Duration) -> Drained {
    let deadline = Instant::now() + timeout;
    let shared = &routes.shared;
    // Event streams end themselves on this signal, and requests answer 503.
    shared.begin_shutdown();
    let (code, reason) = shared.shutdown_close();
    let peers = shared.peers();
    let batch = batch_size(peers.len(), timeout / 2);
    let mut drained = Drained::default();
    for (index, chunk) in peers.chunks(batch).enumerate() {
        if index > 0 {
            sleep(BATCH_PAUSE).await;
        }
        for peer in chunk {
            if peer.close(code, reason).is_ok() {
                drained.peers_closed += 1;
            }
        }
    }
    if timeout_at(deadline, routes.tracker.wait_idle())
        .await
        .is_err()
    {
        drained.closed_hard = routes.tracker.live();
        for peer in shared.peers() {
            peer.terminate();
        }
        // The terminated peers' tasks end at once; HTTP connections and event
        // streams end when the runtime does.
        let _ = tokio::time::timeout(Duration::from_millis(200), routes.tracker.wait_idle()).await;
    }
    drained
}

/// Peers per batch so that `peers` are closed within `spread`, one batch
/// per [`BATCH_PAUSE`], at least [`MIN_BATCH`] at a time.
fn batch_size(peers: usize, spread: Duration) -> usize {
    let batches = (spread.as_millis() / BATCH_PAUSE.as_millis()).max(1) as usize;
    peers.div_ceil(batches).max(MIN_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_spread_over_the_first_half_of_the_timeout() {
        // 10 s timeout: 500 batches in 5 s.
        assert_eq!(batch_size(100_000, Duration::from_secs(5)), 200);
        // Few peers: one or a few batches of at least a hundred.
        assert_eq!(batch_size(2_000, Duration::from_secs(5)), MIN_BATCH);
        assert_eq!(batch_size(50, Duration::from_secs(5)), MIN_BATCH);
        // No time to spread: everyone at once.
        assert_eq!(batch_size(5_000, Duration::ZERO), 5_000);
    }
}
