use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn pushes_after_close_are_dropped_without_error() {
    let (route, mut streams) = stream_route(|stream| stream.push("kept"));
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&stream);

    stream.close();
    stream.close();
    stream.push("late");
    stream.push_comment("late");
    stream.push(SseEvent::new().id("9").data("late"));
    assert_eq!(stream.try_push("late"), Err(crosswire::PushError::Closed));

    assert_eq!(client.read_to_end().await, "data: kept\n\n");
    closed_at(&mut probe).await;
    // Once, however many times it was closed.
    assert!(probe.try_recv().is_err());
}
