use axum::extract::Request;
use axum::routing::get;
use crosswire::prelude::*;
use tokio::sync::mpsc;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn a_stream_created_but_never_sent_still_runs_on_closed() {
    let (tx, mut probe) = mpsc::unbounded_channel();
    let app = App::new().route(
        "/events",
        get(move |request: Request| never_sent(request, tx.clone())),
    );
    let server = start(app).await;
    let response = raw_http(
        server.addr,
        "GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    assert!(!response.contains("never delivered"), "{response}");
    closed_at(&mut probe).await;
}

#[tokio::test]
async fn dropping_the_last_handle_of_an_unsent_stream_closes_it() {
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::new().route("/events", route)).await;
    let _client = SseClient::get(server.addr, "/events", "").await;
    // A sent stream stays open when its handles are gone: its response
    // carries it (and topics may feed it).
    let sent = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&sent);
    let watcher = sent.clone();
    drop(sent);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!watcher.is_closed());
    assert!(probe.try_recv().is_err());
}
