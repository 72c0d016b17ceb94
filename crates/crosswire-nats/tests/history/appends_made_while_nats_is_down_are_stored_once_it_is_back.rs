//! NATS goes down before node A has appended anything to `feed`, and stays
//! down longer than a JetStream request waits for its answer while A
//! publishes 1 to 5. A keeps asking for the stream, so once NATS is back
//! the five are stored, and node B's peer gets each of them once, in
//! order, at the stream's next positions. Nothing is reported lost.

use std::time::Duration;

use crosswire::broker::BrokerStage;

use crate::support::*;

/// Longer than the publish task waits for the answer to a stream lookup
/// (3 s), twice over: the lookup goes unanswered at least once.
const OUTAGE: Duration = Duration::from_secs(7);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_made_while_nats_is_down_are_stored_once_it_is_back() {
    let mut nats = Nats::start().await;
    let a = Node::start(&nats, 100).await;
    let b = Node::start(&nats, 100).await;

    // B's peer makes the stream (an epoch, nothing in it yet); A has not
    // looked it up.
    let (mut peer, report, replayed) = b.peer(None).await;
    assert!(replayed.is_empty());
    let start = report["position"].as_str().unwrap().to_owned();
    let epoch = start
        .strip_suffix(":0")
        .expect("an empty stream")
        .to_owned();

    nats.kill();
    for n in 1..=5 {
        a.publish(n);
    }
    tokio::time::sleep(OUTAGE).await;
    nats.start_again().await;

    let mut got = Vec::new();
    for _ in 1..=5 {
        let (n, position) = peer.next_feed().await;
        got.push((n, position.to_string()));
    }
    let expected: Vec<(u64, String)> = (1..=5).map(|n| (n, format!("{epoch}:{n}"))).collect();
    assert_eq!(got, expected);
    assert_eq!(
        a.error_messages(BrokerStage::History),
        Vec::<String>::new(),
        "nothing was lost"
    );
}
