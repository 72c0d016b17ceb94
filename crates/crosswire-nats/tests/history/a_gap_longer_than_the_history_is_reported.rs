//! A client further behind than the stream keeps (`size` 5) is told it did
//! not recover (`recovered: false` for a peer, `event: recovery` for an
//! event stream), then goes live.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_longer_than_the_history_is_reported() {
    let nats = Nats::start().await;
    let a = Node::start(&nats, 5).await;
    let b = Node::start(&nats, 5).await;

    let (mut peer, _, _) = b.peer(None).await;
    a.publish(1);
    let (_, first) = peer.next_feed().await;
    let epoch = first.epoch().to_owned();
    drop(peer);
    b.wait_subscribers(0).await;
    for n in 2..=12 {
        a.publish(n);
    }

    // Wait until all 12 are stored: a peer with no position reports the top.
    let top = loop {
        let (_, report, _) = a.peer(None).await;
        if report["position"] == format!("{epoch}:12") {
            break report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(top["recovered"], true);
    a.wait_subscribers(0).await;

    let mut events = a.events(Some(&first)).await;
    let recovery = events.next().await;
    assert_eq!(recovery.name.as_deref(), Some("recovery"), "{recovery:?}");
    assert_eq!(recovery.id, Some(format!("{epoch}:12")));
    let data: serde_json::Value = serde_json::from_str(&recovery.data).unwrap();
    assert_eq!(data["recovered"], false, "{data}");

    let (mut peer, report, replayed) = a.peer(Some(&first)).await;
    assert_eq!(report["recovered"], false, "{report}");
    assert_eq!(report["replayed"], 0, "{report}");
    assert_eq!(report["position"], format!("{epoch}:12"), "{report}");
    assert!(replayed.is_empty());

    a.wait_subscribers(2).await;
    b.publish(13);
    assert_eq!(peer.next_feed().await.1.to_string(), format!("{epoch}:13"));
    assert_eq!(
        events.next().await.feed().1.to_string(),
        format!("{epoch}:13")
    );
}
