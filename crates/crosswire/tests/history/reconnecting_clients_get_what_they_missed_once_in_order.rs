//! Two peers publish to `feed` at 1 000 messages a second together; an
//! event stream and a peer read, go away for two seconds, and come back
//! with their last position: what they hold is contiguous, with no
//! duplicate, across the gap and the seam.

use std::time::Duration;

use crosswire::history::StreamPosition;

use crate::client::SseClient;
use crate::common::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_clients_get_what_they_missed_once_in_order() {
    let server = start(history_app(10_000)).await;
    let _publishers = [
        connect(&server, "/publisher").await,
        connect(&server, "/publisher").await,
    ];
    let mut events = SseClient::get(server.addr, "/events", "").await;
    let mut peer = connect(&server, "/ws").await;
    let mut sse_seen: Vec<StreamPosition> = Vec::new();
    let mut ws_seen: Vec<StreamPosition> = Vec::new();

    while sse_seen.len() < 300 {
        let event = events.next_data().await;
        sse_seen.push(event_id(&event).unwrap());
    }
    while ws_seen.len() < 300 {
        if let Received::Feed(position) = next_received(&mut peer).await {
            ws_seen.push(position);
        }
    }
    drop(events);
    drop(peer);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let since = ws_seen.last().unwrap().clone();
    let mut peer = connect(&server, &format!("/ws?since={since}")).await;
    let joined_at = loop {
        match next_received(&mut peer).await {
            Received::Feed(position) => ws_seen.push(position),
            Received::Recovery(report) => {
                assert_eq!(report["recovered"], true, "{report}");
                assert!(report["replayed"].as_u64().unwrap() > 1000, "{report}");
                let at: StreamPosition = report["position"].as_str().unwrap().parse().unwrap();
                break at;
            }
        }
    };
    let last_event = sse_seen.last().unwrap().to_string();
    let mut events = SseClient::get(
        server.addr,
        "/events",
        &format!("Last-Event-ID: {last_event}\r\n"),
    )
    .await;

    // Well past the seam for both.
    let target = joined_at.offset() + 300;
    while ws_seen.last().unwrap().offset() < target {
        if let Received::Feed(position) = next_received(&mut peer).await {
            ws_seen.push(position);
        }
    }
    while sse_seen.last().unwrap().offset() < target {
        let event = events.next_data().await;
        assert_eq!(event_name(&event), None, "unexpected {event:?}");
        sse_seen.push(event_id(&event).unwrap());
    }
    assert_contiguous("event stream", &sse_seen);
    assert_contiguous("peer", &ws_seen);
    assert_eq!(sse_seen[0].epoch(), ws_seen[0].epoch());
}
