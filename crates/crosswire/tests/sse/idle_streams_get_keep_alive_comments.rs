use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::time::Instant;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn an_idle_stream_gets_a_comment_every_keep_alive_interval() {
    let mut config = Config::default();
    config.sse.keep_alive = Duration::from_millis(300);
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::with_config(config).route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;

    let start = Instant::now();
    assert_eq!(client.next_event().await, ": keep-alive\n\n");
    assert_eq!(client.next_event().await, ": keep-alive\n\n");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(3),
        "two keep-alives took {took:?}"
    );

    // Events count as activity; keep-alives fill only the silence.
    stream.push("tick");
    assert_eq!(client.next_event().await, "data: tick\n\n");
    assert_eq!(client.next_event().await, ": keep-alive\n\n");
}

#[tokio::test]
async fn a_zero_keep_alive_sends_no_comments() {
    let mut config = Config::default();
    config.sse.keep_alive = Duration::ZERO;
    let (route, _streams) = stream_route(|_| {});
    let server = start(App::with_config(config).route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    client.assert_silent(Duration::from_millis(300)).await;
}
