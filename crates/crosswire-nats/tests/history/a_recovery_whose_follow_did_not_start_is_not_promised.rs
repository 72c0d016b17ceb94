//! Node B logs in as a user NATS lets read a stream's messages but not
//! make the consumer that follows it: B can read the history, but what is
//! appended after its read would never reach it. A client recovering on B
//! is told its history is lost instead of being replayed up to that hole,
//! and B goes on answering.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_whose_follow_did_not_start_is_not_promised() {
    let nats = Nats::start_with_users().await;
    let a = Node::start(&nats, 100).await;
    let (mut watcher, _, _) = a.peer(None).await;
    a.wait_subscribers(1).await;
    a.publish(1);
    a.publish(2);
    let first = watcher.next_feed().await;
    let second = watcher.next_feed().await;
    assert_eq!((first.0, second.0), (1, 2));

    let b = Node::start_at(&nats.url_as("reader"), 100).await;
    for _ in 0..2 {
        let (_peer, report, replayed) = b.peer(Some(&first.1)).await;
        assert_eq!(report["recovered"], false, "{report}");
        assert!(replayed.is_empty(), "{replayed:?}");
        assert_eq!(
            report["position"],
            second.1.to_string(),
            "the latest position is still given"
        );
    }
}
