//! NATS is killed and started again on the same store: the stream, its
//! epoch and its sequence survive (file storage), node B's follow resumes
//! by itself right after the last message it delivered, and a client with
//! a position from before the restart recovers on node A.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_nats_server_keeps_the_epoch() {
    let mut nats = Nats::start().await;
    let a = Node::start(&nats, 100).await;
    let b = Node::start(&nats, 100).await;

    let (mut peer, _, _) = b.peer(None).await;
    for n in 1..=5 {
        a.publish(n);
    }
    let mut before = Vec::new();
    for _ in 1..=5 {
        before.push(peer.next_feed().await);
    }
    let last = before.last().unwrap().1.clone();
    assert_eq!(last.offset(), 5);

    nats.restart().await;

    // Publishes made while A reconnects may be lost; A publishes until B
    // delivers one. Whatever it is, it is the stream's next position.
    let mut n = 6;
    let got = loop {
        a.publish(n);
        n += 1;
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), peer.next_feed()).await {
            break got;
        }
        assert!(n < 200, "nothing delivered after the restart");
    };
    assert_eq!(got.1.to_string(), format!("{}:6", last.epoch()), "{got:?}");

    let (_, report, replayed) = a.peer(Some(&last)).await;
    assert_eq!(report["recovered"], true, "{report}");
    assert_eq!(
        replayed.first().map(|m| m.1.to_string()),
        Some(got.1.to_string())
    );
    let top = report["position"].as_str().unwrap();
    assert!(top.starts_with(&format!("{}:", last.epoch())), "{report}");
}
