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
