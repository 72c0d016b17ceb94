//! A hook that publishes to a topic and then pushes to event streams of
//! other workers directly: each stream gets the publish first, although the
//! publish was handed to the stream's worker and the push was not.

use std::sync::{Arc, Mutex};

use crosswire::prelude::*;

use crate::client::{SseClient, stream_route};
use crate::common::{config, go_and_read_acks};
use crate::support::*;

const STREAMS: usize = 4;
const ROUNDS: usize = 200;

async fn check(workers: usize) {
    let streams: Arc<Mutex<Vec<EventStream>>> = Arc::default();
    let (route, mut made) = stream_route(|stream| stream.subscribe("t"));
    let in_hook = Arc::clone(&streams);
    // `go N`: publish `p N` to `t`, then push `s N` to every stream.
    let control = hooks()
        .open(|peer: Peer| async move { peer.send("ready") })
        .message(move |peer: Peer, message: Message| {
            let streams = Arc::clone(&in_hook);
            async move {
                let text = message.text();
                let Some(n) = text.strip_prefix("go ") else {
                    return;
                };
                peer.publish("t", format!("p {n}"));
                let streams = streams.lock().unwrap().clone();
                for stream in &streams {
                    stream.push(format!("s {n}"));
                }
                peer.send(format!("ack {n}"));
            }
        });
    let app = App::with_config(config(workers))
        .route("/events", route)
        .websocket("/ws", control);
    let server = start(app).await;

    // Connections are spread over the workers as they come: the streams
    // land on every worker, the controller on one of them.
    let mut clients = Vec::new();
    for _ in 0..STREAMS {
        clients.push(SseClient::get(server.addr, "/events", "").await);
        let stream = tokio::time::timeout(PATIENCE, made.recv())
            .await
            .expect("no stream made")
            .unwrap();
        streams.lock().unwrap().push(stream);
    }
    let mut controller = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut controller).await, "ready");
    go_and_read_acks(&mut controller, ROUNDS).await;

    for (who, client) in clients.iter_mut().enumerate() {
        for n in 0..ROUNDS {
            for expected in [format!("data: p {n}\n\n"), format!("data: s {n}\n\n")] {
                let got = client.next_data().await;
                assert_eq!(got, expected, "stream {who}, {workers} workers");
            }
        }
    }
    streams.lock().unwrap().clear();
    drop((clients, controller));
    server.shutdown().await;
}

#[tokio::test]
async fn on_one_worker() {
    check(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers() {
    check(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_three_workers() {
    check(3).await;
}
