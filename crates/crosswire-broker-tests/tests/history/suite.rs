//! The history tests, each run against every engine that keeps history.

use std::sync::Arc;
use std::time::Duration;

use crosswire::HistoryConfig;

use crate::engine::Engine;
use crate::feed::{EventClient, FeedClient, FeedNode, Held, wait_subscribers};
use crate::node::NodeOptions;

/// Messages the publisher sends, about one a millisecond.
const PUBLISHES: u64 = 2500;

fn rules() -> Vec<HistoryConfig> {
    vec![
        HistoryConfig::for_topics(["feed"]).size(10_000),
        HistoryConfig::for_topics(["tiny"]).size(5),
    ]
}

async fn nodes(engine: &Engine) -> (Arc<FeedNode>, Arc<FeedNode>) {
    let options = NodeOptions::default();
    let a = FeedNode::start(engine.broker(&options).await, rules()).await;
    let b = FeedNode::start(engine.broker(&options).await, rules()).await;
    (Arc::new(a), Arc::new(b))
}

/// A watcher on `node`'s `feed`, and the two messages `node` published to
/// it, as the watcher got them.
async fn two_published(node: &FeedNode) -> (FeedClient, Held, Held) {
    let (mut watcher, _, _) = FeedClient::connect(node.addr, "feed", None).await;
    wait_subscribers(node, "feed", 1).await;
    node.publish("feed", 1);
    let first = watcher.next().await;
    node.publish("feed", 2);
    let second = watcher.next().await;
    (watcher, first, second)
}

/// Reads from a WebSocket client until it holds `last`.
async fn ws_until(client: &mut FeedClient, held: &mut Vec<Held>, last: &Held) {
    while held.last() != Some(last) {
        held.push(client.next().await);
    }
}

/// Reads from an event-stream client until it holds `last`.
async fn sse_until(client: &mut EventClient, held: &mut Vec<Held>, last: &Held) {
    while held.last() != Some(last) {
        held.push(client.next_held().await);
    }
}

/// A publisher on both nodes at about 1 000 messages a second; WebSocket
/// and event-stream clients drop out for two seconds and come back, to the
/// same node and to the other one, with their last position. Each ends up
/// with exactly the sequence a client that never left holds: every message,
/// once, in one order, with the same positions on both nodes.
pub async fn reconnecting_clients_get_exactly_what_they_missed(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (mut watcher, _, _) = FeedClient::connect(b.addr, "feed", None).await;
    let (mut ws_same, _, _) = FeedClient::connect(a.addr, "feed", None).await;
    let (mut ws_other, _, _) = FeedClient::connect(a.addr, "feed", None).await;
    let mut sse_same = EventClient::connect(a.addr, "feed", None).await;
    let mut sse_other = EventClient::connect(a.addr, "feed", None).await;
    wait_subscribers(&a, "feed", 4).await;

    let publisher = {
        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
        tokio::spawn(async move {
            for n in 1..=PUBLISHES {
                let node = if n % 2 == 0 { &a } else { &b };
                node.publish("feed", n);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };

    let mut held = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..100 {
        held[0].push(ws_same.next().await);
        held[1].push(ws_other.next().await);
        held[2].push(sse_same.next_held().await);
        held[3].push(sse_other.next_held().await);
    }
    drop((ws_same, ws_other, sse_same, sse_other));
    tokio::time::sleep(Duration::from_secs(2)).await;

    let since = |held: &Vec<Held>| held.last().map(|h| h.position.clone());
    let (mut ws_same, replayed, status) =
        FeedClient::connect(a.addr, "feed", since(&held[0]).as_ref()).await;
    assert!(status.recovered, "same node: {status:?}");
    held[0].extend(replayed);
    let (mut ws_other, replayed, status) =
        FeedClient::connect(b.addr, "feed", since(&held[1]).as_ref()).await;
    assert!(status.recovered, "other node: {status:?}");
    held[1].extend(replayed);
    let last_id = |held: &Vec<Held>| held.last().map(|h| h.position.to_string());
    let mut sse_same = EventClient::connect(a.addr, "feed", last_id(&held[2]).as_deref()).await;
    let mut sse_other = EventClient::connect(b.addr, "feed", last_id(&held[3]).as_deref()).await;

    publisher.await.unwrap();
    let mut reference = Vec::new();
    while reference.len() < PUBLISHES as usize {
        reference.push(watcher.next().await);
    }
    let mut numbers: Vec<u64> = reference.iter().map(|h| h.n).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=PUBLISHES).collect::<Vec<_>>());
    let epoch = reference[0].position.epoch().to_owned();
    for (index, message) in reference.iter().enumerate() {
        assert_eq!(message.position.epoch(), epoch);
        assert_eq!(message.position.offset(), index as u64 + 1);
    }
    let last = reference.last().unwrap();
    ws_until(&mut ws_same, &mut held[0], last).await;
    ws_until(&mut ws_other, &mut held[1], last).await;
    sse_until(&mut sse_same, &mut held[2], last).await;
    sse_until(&mut sse_other, &mut held[3], last).await;
    for (name, held) in ["ws same", "ws other", "sse same", "sse other"]
        .iter()
        .zip(&held)
    {
        assert!(*held == reference, "{name}: not the reference sequence");
    }
}

/// A client further behind than the history keeps is told so: `recovered`
/// false for a WebSocket peer, `event: recovery` for a stream, both with
/// the latest position, and then gets the live messages.
pub async fn a_gap_longer_than_the_history_is_reported(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (mut watcher, _, _) = FeedClient::connect(b.addr, "tiny", None).await;
    let (mut ws, _, _) = FeedClient::connect(a.addr, "tiny", None).await;
    let mut sse = EventClient::connect(a.addr, "tiny", None).await;
    wait_subscribers(&a, "tiny", 2).await;
    a.publish("tiny", 1);
    let first = ws.next().await;
    assert_eq!(sse.next_held().await, first);
    drop((ws, sse));
    for n in 2..=20 {
        b.publish("tiny", n);
    }
    let mut last = watcher.next().await;
    while last.n != 20 {
        last = watcher.next().await;
    }
    let (mut ws, replayed, status) =
        FeedClient::connect(b.addr, "tiny", Some(&first.position)).await;
    assert!(!status.recovered);
    assert!(replayed.is_empty(), "{replayed:?}");
    assert_eq!(status.position.as_ref(), Some(&last.position));
    let mut sse = EventClient::connect(b.addr, "tiny", Some(&first.position.to_string())).await;
    let event = sse.next().await;
    assert_eq!(event.event.as_deref(), Some("recovery"), "{event:?}");
    assert_eq!(event.id, Some(last.position.to_string()));
    assert!(event.data.contains("\"recovered\":false"), "{}", event.data);
    wait_subscribers(&b, "tiny", 3).await;
    a.publish("tiny", 21);
    let live = ws.next().await;
    assert_eq!((live.n, live.position.offset()), (21, 21));
    assert_eq!(sse.next_held().await, live);
}

/// When the broker loses a topic's history (`forget`), the next one starts
/// a new epoch: a client holding a position of the old one is told its
/// history is lost, and carries on in the new epoch.
pub async fn a_lost_history_starts_a_new_epoch(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (mut ws, _, _) = FeedClient::connect(a.addr, "feed", None).await;
    a.publish("feed", 1);
    let old = ws.next().await;
    drop(ws);
    engine.forget_history().await;
    let (mut ws, replayed, status) = FeedClient::connect(b.addr, "feed", Some(&old.position)).await;
    assert!(!status.recovered, "{status:?}");
    assert!(replayed.is_empty());
    let new_epoch = status.position.expect("a position").epoch().to_owned();
    assert_ne!(new_epoch, old.position.epoch());
    a.publish("feed", 2);
    let next = ws.next().await;
    assert_eq!(
        (next.position.epoch(), next.position.offset(), next.n),
        (&*new_epoch, 1, 2)
    );
}

/// A client that recovered is not held back by where the old epoch ended:
/// when the broker then loses the topic's history, the new epoch's first
/// messages (offsets the client's old position had passed) reach it.
pub async fn a_recovered_client_gets_the_next_epoch_from_its_start(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (mut watcher, _, _) = FeedClient::connect(b.addr, "feed", None).await;
    wait_subscribers(&b, "feed", 1).await;
    for n in 1..=5 {
        a.publish("feed", n);
    }
    let first = watcher.next().await;
    let mut last = first.clone();
    while last.n != 5 {
        last = watcher.next().await;
    }
    let (mut ws, replayed, status) =
        FeedClient::connect(a.addr, "feed", Some(&first.position)).await;
    assert!(status.recovered, "{status:?}");
    assert_eq!(
        replayed.iter().map(|h| h.n).collect::<Vec<_>>(),
        [2, 3, 4, 5]
    );

    engine.forget_history().await;
    for n in 6..=8 {
        b.publish("feed", n);
    }
    let new_epoch = {
        let next = watcher.next().await;
        assert_eq!((next.position.offset(), next.n), (1, 6));
        assert_ne!(next.position.epoch(), last.position.epoch());
        next.position.epoch().to_owned()
    };
    for (offset, n) in [(1, 6), (2, 7), (3, 8)] {
        let next = ws.next().await;
        assert_eq!(
            (next.position.epoch(), next.position.offset(), next.n),
            (&*new_epoch, offset, n)
        );
    }
}

/// A node whose subscriptions Redis refuses (its user may use no channel)
/// can still read the history, but cannot promise what is appended after
/// the read: a client recovering there is told its history is lost, not
/// replayed up to a hole, and the node keeps serving.
pub async fn a_recovery_the_broker_did_not_confirm_is_not_promised(engine: Engine) {
    let a = FeedNode::start(engine.broker(&NodeOptions::default()).await, rules()).await;
    let (_watcher, first, second) = two_published(&a).await;
    engine
        .add_redis_user_without_channels("reader", "secret")
        .await;
    let options = NodeOptions {
        user: Some("reader:secret"),
        ..NodeOptions::default()
    };
    let b = FeedNode::start(engine.broker(&options).await, rules()).await;
    let (_client, replayed, status) =
        FeedClient::connect(b.addr, "feed", Some(&first.position)).await;
    assert!(
        !status.recovered && replayed.is_empty(),
        "{status:?} {replayed:?}"
    );
    assert_eq!(
        status.position.as_ref().map(|p| p.epoch().to_owned()),
        Some(second.position.epoch().to_owned()),
        "{status:?}"
    );
    // The node still answers, and recovers nothing it cannot promise.
    let (_again, replayed, status) =
        FeedClient::connect(b.addr, "feed", Some(&first.position)).await;
    assert!(!status.recovered && replayed.is_empty(), "{status:?}");
}

/// Redis forgets the history script while a node publishes (`SCRIPT
/// FLUSH`): the node loads it again and sends what Redis refused, so no
/// publish is lost and the offsets stay contiguous.
pub async fn publishes_survive_the_broker_forgetting_its_script(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (mut watcher, _, _) = FeedClient::connect(b.addr, "feed", None).await;
    wait_subscribers(&b, "feed", 1).await;
    a.publish("feed", 1);
    let first = watcher.next().await;
    engine.flush_redis_scripts().await;
    for n in 2..=50 {
        a.publish("feed", n);
    }
    for n in 2..=50 {
        let next = watcher.next().await;
        assert_eq!(
            (next.position.epoch(), next.position.offset(), next.n),
            (first.position.epoch(), n, n)
        );
    }
}

/// A node that read the broker's history and then stopped closes every
/// connection to the broker, the one it reads history on included, while
/// its handle is still held.
pub async fn a_stopped_node_closes_every_broker_connection(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (watcher, first, _) = two_published(&a).await;
    // `b` holds none of the topic's history: it reads the broker's log.
    let (ws, replayed, status) = FeedClient::connect(b.addr, "feed", Some(&first.position)).await;
    assert!(
        status.recovered && replayed.len() == 1,
        "{status:?} {replayed:?}"
    );
    drop((ws, watcher, a));
    let mut b = Arc::into_inner(b).expect("one handle");
    b.stop();
    engine.wait_no_broker_connections().await;
    drop(b);
}

/// An event stream subscribed from a thread outside any runtime, on a node
/// that would have to read the broker's log to recover it: nothing can read
/// it there, so the stream is told (`event: recovery`) and goes live.
pub async fn a_stream_subscribed_outside_a_runtime_is_told_and_goes_live(engine: Engine) {
    let (a, b) = nodes(&engine).await;
    let (_watcher, first, second) = two_published(&a).await;
    // A client with no position on `b`: its answer comes once `b`'s broker
    // subscription is in effect, so what `a` publishes next reaches `b`.
    // It reads no history, so `b` still holds none of messages 1 and 2.
    let (_listener, _, _) = FeedClient::connect(b.addr, "feed", None).await;
    let id = first.position.to_string();
    let mut sse = EventClient::connect_from_thread(b.addr, "feed", Some(&id)).await;
    let event = sse.next().await;
    assert_eq!(event.event.as_deref(), Some("recovery"), "{event:?}");
    assert!(event.data.contains("\"recovered\":false"), "{}", event.data);
    assert_eq!(event.id, Some(second.position.to_string()));
    // Without a position: joined, and no recovery event.
    let mut fresh = EventClient::connect_from_thread(b.addr, "feed", None).await;
    wait_subscribers(&b, "feed", 3).await;
    a.publish("feed", 3);
    let live = sse.next_held().await;
    assert_eq!((live.n, live.position.offset()), (3, 3));
    assert_eq!(fresh.next_held().await, live);
}
