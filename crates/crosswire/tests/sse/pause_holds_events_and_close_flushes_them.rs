use std::time::Duration;

use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

const QUIET: Duration = Duration::from_millis(200);

#[tokio::test]
async fn pause_holds_flush_and_resume_release_and_close_flushes() {
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;

    stream.pause();
    assert!(stream.is_paused());
    stream.push("a");
    stream.push_comment("held too");
    client.assert_silent(QUIET).await;
    assert!(stream.buffered_amount() > 0);

    // Flush sends what is held and keeps holding later pushes.
    stream.flush();
    assert_eq!(client.next_event().await, "data: a\n\n");
    assert_eq!(client.next_event().await, ": held too\n\n");
    stream.push("b");
    client.assert_silent(QUIET).await;

    stream.resume();
    assert!(!stream.is_paused());
    assert_eq!(client.next_event().await, "data: b\n\n");
    stream.push("c");
    assert_eq!(client.next_event().await, "data: c\n\n");

    // Close flushes what pause held (h3 dropped it), then ends.
    stream.pause();
    stream.push("d");
    stream.close();
    assert_eq!(client.read_to_end().await, "data: d\n\n");
}
