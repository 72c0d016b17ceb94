//! Deleting a topic's stream loses its history: a client with a position
//! from the old stream is told it did not recover, with a new epoch, and
//! the topic's positions start again at 1 in that epoch.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_stream_starts_a_new_epoch() {
    let nats = Nats::start().await;
    let a = Node::start(&nats, 100).await;
    let b = Node::start(&nats, 100).await;

    let (mut peer, _, _) = b.peer(None).await;
    for n in 1..=3 {
        a.publish(n);
    }
    let mut last = None;
    for _ in 1..=3 {
        last = Some(peer.next_feed().await.1);
    }
    let last = last.unwrap();
    assert_eq!(last.offset(), 3);
    drop(peer);
    b.wait_subscribers(0).await;

    assert_eq!(nats.delete_streams().await, 1);

    let (mut peer, report, replayed) = b.peer(Some(&last)).await;
    assert_eq!(report["recovered"], false, "{report}");
    assert!(replayed.is_empty());
    let position: crosswire::history::StreamPosition =
        report["position"].as_str().unwrap().parse().unwrap();
    assert_ne!(position.epoch(), last.epoch(), "{report}");
    assert_eq!(position.offset(), 0, "{report}");

    let mut events = a.events(Some(&last)).await;
    let recovery = events.next().await;
    assert_eq!(recovery.name.as_deref(), Some("recovery"), "{recovery:?}");
    assert_eq!(recovery.id, Some(format!("{}:0", position.epoch())));

    a.publish(4);
    let (n, got) = peer.next_feed().await;
    assert_eq!((n, got.to_string()), (4, format!("{}:1", position.epoch())));
    let (n, got) = events.next().await.feed();
    assert_eq!((n, got.to_string()), (4, format!("{}:1", position.epoch())));
}
