//! The accept loop gives each connection to the worker with the fewest, and
//! a connection's hooks all run on its worker's thread.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crosswire::prelude::*;

use crate::common::config;
use crate::support::*;

/// The threads each peer's hooks ran on, by peer id.
type ThreadsByPeer = Arc<Mutex<HashMap<String, HashSet<std::thread::ThreadId>>>>;

fn record_thread(threads: &ThreadsByPeer, peer: &Peer) {
    let id = std::thread::current().id();
    threads
        .lock()
        .unwrap()
        .entry(peer.to_string())
        .or_default()
        .insert(id);
}

#[tokio::test]
async fn connections_spread_evenly_and_stay_on_their_thread() {
    let threads: ThreadsByPeer = Arc::default();
    let (open_threads, message_threads) = (Arc::clone(&threads), Arc::clone(&threads));
    let handler = hooks()
        .open(move |peer: Peer| {
            let threads = Arc::clone(&open_threads);
            async move {
                record_thread(&threads, &peer);
                peer.send("ready");
            }
        })
        .message(move |peer: Peer, message: Message| {
            let threads = Arc::clone(&message_threads);
            async move {
                record_thread(&threads, &peer);
                peer.send(message);
            }
        });
    let app = App::with_config(config(3)).websocket("/ws", handler);
    let server = start(app).await;
    let mut clients = Vec::new();
    for _ in 0..9 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "ready");
        clients.push(client);
    }
    for client in &mut clients {
        for n in 0..5 {
            send_text(client, &n.to_string()).await;
            assert_eq!(next_text(client).await, n.to_string());
        }
    }
    let threads = threads.lock().unwrap().clone();
    assert_eq!(threads.len(), 9);
    let mut per_thread: HashMap<std::thread::ThreadId, usize> = HashMap::new();
    for (peer, seen) in &threads {
        assert_eq!(
            seen.len(),
            1,
            "peer {peer} ran hooks on {} threads",
            seen.len()
        );
        *per_thread.entry(*seen.iter().next().unwrap()).or_default() += 1;
    }
    let mut counts: Vec<usize> = per_thread.into_values().collect();
    counts.sort_unstable();
    assert_eq!(counts, [3, 3, 3], "nine connections over three workers");
    drop(clients);
    server.shutdown().await;
}
