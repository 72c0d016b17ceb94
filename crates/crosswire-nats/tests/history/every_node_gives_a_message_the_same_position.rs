//! Both nodes publish to `feed`, interleaved: a peer on each node receives
//! every message, in the same order, with the same position, and the
//! offsets go up by exactly one.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_gives_a_message_the_same_position() {
    let nats = Nats::start().await;
    let a = Node::start(&nats, 100).await;
    let b = Node::start(&nats, 100).await;
    let (mut on_a, _, _) = a.peer(None).await;
    let (mut on_b, _, _) = b.peer(None).await;

    for n in 1..=40 {
        if n % 2 == 0 { &a } else { &b }.publish(n);
    }
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 1..=40 {
        seen_a.push(on_a.next_feed().await);
        seen_b.push(on_b.next_feed().await);
    }
    assert_eq!(seen_a, seen_b);
    let epoch = seen_a[0].1.epoch();
    for (i, (_, position)) in seen_a.iter().enumerate() {
        assert_eq!(position.epoch(), epoch);
        assert_eq!(position.offset(), i as u64 + 1);
    }
    let mut ns: Vec<u64> = seen_a.iter().map(|(n, _)| *n).collect();
    // Each node's own publishes keep their order.
    let odd: Vec<u64> = ns.iter().copied().filter(|n| n % 2 == 1).collect();
    let even: Vec<u64> = ns.iter().copied().filter(|n| n % 2 == 0).collect();
    assert!(odd.windows(2).all(|w| w[0] < w[1]), "{odd:?}");
    assert!(even.windows(2).all(|w| w[0] < w[1]), "{even:?}");
    ns.sort_unstable();
    assert_eq!(ns, (1..=40).collect::<Vec<_>>());
}
