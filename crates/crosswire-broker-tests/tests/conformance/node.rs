//! A test node (a Crosswire server on a broker) and its clients: a
//! WebSocket client driven by JSON commands, and a raw SSE client.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use crosswire::broker::{Broker, BrokerError, BrokerStage};
use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);
/// Messages whose text starts with this are route probes, skipped by readers.
pub const PROBE: &str = "probe:";

pub struct NodeOptions {
    pub prefix: String,
    pub buffer_bytes: usize,
    /// Where to reach the broker server instead of its own port (a proxy).
    pub port: Option<u16>,
    /// `user:password` to log in with instead of the default user.
    pub user: Option<&'static str>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        Self {
            prefix: "cwtest".to_owned(),
            buffer_bytes: 16 << 20,
            port: None,
            user: None,
        }
    }
}

/// A running server on a broker, stopped when dropped.
pub struct Node {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    errors: Arc<Mutex<Vec<BrokerError>>>,
    stop: Option<oneshot::Sender<()>>,
}

/// WebSocket commands: `{"sub": t}`, `{"unsub": t}` (both acknowledged with
/// `{"ack": ...}`), `{"pub": t, "text": s}`, `{"pub": t, "bin": [..]}`,
/// `{"pub": t, "json": v}`.
fn commands() -> impl WebSocketHandler {
    hooks().message(|peer: Peer, message: Message| async move {
        let Ok(command) = message.json::<Value>() else {
            return;
        };
        if let Some(topic) = command["sub"].as_str() {
            peer.subscribe(topic);
            peer.send(serde_json::json!({ "ack": "sub" }));
        } else if let Some(topic) = command["unsub"].as_str() {
            peer.unsubscribe(topic);
            peer.send(serde_json::json!({ "ack": "unsub" }));
        } else if let Some(topic) = command["pub"].as_str() {
            if let Some(text) = command["text"].as_str() {
                peer.publish(topic, text);
            } else if let Some(bytes) = command["bin"].as_array() {
                let bytes: Vec<u8> = bytes
                    .iter()
                    .filter_map(|b| b.as_u64())
                    .map(|b| b as u8)
                    .collect();
                peer.publish(topic, bytes);
            } else {
                peer.publish(topic, command["json"].clone());
            }
        }
    })
}

/// `GET /sse?topic=T`: an event stream subscribed to `T`.
async fn sse(request: Request) -> Response {
    let topic = request
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("topic="))
        .unwrap_or("chat")
        .to_owned();
    let stream = create_event_stream(&request);
    stream.subscribe(topic);
    stream.send()
}

impl Node {
    pub async fn start(broker: impl Broker, _options: &NodeOptions) -> Self {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        // Metrics on, so the broker's state and errors can be read.
        let mut config = Config::default();
        config.metrics.enabled = true;
        let server = App::with_config(config)
            .broker(broker)
            .on_broker_error(move |error: &BrokerError| sink.lock().unwrap().push(error.clone()))
            .websocket("/ws", commands())
            .route("/sse", get(sse))
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
            errors,
            stop: Some(stop),
        }
    }

    pub async fn client(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr))
            .await
            .expect("websocket connect");
        Client {
            ws,
            stash: VecDeque::new(),
        }
    }

    /// An event stream subscribed to `topic`, once the node counts it.
    pub async fn sse(&self, topic: &str) -> SseClient {
        let before = self.handle.subscriber_count(topic);
        let client = SseClient::get(self.addr, topic).await;
        self.wait_subscribers(topic, before + 1).await;
        client
    }

    pub async fn wait_subscribers(&self, topic: &str, count: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.handle.subscriber_count(topic) != count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{topic}: {} subscribers, expected {count}",
                self.handle.subscriber_count(topic)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// An unlabelled sample of the node's metrics, if exported.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let text = self.handle.metrics_text()?;
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    /// Waits until the node's metric `name` is `value`.
    pub async fn wait_metric(&self, name: &str, value: f64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.metric(name) != Some(value) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} is {:?}, expected {value}",
                self.metric(name)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the server, as its shutdown signal would; the handle stays.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Broker errors reported at `stage` so far.
    pub fn errors_at(&self, stage: BrokerStage) -> usize {
        self.errors
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.stage() == stage)
            .count()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What a client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Text(String),
    Binary(Vec<u8>),
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for an acknowledgement.
    stash: VecDeque<Got>,
}

impl Client {
    async fn command(&mut self, command: Value) {
        self.ws
            .send(WsMessage::text(command.to_string()))
            .await
            .expect("send command");
    }

    async fn read(&mut self, wait: Duration) -> Option<Got> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) => panic!("connection closed"),
                Ok(Some(message)) => message.expect("websocket read"),
            };
            match message {
                WsMessage::Text(text) if text.starts_with(PROBE) => {}
                WsMessage::Text(text) => return Some(Got::Text(text.to_string())),
                WsMessage::Binary(bytes) => return Some(Got::Binary(bytes.to_vec())),
                _ => {}
            }
        }
    }

    async fn wait_ack(&mut self) {
        loop {
            match self.read(PATIENCE).await {
                Some(Got::Text(text)) if text.starts_with("{\"ack\"") => return,
                Some(other) => self.stash.push_back(other),
                None => panic!("no acknowledgement"),
            }
        }
    }

    /// Subscribes and waits until the node has done it.
    pub async fn subscribe(&mut self, topic: &str) {
        self.command(serde_json::json!({ "sub": topic })).await;
        self.wait_ack().await;
    }

    pub async fn unsubscribe(&mut self, topic: &str) {
        self.command(serde_json::json!({ "unsub": topic })).await;
        self.wait_ack().await;
    }

    pub async fn publish(&mut self, topic: &str, text: &str) {
        self.command(serde_json::json!({ "pub": topic, "text": text }))
            .await;
    }

    pub async fn publish_binary(&mut self, topic: &str, bytes: &[u8]) {
        self.command(serde_json::json!({ "pub": topic, "bin": bytes }))
            .await;
    }

    pub async fn publish_json(&mut self, topic: &str, json: Value) {
        self.command(serde_json::json!({ "pub": topic, "json": json }))
            .await;
    }

    /// The next message other than a probe; panics after [`PATIENCE`].
    pub async fn next(&mut self) -> Got {
        if let Some(got) = self.stash.pop_front() {
            return got;
        }
        self.read(PATIENCE)
            .await
            .expect("a message within the patience")
    }

    pub async fn next_text(&mut self) -> String {
        match self.next().await {
            Got::Text(text) => text,
            other => panic!("expected text, got {other:?}"),
        }
    }

    /// The next message within `wait`, if any.
    pub async fn maybe_next(&mut self, wait: Duration) -> Option<Got> {
        if let Some(got) = self.stash.pop_front() {
            return Some(got);
        }
        self.read(wait).await
    }

    /// Reads until a probe arrives (a route is up), within `wait`.
    pub async fn saw_probe(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) => panic!("connection closed"),
                Ok(Some(message)) => message.expect("websocket read"),
            };
            match message {
                WsMessage::Text(text) if text.starts_with(PROBE) => return true,
                WsMessage::Text(text) => self.stash.push_back(Got::Text(text.to_string())),
                WsMessage::Binary(bytes) => self.stash.push_back(Got::Binary(bytes.to_vec())),
                _ => {}
            }
        }
    }
}

/// Publishes probes on `topic` from `from` until `to` receives one: the
/// broker subscription of `to`'s node is then in place. Returns how long it took.
pub async fn route(from: &mut Client, to: &mut Client, topic: &str) -> Duration {
    let started = tokio::time::Instant::now();
    for n in 0.. {
        from.publish(topic, &format!("{PROBE}{n}")).await;
        if to.saw_probe(Duration::from_millis(50)).await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no route on {topic:?} after {PATIENCE:?}"
        );
    }
    unreachable!()
}

/// A raw HTTP/1.0 event-stream reader (no chunked encoding to undo).
pub struct SseClient {
    reader: BufReader<TcpStream>,
}

impl SseClient {
    async fn get(addr: SocketAddr, topic: &str) -> Self {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(
                format!("GET /sse?topic={topic} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes(),
            )
            .await
            .expect("request");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).await.expect("headers");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Self { reader }
    }

    /// The data of the next event that is not a probe.
    pub async fn next_data(&mut self) -> String {
        tokio::time::timeout(PATIENCE, async {
            let mut data = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                let n = self.reader.read_line(&mut line).await.expect("event line");
                assert!(n > 0, "event stream ended");
                let line = line.trim_end_matches('\n');
                if let Some(value) = line.strip_prefix("data: ") {
                    data.push(value.to_owned());
                } else if line.is_empty() && !data.is_empty() {
                    let event = data.join("\n");
                    data.clear();
                    if !event.starts_with(PROBE) {
                        return event;
                    }
                }
            }
        })
        .await
        .expect("an event within the patience")
    }
}
