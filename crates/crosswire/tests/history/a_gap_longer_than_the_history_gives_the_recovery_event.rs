//! A client further behind than the history reaches is told so (an
//! `event: recovery`, a `Recovery` that did not recover) before it goes
//! live; one within reach gets exactly what it missed.

use crosswire::history::StreamPosition;
use crosswire::prelude::*;

use crate::client::SseClient;
use crate::common::*;
use crate::support::*;

fn publish(server: &TestServer) -> StreamPosition {
    let published = server.handle.publish_with("feed", |id| json!({ "id": id }));
    published.position().unwrap().clone()
}

#[tokio::test]
async fn a_gap_longer_than_the_history_gives_the_recovery_event() {
    let server = start(history_app(5)).await;
    let first = publish(&server);
    let second = publish(&server);
    assert_eq!(second.offset(), first.offset() + 1);
    let epoch = second.epoch().to_owned();
    for _ in 0..10 {
        publish(&server);
    }

    // Offsets 8 to 12 are kept: after 2 is out of reach.
    let last = format!("Last-Event-ID: {second}\r\n");
    let mut events = SseClient::get(server.addr, "/events", &last).await;
    let recovery = events.next_data().await;
    assert_eq!(event_name(&recovery), Some("recovery"), "{recovery:?}");
    assert_eq!(
        event_id(&recovery),
        Some(StreamPosition::new(epoch.as_str(), 12))
    );
    let data = recovery
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        data,
        json!({ "recovered": false, "epoch": epoch, "offset": 12 })
    );
    let mut peer = connect(&server, &format!("/ws?since={second}")).await;
    let Received::Recovery(report) = next_received(&mut peer).await else {
        panic!("a message before the recovery report");
    };
    assert_eq!(report["recovered"], false);
    assert_eq!(report["replayed"], 0);
    assert_eq!(report["position"], format!("{epoch}:12"));

    // Then live, from 13.
    wait_for_subscribers(&server, "feed", 2).await;
    publish(&server);
    assert_eq!(
        event_id(&events.next_data().await),
        Some(StreamPosition::new(epoch.as_str(), 13))
    );
    let Received::Feed(live) = next_received(&mut peer).await else {
        panic!("expected the live message");
    };
    assert_eq!(live.offset(), 13);

    // An id that is no position at all is as good as lost.
    let mut stranger = SseClient::get(server.addr, "/events", "Last-Event-ID: 41\r\n").await;
    assert_eq!(event_name(&stranger.next_data().await), Some("recovery"));
}

#[tokio::test]
async fn a_gap_within_the_history_is_replayed_in_full() {
    let server = start(history_app(5)).await;
    let mut positions = Vec::new();
    for _ in 0..12 {
        positions.push(publish(&server));
    }
    // After 9: 10, 11 and 12, then live.
    let since = &positions[8];
    let mut events = SseClient::get(
        server.addr,
        "/events",
        &format!("Last-Event-ID: {since}\r\n"),
    )
    .await;
    let mut peer = connect(&server, &format!("/ws?since={since}")).await;
    for expected in &positions[9..] {
        let event = events.next_data().await;
        assert_eq!(event_id(&event).as_ref(), Some(expected), "{event:?}");
        let Received::Feed(position) = next_received(&mut peer).await else {
            panic!("the report came before the replay");
        };
        assert_eq!(&position, expected);
    }
    let Received::Recovery(report) = next_received(&mut peer).await else {
        panic!("expected the recovery report");
    };
    assert_eq!(report["recovered"], true);
    assert_eq!(report["replayed"], 3);
    wait_for_subscribers(&server, "feed", 2).await;
    let live = publish(&server);
    assert_eq!(event_id(&events.next_data().await), Some(live.clone()));
    let Received::Feed(position) = next_received(&mut peer).await else {
        panic!("expected the live message");
    };
    assert_eq!(position, live);
}
