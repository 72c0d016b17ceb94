//! A client that sends without pause cannot keep its worker to itself: the
//! subscribers it publishes to keep draining, so none of them overflows its
//! send queue while the flood is read.

use std::num::NonZeroUsize;

use crosswire::config::{Config, Workers};
use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

#[tokio::test]
async fn a_flood_of_publishes_reaches_a_subscriber_on_the_same_worker() {
    let mut config = Config::default();
    // One worker: the flooding reader and the subscriber's writer share it.
    config.server.workers = Workers::Count(NonZeroUsize::MIN);
    let handler = hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("flood");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            peer.publish("flood", message);
        });
    let server = start(App::with_config(config).websocket("/", handler)).await;
    let mut subscriber = connect(&server, "/").await;
    let mut sender = connect(&server, "/").await;
    assert_eq!(next_text(&mut subscriber).await, "ready");
    assert_eq!(next_text(&mut sender).await, "ready");

    // 1.5 MB of publishes against the default 1 MiB send queue.
    const COUNT: usize = 6000;
    let filler = "f".repeat(250);
    let flood = tokio::spawn(async move {
        for n in 0..COUNT {
            sender
                .feed(WsMessage::text(format!("{n} {filler}")))
                .await
                .unwrap();
        }
        sender.flush().await.unwrap();
        sender
    });
    for n in 0..COUNT {
        let message = tokio::time::timeout(PATIENCE, subscriber.next())
            .await
            .expect("stalled")
            .unwrap()
            .unwrap();
        match message {
            WsMessage::Text(text) => {
                assert_eq!(text.split(' ').next(), Some(n.to_string().as_str()));
            }
            other => panic!("message {n}: {other:?}"),
        }
    }
    drop(flood.await.unwrap());
}
