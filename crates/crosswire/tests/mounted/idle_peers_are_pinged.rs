use std::time::Duration;

use axum::Router;
use crosswire::prelude::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;
use crate::{connect, mounted};

#[tokio::test]
async fn a_silent_peer_is_pinged_then_closed_at_the_idle_timeout() {
    let mut config = Config::default();
    config.websocket.ping_interval = Duration::from_millis(100);
    config.websocket.idle_timeout = Duration::from_millis(400);
    let (addr, _crosswire) = mounted(config, |crosswire| {
        Router::new().route("/", crosswire.websocket(hooks()))
    })
    .await;
    // A client that reads but never answers pings: tungstenite answers
    // them by itself, so read the raw frames instead.
    let mut raw = raw_upgrade(addr, "/").await;
    let mut frame = [0u8; 2];
    tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_exact(&mut raw, &mut frame),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(frame, [0x89, 0x00], "an empty ping");
    assert_eq!(raw_read_close(&mut raw).await, Some(1001));

    // A client that answers pings stays.
    let mut client = connect(addr, "/").await;
    let quiet = tokio::time::timeout(Duration::from_millis(900), client.next()).await;
    match quiet {
        Err(_) => {}
        Ok(Some(Ok(WsMessage::Ping(_)))) => {}
        other => panic!("expected pings only, got {other:?}"),
    }
}
