//! Keep-alive pings and idle timeouts for every peer, from one sweep per
//! server.
//!
//! A timer per connection would cost every idle connection a timer entry and
//! a wake-up per interval; one task that walks the peer set a few times per
//! interval costs nothing per idle peer. Peers that are talking are not
//! pinged at all: only a peer silent for `ping_interval` gets a ping, and one
//! silent for `idle_timeout` (no data, no pong) is closed with 1001. The sweep
//! runs every quarter of the shorter of the two, so a deadline is met within
//! that much.
//!
//! The sweep also asks a connection that exchanged no data message for a
//! whole period to park (see `park.rs`): a period is long beside a message
//! and short beside a person's pause.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use crosswire_proto::{CloseFrame, OpCode};

use super::outbox::OutFrame;
use crate::error::WebSocketError;
use crate::shared::Shared;

/// How often the sweep runs for the given settings.
pub(crate) fn sweep_period(ping_interval: Duration, idle_timeout: Duration) -> Duration {
    (ping_interval.min(idle_timeout) / 4).clamp(Duration::from_millis(10), Duration::from_secs(5))
}

/// Sweeps the peer set until the task is dropped.
pub(crate) async fn run(shared: Arc<Shared>) {
    let ping_interval = shared.websocket.ping_interval;
    let idle_timeout = shared.websocket.idle_timeout;
    let mut ticks = tokio::time::interval(sweep_period(ping_interval, idle_timeout));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for peer in shared.peers() {
            let outbox = peer.outbox();
            if outbox.is_closing() {
                continue;
            }
            let silent = outbox.silent_for();
            if silent >= idle_timeout {
                tracing::debug!(target: "crosswire::ws", peer = %peer, ?silent, "idle timeout");
                outbox.fail(
                    CloseFrame {
                        code: 1001,
                        reason: "idle timeout".to_owned(),
                    },
                    WebSocketError::IdleTimeout(idle_timeout),
                );
            } else {
                if silent >= ping_interval && outbox.ping_due(ping_interval) {
                    outbox.push(&OutFrame::new(OpCode::Ping, Bytes::new()));
                }
                // Quiet for a whole period: its reader looks again, and
                // parks the connection (see `park.rs`).
                if outbox.parking().quiet_since_last_look() {
                    outbox.nudge_reader();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_runs_four_times_per_shorter_interval_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(
            sweep_period(s(30), s(120)),
            Duration::from_millis(7500).min(s(5))
        );
        assert_eq!(
            sweep_period(Duration::from_millis(100), s(120)),
            Duration::from_millis(25)
        );
        assert_eq!(
            sweep_period(Duration::from_millis(1), s(1)),
            Duration::from_millis(10)
        );
    }
}
