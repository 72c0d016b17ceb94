//! A worker that falls so far behind that its inbox refuses hand-overs does
//! not leave its subscribers reading on past a gap: each one that missed a
//! publish gets what came before it, in order, then a close with 1013. The
//! other worker's subscribers get every message, and the server keeps
//! serving.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crosswire::prelude::*;

use crate::common::config;
use crate::support::*;

/// Publishes of 1 MiB each: 100 of them are more than a worker's inbox
/// holds (64 MiB).
const PUBLISH_BYTES: usize = 1 << 20;
const PUBLISHES: u64 = 100;

/// - on open: subscribe to `t`, then send `ready`;
/// - `thread`: answer with the worker thread's id;
/// - `block`: hold this worker's thread for three seconds (a hook doing
///   blocking work, which a real hook must not do), setting [`BLOCKED`]
///   first: its own reply could only leave once the thread is free again;
/// - `pub N`: publish `N` followed by 1 MiB of padding to `t`.
fn handler() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("t");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            match text.split_once(' ') {
                Some(("pub", n)) => {
                    peer.publish("t", format!("{n} {}", "x".repeat(PUBLISH_BYTES)));
                }
                _ if text == "thread" => {
                    peer.send(format!("{:?}", std::thread::current().id()));
                }
                _ if text == "block" => {
                    BLOCKED.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_secs(3));
                }
                _ => {}
            }
        })
}

/// Set by the `block` hook just before it blocks its thread.
static BLOCKED: AtomicBool = AtomicBool::new(false);

async fn thread_of(client: &mut Client) -> String {
    send_text(client, "thread").await;
    next_text(client).await
}

/// Reads `N x…` messages until a close; returns how many came (checking
/// they are `0, 1, 2, …`) and the close code.
async fn read_until_close(client: &mut Client, who: &str) -> (u64, Option<CloseCode>) {
    let mut next = 0;
    loop {
        let message = tokio::time::timeout(PATIENCE * 2, client.next())
            .await
            .unwrap_or_else(|_| panic!("{who}: stalled after {next} messages"));
        match message {
            Some(Ok(WsMessage::Text(text))) => {
                let (n, padding) = text.split_once(' ').unwrap();
                assert_eq!(n.parse::<u64>().unwrap(), next, "{who}: out of order");
                assert_eq!(padding.len(), PUBLISH_BYTES, "{who}: message {n} cut");
                next += 1;
            }
            Some(Ok(WsMessage::Close(frame))) => return (next, frame.map(|frame| frame.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return (next, None),
        }
    }
}

#[tokio::test]
async fn the_subscribers_of_a_worker_past_its_inbox_close_with_1013_after_what_came_before() {
    let mut config = config(2);
    // Neither the peers' queues nor the server's budget for them is what
    // this test crosses: only the worker's inbox.
    config.websocket.send_queue_bytes = 512 << 20;
    config.server.max_queued_bytes = 1 << 30;
    let server = start(App::with_config(config).websocket("/ws", handler())).await;

    // Each connection goes to the worker with the fewest: the behind
    // subscriber and the filler on one, the publisher and the keeping-up
    // subscriber on the other (checked below by thread).
    let mut behind = connect(&server, "/ws").await;
    let mut publisher = connect(&server, "/ws").await;
    let mut filler = connect(&server, "/ws").await;
    let mut keeping_up = connect(&server, "/ws").await;
    for client in [&mut behind, &mut publisher, &mut filler, &mut keeping_up] {
        assert_eq!(next_text(client).await, "ready");
    }
    let blocked_thread = thread_of(&mut behind).await;
    let publishing_thread = thread_of(&mut publisher).await;
    assert_ne!(blocked_thread, publishing_thread);
    assert_eq!(thread_of(&mut keeping_up).await, publishing_thread);

    send_text(&mut behind, "block").await;
    tokio::time::timeout(PATIENCE, async {
        while !BLOCKED.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the block hook did not run");
    for n in 0..PUBLISHES {
        send_text(&mut publisher, &format!("pub {n}")).await;
    }

    // On the publisher's worker nothing was refused: every message, in order,
    // and the connection stays open.
    let keeping = tokio::spawn(async move {
        let mut next = 0;
        while next < PUBLISHES {
            let text = next_text(&mut keeping_up).await;
            let (n, padding) = text.split_once(' ').unwrap();
            assert_eq!(n.parse::<u64>().unwrap(), next, "keeping up: out of order");
            assert_eq!(padding.len(), PUBLISH_BYTES);
            next += 1;
        }
        keeping_up
    });

    // The blocked worker's inbox took 64 MiB and refused the rest: its
    // subscriber gets a prefix, in order, then 1013, not a gap.
    let (received, code) = read_until_close(&mut behind, "behind").await;
    assert_eq!(code, Some(CloseCode::Again), "after {received} messages");
    assert!(received < PUBLISHES, "nothing was refused");

    let mut keeping_up = keeping.await.unwrap();
    assert_eq!(thread_of(&mut keeping_up).await, publishing_thread);
    // The server keeps serving, on both workers.
    for _ in 0..2 {
        let mut fresh = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut fresh).await, "ready");
    }
    drop(filler);
}
