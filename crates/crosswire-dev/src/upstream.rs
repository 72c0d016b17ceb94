//! Where requests go: the app's state as the proxy sees it.
//!
//! The supervisor is the only writer; every proxied request reads it, and
//! one that arrives while the app is (re)starting waits for the next state
//! instead of meeting a closed port. A `watch` channel fits: readers only
//! ever need the latest state, and waiting for a change is built in.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The app's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Upstream {
    /// Building for the first time, or restarting: requests wait.
    Starting,
    /// Serving on this internal address.
    Ready(SocketAddr),
    /// Not running, and not about to be (the build failed, or the app
    /// crashed); requests get a 503 saying why at once.
    Down(Arc<str>),
}

/// What a waiting request ends up with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Forward to the app here.
    Forward(SocketAddr),
    /// Answer 503 with this reason.
    Unavailable(Arc<str>),
}

/// Waits (until `until`) for the app to be ready or down; `hold` is the
/// whole wait, for the message.
pub(crate) async fn wait(
    state: &mut watch::Receiver<Upstream>,
    until: Instant,
    hold: Duration,
) -> Verdict {
    let settled =
        tokio::time::timeout_at(until, state.wait_for(|s| *s != Upstream::Starting)).await;
    match settled {
        Ok(Ok(upstream)) => match &*upstream {
            Upstream::Ready(addr) => Verdict::Forward(*addr),
            Upstream::Down(reason) => Verdict::Unavailable(Arc::clone(reason)),
            Upstream::Starting => Verdict::Unavailable(still_starting(hold)),
        },
        // The supervisor is gone: the dev server is stopping.
        Ok(Err(_)) => Verdict::Unavailable("the dev server is stopping".into()),
        Err(_) => Verdict::Unavailable(still_starting(hold)),
    }
}

/// Waits (until `until`) for the state to move on from `addr`, after a
/// connection to it was refused: the app is stopping or just died. False
/// when it did not move on in time.
pub(crate) async fn wait_past(
    state: &mut watch::Receiver<Upstream>,
    addr: SocketAddr,
    until: Instant,
) -> bool {
    let moved = state.wait_for(|s| *s != Upstream::Ready(addr));
    matches!(tokio::time::timeout_at(until, moved).await, Ok(Ok(_)))
}

fn still_starting(patience: Duration) -> Arc<str> {
    format!(
        "the app is still building or starting after {} s; this page reloads by itself when it is up",
        patience.as_secs()
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn a_request_during_a_restart_waits_for_the_new_app() {
        let (tx, mut rx) = watch::channel(Upstream::Starting);
        let addr: SocketAddr = ([127, 0, 0, 1], 4321).into();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = tx.send(Upstream::Ready(addr));
            std::future::pending::<()>().await;
        });
        assert_eq!(
            wait(&mut rx, Instant::now() + HOLD, HOLD).await,
            Verdict::Forward(addr)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_bounded() {
        let (_tx, mut rx) = watch::channel(Upstream::Starting);
        let Verdict::Unavailable(reason) = wait(&mut rx, Instant::now() + HOLD, HOLD).await else {
            panic!("forwarded while starting");
        };
        assert!(
            reason.contains("still building or starting after 30 s"),
            "{reason}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_down_app_answers_at_once() {
        let (_tx, mut rx) = watch::channel(Upstream::Down("the build failed".into()));
        let verdict = wait(&mut rx, Instant::now() + HOLD, HOLD).await;
        assert_eq!(verdict, Verdict::Unavailable("the build failed".into()));
    }
}
