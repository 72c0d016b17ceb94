//! Node A logs in as a user whose stream lookups JetStream never answers,
//! while core NATS serves it as usual. A's first append to `feed` waits
//! for a lookup answer (and asks again), but A's publishes to `chat`, a
//! topic without history, reach node B's peers at once and in order.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_stream_lookup_holds_no_plain_publish() {
    let nats = Nats::start_with_users().await;
    let a = Node::start_at(&nats.url_as("streamless"), 100).await;
    let b = Node::start(&nats, 100).await;
    let mut listener = b.chat_peer().await;

    // B's interest reaches NATS after its peer subscribed: publish until
    // one arrives (warm-up messages count from WARM_UP).
    const WARM_UP: u64 = 1_000_000;
    for n in WARM_UP.. {
        a.chat(n);
        if tokio::time::timeout(Duration::from_millis(200), listener.next_json())
            .await
            .is_ok()
        {
            break;
        }
    }

    a.publish(1);
    // Well under the lookup's own timeout (3 s), let alone its retries.
    let started = tokio::time::Instant::now();
    for n in 1..=20 {
        a.chat(n);
        let value = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                let value = listener.next_json().await;
                if value["n"].as_u64() < Some(WARM_UP) {
                    return value;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("chat message {n} held behind the append"));
        assert_eq!(value["n"], n, "{value}");
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(a.errors_at(crosswire::broker::BrokerStage::History), 0);
}
