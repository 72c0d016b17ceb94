use std::time::Duration;

use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn three_events_then_close_is_exactly_three_events_and_the_end() {
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;
    let mut probe = on_closed_probe(&stream);

    stream.push("1");
    stream.push("2");
    stream.push("3");
    stream.close();

    assert_eq!(
        client.read_to_end().await,
        "data: 1\n\ndata: 2\n\ndata: 3\n\n"
    );
    closed_at(&mut probe).await;
    // Nothing follows the last chunk.
    client.assert_silent(Duration::from_millis(200)).await;
}
