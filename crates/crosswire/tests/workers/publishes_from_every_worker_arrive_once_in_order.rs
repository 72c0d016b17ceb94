//! Peers on every worker, tasks spawned on workers, and a thread outside
//! them all publish to one topic at once; every WebSocket and event-stream
//! subscriber gets each message exactly once, in each producer's order.

use std::time::Duration;

use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::SseClient;
use crate::common::*;
use crate::support::*;

const PER_CLIENT: u64 = 150;
const BURST: u64 = 80;
const FROM_OUTSIDE: u64 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_from_every_worker_arrive_once_in_order() {
    for seed in 1..=seeds() {
        let mut rng = Rng::new(seed);
        let workers = 2 + rng.below(3) as usize;
        let peers = 4 + rng.below(6) as usize;
        let streams = 1 + rng.below(3) as usize;
        run(seed, workers, peers, streams).await;
    }
}

async fn run(seed: u64, workers: usize, peers: usize, streams: usize) {
    let events = get(|request: axum::extract::Request| async move {
        let stream = crosswire::create_event_stream(&request);
        stream.subscribe("t");
        stream.send()
    });
    let app = crosswire::App::with_config(config(workers))
        .websocket("/ws", hooks_for_t())
        .route("/events", events);
    let server = start(app).await;
    let context = format!("seed {seed}, {workers} workers, {peers} peers, {streams} streams");

    let mut sse = Vec::new();
    for _ in 0..streams {
        sse.push(SseClient::get(server.addr, "/events", "").await);
    }
    let mut clients = Vec::new();
    for _ in 0..peers {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        clients.push(client);
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("t") != peers + streams {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{context}: subscribers"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Every peer receives everything but its own messages; streams get all.
    let per_peer_source = PER_CLIENT + BURST;
    let expected_peer = (peers as u64 - 1) * per_peer_source + FROM_OUTSIDE;
    let expected_stream = peers as u64 * per_peer_source + FROM_OUTSIDE;

    // Each task returns its connection, kept open until every receiver is
    // done: a client that leaves early would take its own publishes with it.
    let mut tasks: Vec<tokio::task::JoinHandle<Box<dyn std::any::Any + Send>>> = Vec::new();
    for (index, client) in clients.into_iter().enumerate() {
        let (mut sink, mut stream) = client.split();
        let who = format!("{context}: peer {index}");
        tasks.push(tokio::spawn(async move {
            let mut batch = Vec::new();
            for seq in 0..PER_CLIENT {
                batch.push(format!("pub c{index} {seq}"));
                if seq == PER_CLIENT / 2 {
                    batch.push(format!("burst b{index} {BURST}"));
                }
            }
            let sender = tokio::spawn(async move {
                for text in batch {
                    sink.feed(WsMessage::text(text)).await.unwrap();
                }
                sink.flush().await.unwrap();
                sink
            });
            let seen = read_sequences(&mut stream, &who, expected_peer).await;
            assert_eq!(seen.from(&format!("c{index}")), 0, "{who}: got its own");
            let kept: Box<dyn std::any::Any + Send> = Box::new((sender.await.unwrap(), stream));
            kept
        }));
    }
    for (index, mut client) in sse.into_iter().enumerate() {
        let who = format!("{context}: stream {index}");
        tasks.push(tokio::spawn(async move {
            let mut seen = Sequences::default();
            while seen.received < expected_stream {
                let event = client.next_data().await;
                let data = event
                    .strip_prefix("data: ")
                    .and_then(|rest| rest.strip_suffix("\n\n"))
                    .unwrap_or_else(|| panic!("{who}: unexpected event {event:?}"));
                seen.record(&who, data);
            }
            let kept: Box<dyn std::any::Any + Send> = Box::new(client);
            kept
        }));
    }
    // A thread outside every worker publishes too.
    let handle = server.handle.clone();
    let outside = std::thread::spawn(move || {
        for seq in 0..FROM_OUTSIDE {
            handle.publish("t", format!("outside {seq}"));
        }
    });
    outside.join().unwrap();
    let mut connections = Vec::new();
    for task in tasks {
        let connection = tokio::time::timeout(PATIENCE * 4, task)
            .await
            .unwrap_or_else(|_| panic!("{context}: a receiver did not finish"))
            .unwrap();
        connections.push(connection);
    }
    drop(connections);
    server.shutdown().await;
}
