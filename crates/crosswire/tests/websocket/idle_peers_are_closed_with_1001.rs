use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::sync::mpsc;

use crate::support::*;

#[tokio::test]
async fn a_silent_peer_is_closed_with_1001_and_its_close_hook_runs() {
    let mut config = Config::default();
    config.websocket.idle_timeout = Duration::from_millis(300);
    config.websocket.ping_interval = Duration::from_secs(60);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handler = hooks().close(move |_peer: Peer, close: CloseInfo| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(close.code);
        }
    });
    let server = start(App::with_config(config).websocket("/", handler)).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    assert_eq!(raw_read_close(&mut raw).await, Some(1001));
    let code = tokio::time::timeout(PATIENCE, rx.recv()).await.unwrap();
    assert_eq!(code, Some(1001));
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_open() {
    let mut config = Config::default();
    config.websocket.idle_timeout = Duration::from_millis(400);
    config.websocket.ping_interval = Duration::from_millis(100);
    let server = start(App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    ))
    .await;
    let mut client = connect(&server, "/").await;
    // Reading lets tungstenite answer the server's pings.
    assert_silent(&mut client, Duration::from_millis(1200)).await;
    send_text(&mut client, "alive").await;
    assert_eq!(next_text(&mut client).await, "alive");
}
