use std::sync::Arc;
use std::time::Duration;

use crosswire::prelude::*;
use tokio::sync::Mutex;

use crate::support::*;

#[tokio::test]
async fn hooks_run_upgrade_open_messages_close_in_order() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let handler = hooks()
        .upgrade(move |req: UpgradeRequest| {
            let log = l1.clone();
            async move {
                log.lock().await.push(format!("upgrade {}", req.path()));
                Ok(Accept::new())
            }
        })
        .open(move |_peer: Peer| {
            let log = l2.clone();
            async move { log.lock().await.push("open".to_owned()) }
        })
        .message(move |_peer: Peer, message: Message| {
            let log = l3.clone();
            async move {
                // Uneven hook durations must not reorder messages.
                let n: u64 = message.text().parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis((7 - n % 7) * 2)).await;
                log.lock().await.push(format!("message {}", message.text()));
            }
        })
        .close(move |_peer: Peer, close: CloseInfo| {
            let log = l4.clone();
            async move { log.lock().await.push(format!("close {}", close.code)) }
        });
    let server = start(App::new().websocket("/ws", handler)).await;
    let mut client = connect(&server, "/ws").await;
    for n in 0..20 {
        send_text(&mut client, &n.to_string()).await;
    }
    client.close(None).await.unwrap();
    let _ = next_close(&mut client).await;

    let mut expected = vec!["upgrade /ws".to_owned(), "open".to_owned()];
    expected.extend((0..20).map(|n| format!("message {n}")));
    expected.push("close 1005".to_owned());
    for _ in 0..100 {
        if log.lock().await.len() == expected.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*log.lock().await, expected);
}

struct Counter {
    log: Arc<Mutex<Vec<String>>>,
}

impl WebSocketHandler for Counter {
    async fn open(&self, peer: Peer) {
        self.log.lock().await.push("open".into());
        peer.send("ready");
    }

    async fn message(&self, peer: Peer, message: Message) {
        self.log.lock().await.push(format!("message {message}"));
        peer.send(message);
    }

    async fn close(&self, _peer: Peer, close: CloseInfo) {
        self.log.lock().await.push(format!("close {}", close.code));
    }
}

#[tokio::test]
async fn a_trait_handler_gets_the_same_hooks() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = start(App::new().websocket("/", Counter { log: log.clone() })).await;
    let mut client = connect(&server, "/").await;
    assert_eq!(next_text(&mut client).await, "ready");
    send_text(&mut client, "hi").await;
    assert_eq!(next_text(&mut client).await, "hi");
    client
        .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: 1000.into(),
            reason: "".into(),
        }))
        .await
        .unwrap();
    let _ = next_close(&mut client).await;
    for _ in 0..100 {
        if log.lock().await.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*log.lock().await, ["open", "message hi", "close 1000"]);
}
