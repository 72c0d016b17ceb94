//! A hook that subscribes or unsubscribes peers of other workers, between
//! its own publishes to the topic: a peer it subscribes gets exactly what
//! the hook published after the subscribe, and one it unsubscribes still
//! gets what the hook published before the unsubscribe, although the hook's
//! earlier publishes were handed to the peer's worker and had not reached
//! it yet.

use crosswire::prelude::*;

use crate::common::{config, go_and_read_acks};
use crate::support::*;

/// `/ws/witness` peers subscribe to `room` when they open; `/ws/joiner`
/// peers do not; a message `go N` from the controller (`/ws/control`)
/// publishes `before N`, subscribes every joiner, publishes `during N`,
/// unsubscribes every joiner, publishes `after N`, then sends `ack N`.
fn room() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            if peer.request().path() == "/ws/witness" {
                peer.subscribe("room");
            }
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            let Some(n) = text.strip_prefix("go ") else {
                return;
            };
            let joiners: Vec<Peer> = peer
                .peers()
                .into_iter()
                .filter(|other| other.request().path() == "/ws/joiner")
                .collect();
            peer.publish("room", format!("before {n}"));
            for joiner in &joiners {
                joiner.subscribe("room");
            }
            peer.publish("room", format!("during {n}"));
            for joiner in &joiners {
                joiner.unsubscribe("room");
            }
            peer.publish("room", format!("after {n}"));
            peer.send(format!("ack {n}"));
        })
}

const ROUNDS: usize = 200;

async fn ready(server: &TestServer, path: &str) -> Client {
    let mut client = connect(server, path).await;
    assert_eq!(next_text(&mut client).await, "ready");
    client
}

async fn check(workers: usize) {
    let app = App::with_config(config(workers)).websocket("/ws/{role}", room());
    let server = start(app).await;
    // Connections are spread over the workers as they come: joiners and
    // witnesses land on every worker, the controller on one of them.
    let mut witnesses = Vec::new();
    let mut joiners = Vec::new();
    for _ in 0..3 {
        witnesses.push(ready(&server, "/ws/witness").await);
        joiners.push(ready(&server, "/ws/joiner").await);
    }
    let mut control = ready(&server, "/ws/control").await;
    go_and_read_acks(&mut control, ROUNDS).await;

    for (who, joiner) in joiners.iter_mut().enumerate() {
        for n in 0..ROUNDS {
            let got = next_text(joiner).await;
            assert_eq!(
                got,
                format!("during {n}"),
                "joiner {who}, {workers} workers"
            );
        }
        assert_silent(joiner, std::time::Duration::from_millis(100)).await;
    }
    for (who, witness) in witnesses.iter_mut().enumerate() {
        for n in 0..ROUNDS {
            for expected in [
                format!("before {n}"),
                format!("during {n}"),
                format!("after {n}"),
            ] {
                let got = next_text(witness).await;
                assert_eq!(got, expected, "witness {who}, {workers} workers");
            }
        }
    }
    drop((witnesses, joiners, control));
    server.shutdown().await;
}

#[tokio::test]
async fn on_one_worker() {
    check(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers() {
    check(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_three_workers() {
    check(3).await;
}
