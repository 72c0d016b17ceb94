//! A client whose missed messages are within the history's reach but more
//! than its queue can hold is told its history is lost (an
//! `event: recovery`, a `Recovery` that did not recover) and goes live,
//! instead of being dropped for overflowing before anything was sent, and
//! coming back for the same replay forever.

use crosswire::history::StreamPosition;
use crosswire::prelude::*;

use crate::client::SseClient;
use crate::common::*;
use crate::support::*;

const QUEUE: usize = 4096;

fn publish(server: &TestServer) -> StreamPosition {
    let filler = "x".repeat(100);
    let published = server
        .handle
        .publish_with("feed", |id| json!({ "id": id, "filler": filler }));
    published.position().unwrap().clone()
}

#[tokio::test]
async fn a_replay_larger_than_the_queue_gives_the_recovery_event() {
    let app = history_app_with(1000, |config| {
        config.sse.queue_bytes = QUEUE;
        config.websocket.send_queue_bytes = QUEUE;
    });
    let server = start(app).await;
    let first = publish(&server);
    // 200 messages of about 150 bytes: in the history, not in a queue.
    let mut last = first.clone();
    for _ in 0..200 {
        last = publish(&server);
    }

    let header = format!("Last-Event-ID: {first}\r\n");
    let mut events = SseClient::get(server.addr, "/events", &header).await;
    let recovery = events.next_data().await;
    assert_eq!(event_name(&recovery), Some("recovery"), "{recovery:?}");
    assert_eq!(event_id(&recovery), Some(last.clone()));

    let mut peer = connect(&server, &format!("/ws?since={first}")).await;
    let Received::Recovery(report) = next_received(&mut peer).await else {
        panic!("a message before the recovery report");
    };
    assert_eq!(report["recovered"], false);
    assert_eq!(report["replayed"], 0);

    // Both go on live.
    wait_for_subscribers(&server, "feed", 2).await;
    let next = publish(&server);
    assert_eq!(event_id(&events.next_data().await), Some(next.clone()));
    let Received::Feed(position) = next_received(&mut peer).await else {
        panic!("expected the live message");
    };
    assert_eq!(position, next);

    // A client a few messages behind still gets exactly what it missed.
    let behind = format!("Last-Event-ID: {last}\r\n");
    let mut close = SseClient::get(server.addr, "/events", &behind).await;
    assert_eq!(event_id(&close.next_data().await), Some(next));
}
