//! After every client left, by a close handshake or by dropping its socket,
//! no peer and no topic entry remains on any worker: nothing a peer held
//! outlives it.

use std::time::Duration;

use crate::common::{config, hooks_for_t};
use crate::support::*;

#[tokio::test]
async fn no_peer_or_topic_entry_remains_after_every_client_left() {
    let app = crosswire::App::with_config(config(3)).websocket("/ws", hooks_for_t());
    let server = start(app).await;
    for round in 0..3 {
        let mut clients = Vec::new();
        for _ in 0..60 {
            let mut client = connect(&server, "/ws").await;
            assert_eq!(next_text(&mut client).await, "ready");
            clients.push(client);
        }
        assert_eq!(server.handle.peer_count(), 60, "round {round}");
        assert_eq!(server.handle.subscriber_count("t"), 60, "round {round}");
        for (index, mut client) in clients.into_iter().enumerate() {
            if index % 2 == 0 {
                client.close(None).await.unwrap();
            }
            // The others just drop their sockets.
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (peers, topics) = (server.handle.peer_count(), server.handle.topics());
            if peers == 0 && topics.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: {peers} peers and topics {topics:?} left"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(server.handle.subscriber_count("t"), 0, "round {round}");
    }
}
