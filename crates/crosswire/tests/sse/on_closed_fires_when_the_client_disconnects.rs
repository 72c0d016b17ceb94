use std::time::Duration;

use crosswire::prelude::*;
use tokio::time::Instant;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn on_closed_runs_within_two_seconds_of_the_client_leaving() {
    let (route, mut streams) = stream_route(|stream| {
        stream.subscribe("news");
        stream.push("hello");
    });
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(client.next_data().await, "data: hello\n\n");
    let stream = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&stream);
    assert_eq!(server.handle.subscriber_count("news"), 1);

    // The client goes away without a word, as a closed browser tab does.
    let left = Instant::now();
    drop(client);
    let closed = closed_at(&mut probe).await;
    let took = closed.duration_since(left);
    assert!(
        took < Duration::from_secs(2),
        "on_closed ran after {took:?}"
    );

    assert!(stream.is_closed());
    assert_eq!(
        stream.try_push("nobody is listening"),
        Err(crosswire::PushError::Closed)
    );
    // Streams leave their topics when they close.
    assert_eq!(server.handle.subscriber_count("news"), 0);
    assert!(stream.topics().is_empty());
}
