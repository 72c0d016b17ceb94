use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn headers_and_every_kind_of_push_are_exact_on_the_wire() {
    let (route, _streams) = stream_route(|stream| {
        stream.push("hello world");
        stream.push(
            SseEvent::new()
                .id("1")
                .event("custom-event")
                .retry(10)
                .data("hello world"),
        );
        stream.push(["one", "two"]);
        stream.push(
            SseEvent::new()
                .event("message\nevent: admin\ndata: INJECTED")
                .data("x"),
        );
        stream.push("hi\n\nevent: system\ndata: INJECTED");
        stream.push(json!({ "user": "server", "message": "a\nb" }));
        stream.push_comment("note");
        stream.close();
    });
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;

    assert_eq!(client.status, 200);
    assert_eq!(client.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        client.header("cache-control"),
        Some("private, no-cache, no-store, no-transform, must-revalidate, max-age=0")
    );
    assert_eq!(client.header("x-accel-buffering"), Some("no"));
    assert_eq!(client.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        client.read_to_end().await,
        concat!(
            "data: hello world\n\n",
            "id: 1\nevent: custom-event\nretry: 10\ndata: hello world\n\n",
            "data: one\n\ndata: two\n\n",
            "event: messageevent: admindata: INJECTED\ndata: x\n\n",
            "data: hi\ndata: \ndata: event: system\ndata: data: INJECTED\n\n",
            "data: {\"user\":\"server\",\"message\":\"a\\nb\"}\n\n",
            ": note\n\n",
        )
    );
}

/// The extractor form: `async fn h(stream: EventStream) -> EventStream`.
async fn extracted(stream: EventStream) -> EventStream {
    stream.push("from the extractor");
    stream.close();
    stream
}

#[tokio::test]
async fn the_extractor_and_into_response_send_the_stream() {
    let app = App::new().route("/events", axum::routing::get(extracted));
    let server = start(app).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(client.header("content-type"), Some("text/event-stream"));
    assert_eq!(client.read_to_end().await, "data: from the extractor\n\n");
}
