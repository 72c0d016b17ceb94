//! A peer stays subscribed on node B while the topic's stream is deleted
//! and then made again by node A's next publishes: B notices the new
//! epoch by itself and delivers the new stream's messages from its first,
//! positioned in the new epoch.

use std::time::Duration;

use crosswire::broker::BrokerStage;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_moves_to_a_stream_made_again() {
    let nats = Nats::start().await;
    let a = Node::start(&nats, 100).await;
    let b = Node::start(&nats, 100).await;

    let (mut peer, _, _) = b.peer(None).await;
    a.publish(1);
    let (_, first) = peer.next_feed().await;
    assert_eq!(first.offset(), 1);

    assert_eq!(nats.delete_streams().await, 1);

    // Appends sent before A learns the stream is gone are lost (and
    // reported); A publishes until B delivers one.
    let mut n = 2;
    let got = loop {
        a.publish(n);
        n += 1;
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), peer.next_feed()).await {
            break got;
        }
        assert!(n < 200, "nothing delivered after the stream was made again");
    };
    assert_ne!(got.1.epoch(), first.epoch());
    assert!(
        a.errors_at(BrokerStage::History) > 0,
        "lost appends are reported"
    );
    assert_eq!(got.1.offset(), 1, "{got:?}");
    // The rest follow in order in the new epoch.
    a.publish(1000);
    let mut previous = got;
    loop {
        let next = peer.next_feed().await;
        assert_eq!(next.1.epoch(), previous.1.epoch());
        assert_eq!(next.1.offset(), previous.1.offset() + 1);
        assert!(next.0 > previous.0);
        if next.0 == 1000 {
            break;
        }
        previous = next;
    }
}
