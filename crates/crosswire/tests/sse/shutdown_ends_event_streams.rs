use std::time::Duration;

use crosswire::prelude::*;
use tokio::time::Instant;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn a_graceful_shutdown_ends_open_streams_promptly() {
    let (route, mut streams) = stream_route(|stream| stream.push("open"));
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(client.next_data().await, "data: open\n\n");
    let stream = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&stream);
    stream.pause();
    stream.push("held until the end");

    let start = Instant::now();
    server.shutdown().await;
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    closed_at(&mut probe).await;
    // Held events are flushed, then a `retry:` line spreads the browsers'
    // reconnects over 1 to 5 s, and the response ends cleanly, so a browser
    // reconnects to whatever serves next.
    let rest = client.read_to_end().await;
    let retry = rest
        .strip_prefix("data: held until the end\n\nretry: ")
        .and_then(|retry| retry.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("unexpected end of stream: {rest:?}"));
    let millis: u64 = retry.parse().unwrap();
    assert!((1000..5000).contains(&millis), "retry: {millis}");
}
