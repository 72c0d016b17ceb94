//! A producer outside a peer's worker that mixes `send`, `publish` and
//! `close` sees them arrive in the order it made them.

use tokio::sync::oneshot;

use crosswire::prelude::*;

use crate::common::config;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_publishes_and_close_from_another_thread_keep_their_order() {
    let (peer_tx, peer_rx) = oneshot::channel::<Peer>();
    let peer_tx = std::sync::Mutex::new(Some(peer_tx));
    let handler = hooks().open(move |peer: Peer| {
        let sender = peer_tx.lock().unwrap().take();
        async move {
            peer.subscribe("t");
            peer.send("ready");
            if let Some(sender) = sender {
                let _ = sender.send(peer);
            }
        }
    });
    let app = App::with_config(config(3)).websocket("/ws", handler);
    let server = start(app).await;
    let mut client = connect(&server, "/ws").await;
    assert_eq!(next_text(&mut client).await, "ready");
    let peer = peer_rx.await.unwrap();

    let handle = server.handle.clone();
    std::thread::spawn(move || {
        for n in 0..500 {
            peer.send(format!("send {n}"));
            handle.publish("t", format!("publish {n}"));
        }
        peer.close(4000, "done").unwrap();
    })
    .join()
    .unwrap();

    for n in 0..500 {
        assert_eq!(next_text(&mut client).await, format!("send {n}"));
        assert_eq!(next_text(&mut client).await, format!("publish {n}"));
    }
    let close = next_close(&mut client).await.unwrap();
    assert_eq!(u16::from(close.code), 4000);
    drop(client);
    server.shutdown().await;
}
