//! Subscribers that stay get every message once, in order, while other
//! peers subscribe, unsubscribe and disconnect on every worker in the middle
//! of a stream of publishes; and a peer gets nothing from the topic between
//! its `unsubscribe` returning and its next `subscribe`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::*;
use crate::support::*;

const PER_PUBLISHER: u64 = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_arrives_after_unsubscribe_while_publishes_race() {
    for seed in 1..=seeds() {
        let mut rng = Rng::new(seed ^ 0xC0FFEE);
        let workers = 2 + rng.below(3) as usize;
        run(seed, workers, &mut rng).await;
    }
}

async fn run(seed: u64, workers: usize, rng: &mut Rng) {
    let app = crosswire::App::with_config(config(workers)).websocket("/ws", hooks_for_t());
    let server = start(app).await;
    let context = format!("seed {seed}, {workers} workers");

    let stable_count = 4;
    let publisher_count = 3;
    let churner_count = 4;
    let mut stable = Vec::new();
    for _ in 0..stable_count {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        stable.push(client);
    }
    let mut publishers = Vec::new();
    for _ in 0..publisher_count {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        publishers.push(client);
    }

    // Stable subscribers: every publisher's messages, once, in order.
    let expected = publisher_count as u64 * PER_PUBLISHER;
    let mut receivers = Vec::new();
    for (index, client) in stable.into_iter().enumerate() {
        let who = format!("{context}: stable {index}");
        receivers.push(tokio::spawn(async move {
            let (sink, mut stream) = client.split();
            read_sequences(&mut stream, &who, expected).await;
            (sink, stream)
        }));
    }

    // Churners: unsubscribe, check silence, subscribe again; some leave and
    // come back as new connections.
    let mut churners = Vec::new();
    for index in 0..churner_count {
        let url = server.url("/ws");
        let who = format!("{context}: churner {index}");
        let mut churn_rng = Rng::new(rng.next());
        churners.push(tokio::spawn(async move {
            for _round in 0..6 {
                let (mut client, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
                assert_eq!(next_text(&mut client).await, "ready");
                for _cycle in 0..(1 + churn_rng.below(4)) {
                    send_text(&mut client, "unsub").await;
                    // Topic messages may still arrive before the marker...
                    while next_text(&mut client).await != "unsubscribed" {}
                    tokio::time::sleep(Duration::from_micros(churn_rng.below(3000))).await;
                    send_text(&mut client, "sub").await;
                    // ...but none between it and the next subscribe.
                    let text = next_text(&mut client).await;
                    assert_eq!(
                        text, "subscribing",
                        "{who}: got {text:?} while unsubscribed"
                    );
                    while next_text(&mut client).await != "subscribed" {}
                }
                if churn_rng.below(2) == 0 {
                    let _ = client.close(None).await;
                }
                // Otherwise the connection is simply dropped mid-stream.
            }
        }));
    }

    // Publishers, started while the churn goes on.
    let mut sends = Vec::new();
    for (index, client) in publishers.into_iter().enumerate() {
        sends.push(tokio::spawn(async move {
            let (mut sink, stream) = client.split();
            for seq in 0..PER_PUBLISHER {
                sink.feed(WsMessage::text(format!("pub p{index} {seq}")))
                    .await
                    .unwrap();
                if seq % 50 == 0 {
                    sink.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
            sink.flush().await.unwrap();
            (sink, stream)
        }));
    }
    let mut keep = Vec::new();
    for send in sends {
        keep.push(send.await.unwrap());
    }
    for churner in churners {
        tokio::time::timeout(PATIENCE * 4, churner)
            .await
            .unwrap_or_else(|_| panic!("{context}: a churner did not finish"))
            .unwrap();
    }
    let mut kept = Vec::new();
    for receiver in receivers {
        kept.push(
            tokio::time::timeout(PATIENCE * 4, receiver)
                .await
                .unwrap_or_else(|_| panic!("{context}: a stable subscriber did not finish"))
                .unwrap(),
        );
    }
    drop((keep, kept));
    // Everyone has left: no topic entry may outlive its subscribers.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !server.handle.topics().is_empty() || server.handle.peer_count() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{context}: topics {:?} and {} peers left after every client",
            server.handle.topics(),
            server.handle.peer_count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.shutdown().await;
}
