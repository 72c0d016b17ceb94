//! In-process history dies with the process: a client that comes back to a
//! new server instance with a position from the old one is told its history
//! is lost, under a new epoch, never replayed from the wrong history.

use crosswire::history::StreamPosition;
use crosswire::prelude::*;

use crate::client::SseClient;
use crate::common::*;
use crate::support::*;

#[tokio::test]
async fn a_restarted_server_reports_a_new_epoch() {
    let before = start(history_app(100)).await;
    let mut events = SseClient::get(before.addr, "/events", "").await;
    wait_for_subscribers(&before, "feed", 1).await;
    before.handle.publish_with("feed", |id| json!({ "id": id }));
    let held = event_id(&events.next_data().await).unwrap();
    assert_eq!(held.offset(), 1);
    drop(events);
    before.shutdown().await;

    let after = start(history_app(100)).await;
    let mut events =
        SseClient::get(after.addr, "/events", &format!("Last-Event-ID: {held}\r\n")).await;
    let recovery = events.next_data().await;
    assert_eq!(event_name(&recovery), Some("recovery"), "{recovery:?}");
    let now: StreamPosition = event_id(&recovery).unwrap();
    assert_ne!(now.epoch(), held.epoch());
    assert_eq!(now.offset(), 0);

    let mut peer = connect(&after, &format!("/ws?since={held}")).await;
    let Received::Recovery(report) = next_received(&mut peer).await else {
        panic!("expected the recovery report");
    };
    assert_eq!(report["recovered"], false);
    assert_eq!(report["position"], now.to_string());
}
