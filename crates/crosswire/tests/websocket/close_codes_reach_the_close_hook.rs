use std::time::Duration;

use crosswire::prelude::*;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::support::*;

fn recorder() -> (
    impl WebSocketHandler,
    mpsc::UnboundedReceiver<(u16, String)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = hooks().close(move |_peer: Peer, close: CloseInfo| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((close.code, close.reason));
        }
    });
    (handler, rx)
}

/// Keeps polling the client so it sends its answer to the server's close.
fn drive_to_end(mut client: Client) {
    tokio::spawn(async move { while let Some(Ok(_)) = client.next().await {} });
}

async fn closed(rx: &mut mpsc::UnboundedReceiver<(u16, String)>) -> (u16, String) {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("close hook did not run")
        .unwrap()
}

#[tokio::test]
async fn a_close_with_code_and_reason_is_reported_and_echoed() {
    let (handler, mut rx) = recorder();
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    client
        .close(Some(CloseFrame {
            code: 1000.into(),
            reason: "done".into(),
        }))
        .await
        .unwrap();
    let echoed = next_close(&mut client).await.unwrap();
    assert_eq!(u16::from(echoed.code), 1000);
    assert_eq!(closed(&mut rx).await, (1000, "done".to_owned()));
}

#[tokio::test]
async fn a_close_without_code_is_reported_as_1005() {
    let (handler, mut rx) = recorder();
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    client.close(None).await.unwrap();
    assert_eq!(next_close(&mut client).await, None);
    assert_eq!(closed(&mut rx).await, (1005, String::new()));
}

#[tokio::test]
async fn a_dropped_connection_is_reported_as_1006() {
    let (handler, mut rx) = recorder();
    let server = start(App::new().websocket("/", handler)).await;
    let client = raw_upgrade(server.addr, "/").await;
    drop(client);
    assert_eq!(closed(&mut rx).await, (1006, String::new()));
}

#[tokio::test]
async fn a_server_close_is_reported_with_the_servers_code() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handler = hooks()
        .open(|peer: Peer| async move {
            peer.close(4000, "bye").unwrap();
        })
        .close(move |_peer: Peer, close: CloseInfo| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((close.code, close.reason));
            }
        });
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    let frame = next_close(&mut client).await.unwrap();
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4000, "bye")
    );
    drive_to_end(client);
    assert_eq!(closed(&mut rx).await, (4000, "bye".to_owned()));
}

#[tokio::test]
async fn the_server_shutting_down_closes_peers_with_1001() {
    let (handler, mut rx) = recorder();
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    let shutdown = tokio::spawn(server.shutdown());
    let frame = next_close(&mut client).await.unwrap();
    assert_eq!(u16::from(frame.code), 1001);
    drive_to_end(client);
    assert_eq!(closed(&mut rx).await.0, 1001);
    tokio::time::timeout(Duration::from_secs(15), shutdown)
        .await
        .unwrap()
        .unwrap();
}
