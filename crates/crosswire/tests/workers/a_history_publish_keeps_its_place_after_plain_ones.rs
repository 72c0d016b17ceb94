//! A producer (a hook on a worker, or a task on no worker) that publishes
//! to a plain topic and then to a topic that keeps history has every
//! subscriber of both see them in the order it made them, on every worker: a history publish is queued on the subscribers of
//! other workers directly (that is what gives its topic one order), so it
//! first has those workers carry out what the producer handed them before.

use crosswire::config::HistoryConfig;
use crosswire::prelude::*;

use crate::common::{config, go_and_read_acks};
use crate::support::*;

/// `go N`: publish `p N` to `plain`, then `h N` to `hist` (which keeps
/// history), then `ack N` to the sender (which every publish skips).
fn plain_then_history() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("plain");
            peer.subscribe("hist");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            let Some(n) = text.strip_prefix("go ") else {
                return;
            };
            peer.publish("plain", format!("p {n}"));
            peer.publish("hist", format!("h {n}"));
            peer.send(format!("ack {n}"));
        })
}

const ROUNDS: usize = 300;

/// A server of `workers` workers, and four welcomed subscribers of both
/// topics (spread over the workers as connections are).
async fn room(workers: usize) -> (TestServer, Vec<Client>) {
    let mut config = config(workers);
    config.history = vec![HistoryConfig::for_topics(["hist"]).size(1000)];
    let app = App::with_config(config).websocket("/ws", plain_then_history());
    let server = start(app).await;
    let mut receivers = Vec::new();
    for _ in 0..4 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        receivers.push(client);
    }
    (server, receivers)
}

/// Every receiver got `p 0`, `h 0`, `p 1`, `h 1`, … in that order.
async fn assert_in_order(receivers: &mut [Client], workers: usize) {
    for (who, receiver) in receivers.iter_mut().enumerate() {
        for n in 0..ROUNDS {
            for expected in [format!("p {n}"), format!("h {n}")] {
                let got = next_text(receiver).await;
                assert_eq!(got, expected, "receiver {who}, workers {workers}");
            }
        }
    }
}

async fn check(workers: usize) {
    let (server, mut receivers) = room(workers).await;
    let mut sender = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut sender).await, "ready");

    go_and_read_acks(&mut sender, ROUNDS).await;
    assert_in_order(&mut receivers, workers).await;
    drop(receivers);
    drop(sender);
    server.shutdown().await;
}

/// The same from a thread that is not a worker: the server's handle,
/// publishing from the test's own runtime.
async fn check_from_outside(workers: usize) {
    let (server, mut receivers) = room(workers).await;
    for n in 0..ROUNDS {
        server.handle.publish("plain", format!("p {n}"));
        server.handle.publish("hist", format!("h {n}"));
    }
    assert_in_order(&mut receivers, workers).await;
    drop(receivers);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_outside_the_workers() {
    check_from_outside(2).await;
}

#[tokio::test]
async fn on_one_worker() {
    check(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers() {
    check(2).await;
}
