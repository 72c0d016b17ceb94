//! A node whose topics keep history, and clients that remember positions:
//! a WebSocket client (`/feed?topic=T&since=E:O`) and a raw event-stream
//! client (`/events?topic=T`, `Last-Event-ID`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use crosswire::HistoryConfig;
use crosswire::broker::Broker;
use crosswire::history::StreamPosition;
use crosswire::prelude::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::node::PATIENCE;

/// A query parameter's value.
fn query<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Subscribes with recovery from `?since=`, then says how it went in a
/// message of its own (after the replayed ones, before the live ones).
fn feed() -> impl WebSocketHandler {
    hooks().open(|peer: Peer| async move {
        let topic = query(peer.request().query(), "topic")
            .unwrap_or("feed")
            .to_owned();
        let since: Option<StreamPosition> = query(peer.request().query(), "since")
            .map(|since| since.replace("%3A", ":"))
            .and_then(|since| since.parse().ok());
        let recovery = peer.subscribe_with_recovery(&topic, since.as_ref()).await;
        peer.send(json!({
            "recovered": recovery.recovered(),
            "replayed": recovery.replayed(),
            "position": recovery.position(),
        }));
    })
}

async fn events(request: Request) -> Response {
    let topic = query(request.uri().query(), "topic")
        .unwrap_or("feed")
        .to_owned();
    let stream = create_event_stream(&request);
    if query(request.uri().query(), "thread").is_some() {
        // From a thread of the app's own, outside any runtime.
        std::thread::scope(|scope| {
            let _ = scope.spawn(|| stream.subscribe(&topic)).join();
        });
    } else {
        stream.subscribe(topic);
    }
    stream.send()
}

/// A running server keeping `history`, stopped when dropped.
pub struct FeedNode {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
}

impl FeedNode {
    pub async fn start(broker: Box<dyn Broker>, history: Vec<HistoryConfig>) -> Self {
        let mut config = Config::default();
        config.history = history;
        let server = App::with_config(config)
            .broker(broker)
            .websocket("/feed", feed())
            .route("/events", get(events))
            .listen_on("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = server.local_addr();
        let handle = server.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            handle,
            stop: Some(stop),
        }
    }

    /// Stops the server, as its shutdown signal would; the handle stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Publishes `{"id": <position>, "n": n}` on `topic`.
    pub fn publish(&self, topic: &str, n: u64) {
        let _ = self
            .handle
            .publish_with(topic, |id| json!({ "id": id, "n": n }));
    }
}

impl Drop for FeedNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// One message a client holds: its position and its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub position: StreamPosition,
    pub n: u64,
}

/// How a recovering subscribe went, as a client learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub recovered: bool,
    pub position: Option<StreamPosition>,
}

/// A WebSocket client of `/feed`.
pub struct FeedClient {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
}

impl FeedClient {
    /// Connects with `since`; returns the client and the recovery status.
    /// Messages replayed before the status are returned too.
    pub async fn connect(
        addr: SocketAddr,
        topic: &str,
        since: Option<&StreamPosition>,
    ) -> (Self, Vec<Held>, Status) {
        let since = since.map_or(String::new(), |s| format!("&since={s}"));
        let url = format!("ws://{addr}/feed?topic={topic}{since}");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connect");
        let mut client = Self { ws };
        let mut replayed = Vec::new();
        loop {
            let value = client.next_value().await.expect("a status");
            if let Some(recovered) = value["recovered"].as_bool() {
                let position = value["position"].as_str().map(|p| p.parse().unwrap());
                return (
                    client,
                    replayed,
                    Status {
                        recovered,
                        position,
                    },
                );
            }
            replayed.push(held(&value));
        }
    }

    async fn next_value(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .ok()??
                .ok()?;
            if let WsMessage::Text(text) = message {
                return Some(serde_json::from_str(&text).expect("JSON"));
            }
        }
    }

    /// The next message.
    pub async fn next(&mut self) -> Held {
        held(
            &self
                .next_value()
                .await
                .expect("a message within the patience"),
        )
    }
}

fn held(value: &Value) -> Held {
    Held {
        position: value["id"]
            .as_str()
            .expect("an id")
            .parse()
            .expect("a position"),
        n: value["n"].as_u64().expect("a number"),
    }
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// A raw HTTP/1.0 event-stream reader.
pub struct EventClient {
    reader: BufReader<TcpStream>,
}

impl EventClient {
    pub async fn connect(addr: SocketAddr, topic: &str, last_event_id: Option<&str>) -> Self {
        Self::get(addr, &format!("/events?topic={topic}"), last_event_id).await
    }

    /// A stream whose handler subscribes it from a thread outside any
    /// runtime.
    pub async fn connect_from_thread(
        addr: SocketAddr,
        topic: &str,
        last_event_id: Option<&str>,
    ) -> Self {
        let target = format!("/events?topic={topic}&thread=1");
        Self::get(addr, &target, last_event_id).await
    }

    async fn get(addr: SocketAddr, target: &str, last_event_id: Option<&str>) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let last = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        let request = format!(
            "GET {target} HTTP/1.0\r\nHost: test\r\nAccept: text/event-stream\r\n{last}\r\n"
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.expect("read head");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Self { reader }
    }

    /// The next event (comments and keep-alives skipped).
    pub async fn next(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, self.read_event())
            .await
            .expect("an event within the patience")
    }

    async fn read_event(&mut self) -> Event {
        let mut event = Event::default();
        let mut has_field = false;
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.reader.read_line(&mut line).await.expect("read");
            assert!(read > 0, "stream ended");
            let text = line.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                if has_field {
                    return event;
                }
                continue;
            }
            if text.starts_with(':') {
                continue;
            }
            let (field, value) = text.split_once(':').unwrap_or((text, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            has_field = true;
            match field {
                "event" => event.event = Some(value.to_owned()),
                "id" => event.id = Some(value.to_owned()),
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                }
                _ => {}
            }
        }
    }

    /// The next event, as a held message (it must be one).
    pub async fn next_held(&mut self) -> Held {
        let event = self.next().await;
        assert_eq!(event.event, None, "{event:?}");
        let value: Value = serde_json::from_str(&event.data).expect("JSON");
        let held = held(&value);
        assert_eq!(event.id.as_deref(), Some(&*held.position.to_string()));
        held
    }
}

/// Waits until `count` subscribers of `topic` are on `node`.
pub async fn wait_subscribers(node: &FeedNode, topic: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while node.handle.subscriber_count(topic) != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic}: no {count} subscribers"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
