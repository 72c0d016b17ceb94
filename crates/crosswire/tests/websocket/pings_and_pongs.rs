use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

#[tokio::test]
async fn a_client_ping_gets_a_pong_with_the_same_payload() {
    let server = start(App::new().websocket("/", hooks())).await;
    let mut client = connect(&server, "/").await;
    client
        .send(WsMessage::Ping(b"are you there"[..].into()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(PATIENCE, client.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply, WsMessage::Pong(b"are you there"[..].into()));
}

#[tokio::test]
async fn the_server_pings_every_ping_interval() {
    let mut config = Config::default();
    config.websocket.ping_interval = Duration::from_millis(100);
    let server = start(App::with_config(config).websocket("/", hooks())).await;
    let mut client = connect(&server, "/").await;
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(550);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, client.next()).await {
        if matches!(message, WsMessage::Ping(_)) {
            pings += 1;
        }
    }
    assert!((3..=6).contains(&pings), "{pings} pings in 550 ms");
}
