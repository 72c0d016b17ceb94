//! A hook that publishes and then sends, many times in one read, has every
//! receiver see them in the order it made them: the publishes a connection
//! makes during one poll are delivered together, and a send that could
//! overtake them waits for them.

use crosswire::prelude::*;

use crate::common::{config, go_and_read_acks};
use crate::support::*;

/// `go N`: publish `p N` to `t`, send `s N` to every other peer, then
/// `ack N` to the sender (which every publish skips).
fn publish_then_send() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("t");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            let Some(n) = text.strip_prefix("go ") else {
                return;
            };
            peer.publish("t", format!("p {n}"));
            for other in peer.peers() {
                if other.id() != peer.id() {
                    other.send(format!("s {n}"));
                }
            }
            peer.send(format!("ack {n}"));
        })
}

async fn check(workers: usize) {
    const ROUNDS: usize = 300;
    let app = App::with_config(config(workers)).websocket("/ws", publish_then_send());
    let server = start(app).await;
    let mut receivers = Vec::new();
    for _ in 0..3 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        receivers.push(client);
    }
    let mut sender = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut sender).await, "ready");

    go_and_read_acks(&mut sender, ROUNDS).await;
    for (who, receiver) in receivers.iter_mut().enumerate() {
        for n in 0..ROUNDS {
            let published = next_text(receiver).await;
            assert_eq!(
                published,
                format!("p {n}"),
                "receiver {who}, workers {workers}"
            );
            let sent = next_text(receiver).await;
            assert_eq!(sent, format!("s {n}"), "receiver {who}, workers {workers}");
        }
    }
    drop(receivers);
    drop(sender);
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
