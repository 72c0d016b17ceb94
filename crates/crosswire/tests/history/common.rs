//! The app the history tests run: a `feed` topic with history, an event
//! stream and a WebSocket route that recover from the client's position,
//! and a publisher route whose peers publish to the feed every 2 ms.

#![allow(dead_code, unreachable_pub)]

use std::num::NonZeroUsize;
use std::time::Duration;

use crosswire::HistoryConfig;
use crosswire::config::Workers;
use crosswire::history::StreamPosition;
use crosswire::prelude::*;

use crate::client::stream_route;
use crate::support::*;

/// The app, keeping `size` entries of `feed`.
pub fn history_app(size: usize) -> App {
    history_app_with(size, |_| {})
}

/// The same, with settings changed by `tweak`.
pub fn history_app_with(size: usize, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::default();
    config.server.workers = Workers::Count(NonZeroUsize::new(2).unwrap());
    config.history = vec![HistoryConfig::for_topics(["feed"]).size(size)];
    tweak(&mut config);
    let subscriber = hooks().open(|peer: Peer| async move {
        // ws://host/ws?since=<epoch>:<offset>
        let since: Option<StreamPosition> = peer
            .request()
            .query()
            .and_then(|query| query.strip_prefix("since="))
            .and_then(|position| position.parse().ok());
        let recovery = peer.subscribe_with_recovery("feed", since.as_ref()).await;
        peer.send(json!({
            "recovered": recovery.recovered(),
            "replayed": recovery.replayed(),
            "position": recovery.position(),
        }));
    });
    let publisher = hooks().open(|peer: Peer| async move {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(2));
            while peer.is_open() {
                ticks.tick().await;
                peer.publish_with("feed", |id| json!({ "id": id }));
            }
        });
    });
    let (events, _streams) = stream_route(|stream| stream.subscribe("feed"));
    App::with_config(config)
        .websocket("/ws", subscriber)
        .websocket("/publisher", publisher)
        .route("/events", events)
}

/// The `id:` of an event, as a position.
pub fn event_id(event: &str) -> Option<StreamPosition> {
    event
        .lines()
        .find_map(|line| line.strip_prefix("id: "))
        .map(|id| id.parse().unwrap())
}

/// The `event:` of an event.
pub fn event_name(event: &str) -> Option<&str> {
    event.lines().find_map(|line| line.strip_prefix("event: "))
}

/// A peer's message: a feed message (its position), or the recovery
/// report the route sends after subscribing.
pub enum Received {
    Feed(StreamPosition),
    Recovery(serde_json::Value),
}

pub async fn next_received(client: &mut Client) -> Received {
    let value = next_json(client).await;
    match value.get("id").and_then(|id| id.as_str()) {
        Some(id) => Received::Feed(id.parse().unwrap()),
        None => Received::Recovery(value),
    }
}

/// Asserts that `offsets` go up by exactly one each, in `epoch`.
pub fn assert_contiguous(who: &str, positions: &[StreamPosition]) {
    let epoch = positions[0].epoch();
    for pair in positions.windows(2) {
        assert_eq!(pair[1].epoch(), epoch, "{who}: epoch changed");
        assert_eq!(
            pair[1].offset(),
            pair[0].offset() + 1,
            "{who}: {} followed by {}",
            pair[0],
            pair[1]
        );
    }
}

pub async fn wait_for_subscribers(server: &TestServer, topic: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count(topic) != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic} has {} subscribers, expected {count}",
            server.handle.subscriber_count(topic)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
