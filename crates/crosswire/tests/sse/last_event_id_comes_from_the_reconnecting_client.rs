use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

fn resume_after_last_id() -> (axum::routing::MethodRouter, impl Sized) {
    stream_route(|stream| {
        let next = stream
            .last_event_id()
            .and_then(|id| id.parse::<u64>().ok())
            .map_or(1, |id| id + 1);
        stream.push(
            SseEvent::new()
                .id(next.to_string())
                .data(format!("event {next}")),
        );
        stream.close();
    })
}

#[tokio::test]
async fn a_reconnecting_client_resumes_after_its_last_event_id() {
    let (route, _streams) = resume_after_last_id();
    let server = start(App::new().route("/events", route)).await;

    let mut first = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(first.read_to_end().await, "id: 1\ndata: event 1\n\n");

    let mut again = SseClient::get(server.addr, "/events", "Last-Event-ID: 41\r\n").await;
    assert_eq!(again.read_to_end().await, "id: 42\ndata: event 42\n\n");
}

#[tokio::test]
async fn a_last_event_id_in_utf8_reaches_the_app_as_sent() {
    let (route, _streams) = stream_route(|stream| {
        let seen = stream.last_event_id().unwrap_or("none").to_owned();
        stream.push(seen);
        stream.close();
    });
    let server = start(App::new().route("/events", route)).await;

    // Browsers send the id they were given as UTF-8.
    let mut client = SseClient::get(server.addr, "/events", "Last-Event-ID: café-7\r\n").await;
    assert_eq!(client.read_to_end().await, "data: café-7\n\n");
}
