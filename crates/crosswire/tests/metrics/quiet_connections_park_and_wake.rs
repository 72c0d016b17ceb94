//! Quiet connections are parked without a task and woken by whatever
//! concerns them: the client's data, a publish, a keep-alive ping, a close
//! from either side, the server's shutdown. `crosswire_ws_connections_parked`
//! tells which are parked, so every step below runs against parked peers.

use std::time::Duration;

use crosswire::config::{Config, Workers};
use crosswire::prelude::*;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::scrape::scrape_until;
use crate::support::*;

const PARKED: &str = "crosswire_ws_connections_parked";

/// A room: every peer joins it, a message is echoed to its sender and
/// published to the others; close codes go to `closes`. Sweeps every 50 ms.
fn room(workers: usize, closes: mpsc::UnboundedSender<u16>) -> App {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.websocket.ping_interval = Duration::from_millis(200);
    config.websocket.idle_timeout = Duration::from_secs(3);
    config.server.workers = Workers::Count(std::num::NonZeroUsize::new(workers).unwrap());
    let handler = hooks()
        .open(|peer: Peer| async move { peer.subscribe("room") })
        .message(|peer: Peer, message: Message| async move {
            peer.send(message.text());
            peer.publish("room", message.text());
        })
        .close(move |_peer: Peer, close: CloseInfo| {
            let closes = closes.clone();
            async move {
                let _ = closes.send(close.code);
            }
        });
    App::with_config(config).websocket("/ws", handler)
}

/// Waits until exactly `count` connections are parked.
async fn parked(server: &TestServer, count: usize) {
    scrape_until(server.addr, "/metrics", &format!("{count} parked"), |e| {
        e.get(PARKED, &[]) == count as f64
    })
    .await;
}

async fn every_wake_up_reaches_a_parked_connection(workers: usize) {
    let (closes, mut closed) = mpsc::unbounded_channel();
    let server = start(room(workers, closes)).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&server, "/ws").await);
    }
    // Opened and silent: parked at once.
    parked(&server, 3).await;

    // The client's data wakes its own connection; the publish wakes the
    // others. Then all three go quiet and park again.
    send_text(&mut clients[0], "first").await;
    for client in &mut clients {
        assert_eq!(next_text(client).await, "first");
    }
    parked(&server, 3).await;

    // A publish from outside any connection.
    assert_eq!(server.handle.publish("room", "to all"), 3);
    for client in &mut clients {
        assert_eq!(next_text(client).await, "to all");
    }
    parked(&server, 3).await;

    // Keep-alive: pinged every 200 ms while parked, each client answers
    // (tungstenite does while it reads), so none reaches the 3 s idle
    // timeout in 3.5 s; nothing else arrives.
    join_all(
        clients
            .iter_mut()
            .map(|client| assert_silent(client, Duration::from_millis(3500))),
    )
    .await;
    parked(&server, 3).await;
    send_text(&mut clients[1], "still here").await;
    for client in &mut clients {
        assert_eq!(next_text(client).await, "still here");
    }
    parked(&server, 3).await;

    // A close from the client, and a client that vanishes.
    let mut leaving = clients.remove(2);
    leaving
        .send(WsMessage::Close(Some(CloseFrame {
            code: CloseCode::from(4000),
            reason: "bye".into(),
        })))
        .await
        .unwrap();
    assert!(next_close(&mut leaving).await.is_some());
    assert_eq!(recv(&mut closed).await, 4000);
    drop(clients.remove(1));
    assert_eq!(recv(&mut closed).await, 1006);
    parked(&server, 1).await;

    // A close from the server: the peer's own close...
    let peer = server.handle.peers().pop().unwrap();
    peer.close(4100, "server says bye").unwrap();
    let frame = next_close(&mut clients[0]).await.unwrap();
    assert_eq!(u16::from(frame.code), 4100);
    // Reading on sends the client's answer and sees the server end.
    assert!(clients[0].next().await.is_none_or(|read| read.is_err()));
    assert_eq!(recv(&mut closed).await, 4100);
    parked(&server, 0).await;

    // ...and the shutdown's.
    let mut last = connect(&server, "/ws").await;
    parked(&server, 1).await;
    let stopping = tokio::spawn(server.shutdown());
    let frame = next_close(&mut last).await.unwrap();
    assert_eq!(u16::from(frame.code), 1001);
    drop(last);
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the server stops")
        .unwrap();
}

async fn recv(closed: &mut mpsc::UnboundedReceiver<u16>) -> u16 {
    tokio::time::timeout(PATIENCE, closed.recv())
        .await
        .expect("a close hook ran")
        .unwrap()
}

#[tokio::test]
async fn every_wake_up_reaches_a_parked_connection_on_one_worker() {
    every_wake_up_reaches_a_parked_connection(1).await;
}

#[tokio::test]
async fn every_wake_up_reaches_a_parked_connection_on_two_workers() {
    every_wake_up_reaches_a_parked_connection(2).await;
}

/// Subscribers that park between every two messages still get each one,
/// once and in order, while a steady sender's connection stays busy.
#[tokio::test]
async fn messages_to_peers_that_keep_parking_arrive_once_and_in_order() {
    let (closes, _closed) = mpsc::unbounded_channel();
    let server = start(room(2, closes)).await;
    let mut sender = connect(&server, "/ws").await;
    let mut subscribers = Vec::new();
    for _ in 0..4 {
        subscribers.push(connect(&server, "/ws").await);
    }
    parked(&server, 5).await;
    for round in 0..6 {
        let text = format!("round {round}");
        send_text(&mut sender, &text).await;
        assert_eq!(next_text(&mut sender).await, text);
        for subscriber in &mut subscribers {
            assert_eq!(next_text(subscriber).await, text);
        }
        // Everyone quiet again: parked before the next round.
        parked(&server, 5).await;
    }
    for subscriber in &mut subscribers {
        assert_silent(subscriber, Duration::from_millis(200)).await;
    }
}

/// Clients that leave while their connections sit in the lot (parked well
/// past the tenth of a second after which a parked socket moves there): one
/// that vanishes ends with 1006, one that sends a last message and hangs up
/// in the same breath has the message delivered first, and the others go on
/// being served.
async fn clients_leave_from_the_lot(workers: usize) {
    let (closes, mut closed) = mpsc::unbounded_channel();
    let mut config = Config::default();
    config.metrics.enabled = true;
    // No keep-alive ping wakes them meanwhile.
    config.websocket.ping_interval = Duration::from_secs(600);
    config.server.workers = Workers::Count(std::num::NonZeroUsize::new(workers).unwrap());
    let handler = hooks()
        .open(|peer: Peer| async move { peer.subscribe("room") })
        .message(|peer: Peer, message: Message| async move {
            peer.publish("room", message.text());
        })
        .close(move |_peer: Peer, close: CloseInfo| {
            let closes = closes.clone();
            async move {
                let _ = closes.send(close.code);
            }
        });
    let server = start(App::with_config(config).websocket("/ws", handler)).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(&server, "/ws").await);
    }
    let mut raw = raw_upgrade(server.addr, "/ws").await;
    parked(&server, 4).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    drop(clients.pop());
    assert_eq!(recv(&mut closed).await, 1006);
    parked(&server, 3).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    {
        use tokio::io::AsyncWriteExt;
        raw.write_all(&client_frame(0x81, b"last words"))
            .await
            .unwrap();
        raw.shutdown().await.unwrap();
    }
    for client in &mut clients {
        assert_eq!(next_text(client).await, "last words");
    }
    assert_eq!(recv(&mut closed).await, 1006);
    drop(raw);
    // The two left have had a message: they park again only once a
    // keep-alive sweep finds them quiet, so they are served running.
    assert_eq!(server.handle.peers().len(), 2);
    assert_eq!(server.handle.publish("room", "still here"), 2);
    for client in &mut clients {
        assert_eq!(next_text(client).await, "still here");
    }
}

#[tokio::test]
async fn clients_leave_from_the_lot_on_one_worker() {
    clients_leave_from_the_lot(1).await;
}

#[tokio::test]
async fn clients_leave_from_the_lot_on_two_workers() {
    clients_leave_from_the_lot(2).await;
}

/// A frame that arrives in two parts wakes a parked connection with its
/// first part and is read whole, whether the socket was still registered
/// with tokio (just parked) or already in the lot (parked for over two
/// seconds); the connection does not park while it holds part of a frame.
/// The frames are pings (their pongs do not make the connection busy, so it
/// parks again at once), then a message.
#[tokio::test]
async fn a_frame_in_two_parts_is_read_whole_across_parks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut config = Config::default();
    config.metrics.enabled = true;
    config.websocket.ping_interval = Duration::from_secs(600);
    let echo = hooks().message(|peer: Peer, message: Message| async move {
        peer.send(message.text());
    });
    let server = start(App::with_config(config).websocket("/ws", echo)).await;
    let mut raw = raw_upgrade(server.addr, "/ws").await;
    let rounds = [
        (0x89, "first", 0),
        (0x89, "second", 2500),
        (0x89, "third", 0),
        (0x81, "fourth", 2500),
    ];
    for (opcode, text, parked_for) in rounds {
        parked(&server, 1).await;
        tokio::time::sleep(Duration::from_millis(parked_for)).await;
        let frame = client_frame(opcode, text.as_bytes());
        raw.write_all(&frame[..4]).await.unwrap();
        parked(&server, 0).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        parked(&server, 0).await;
        raw.write_all(&frame[4..]).await.unwrap();
        let mut answer = vec![0u8; 2 + text.len()];
        tokio::time::timeout(PATIENCE, raw.read_exact(&mut answer))
            .await
            .expect("the answer in time")
            .unwrap();
        // A pong for a ping, the text echoed for a message.
        let answered = if opcode == 0x89 { 0x8a } else { 0x81 };
        assert_eq!(answer[0], answered, "{text}");
        assert_eq!(&answer[2..], text.as_bytes());
    }
}
