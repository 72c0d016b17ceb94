//! What the history tests share: a real `nats-server` with JetStream
//! (started on free ports, its store in a temporary directory, killed when
//! dropped), Crosswire nodes on it that keep history for `feed`, and their
//! clients: tokio-tungstenite peers and a raw HTTP/1.0 event-stream reader.

#![allow(dead_code, unreachable_pub)]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::routing::get;
use crosswire::HistoryConfig;
use crosswire::broker::{BrokerError, BrokerStage};
use crosswire::history::StreamPosition;
use crosswire::prelude::*;
use crosswire::sse::create_event_stream;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A `nats-server -js` process.
pub struct Nats {
    pub port: u16,
    child: Child,
    _store: tempfile::TempDir,
    /// Its configuration file, when it has users (see
    /// [`Nats::start_with_users`]).
    config: Option<std::path::PathBuf>,
}

/// The users of [`Nats::start_with_users`]: `node` may do anything;
/// `reader` may do anything but make JetStream consumers (so it can read a
/// stream's messages one by one, but not follow it); `streamless` may do
/// anything but ask about streams (so JetStream never answers its stream
/// lookups, while core NATS serves it as usual). Each user's password is
/// its name.
const USERS: &str = r#"
accounts {
  APP {
    jetstream: enabled
    users: [
      { user: "node", password: "node" }
      {
        user: "reader", password: "reader",
        permissions: { publish: { allow: [">"], deny: ["$JS.API.CONSUMER.>"] } }
      }
      {
        user: "streamless", password: "streamless",
        permissions: { publish: { allow: [">"], deny: ["$JS.API.STREAM.>"] } }
      }
    ]
  }
}
"#;

/// `nats-server` on `port`, with JetStream storing in `store` if given,
/// and the settings of `config` if given.
fn spawn(port: u16, store: Option<&tempfile::TempDir>, config: Option<&std::path::Path>) -> Child {
    let mut command = Command::new("nats-server");
    if let Some(config) = config {
        command.arg("-c").arg(config);
    }
    command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
    if let Some(store) = store {
        command.args(["-js", "-sd"]).arg(store.path());
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server (scripts/install-test-deps installs it)")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl Nats {
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// A server with JetStream on or off.
    pub async fn start_with(jetstream: bool) -> Self {
        let store = tempfile::tempdir().expect("a store directory");
        Self::launch(store, jetstream, None).await
    }

    /// A server with JetStream whose clients log in as one of [`USERS`]:
    /// [`Nats::url`] is `node`'s, [`Nats::url_as`] any one's.
    pub async fn start_with_users() -> Self {
        let store = tempfile::tempdir().expect("a store directory");
        let config = store.path().join("users.conf");
        std::fs::write(&config, USERS).expect("write the configuration");
        Self::launch(store, true, Some(config)).await
    }

    /// Starts a server on a free port, storing in `store` if `jetstream`,
    /// with the settings of `config` if given; returns once it answers.
    async fn launch(
        store: tempfile::TempDir,
        jetstream: bool,
        config: Option<std::path::PathBuf>,
    ) -> Self {
        let port = free_port();
        let child = spawn(port, jetstream.then_some(&store), config.as_deref());
        let nats = Self {
            port,
            child,
            _store: store,
            config,
        };
        nats.wait_ready().await;
        nats
    }

    /// `kill -9`, then starts again on the same port and store.
    pub async fn restart(&mut self) {
        self.kill();
        self.start_again().await;
    }

    /// `kill -9`: the server is gone until [`Nats::start_again`].
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and store.
    pub async fn start_again(&mut self) {
        self.child = spawn(self.port, Some(&self._store), self.config.as_deref());
        self.wait_ready().await;
    }

    pub fn url(&self) -> String {
        match self.config {
            Some(_) => self.url_as("node"),
            None => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    /// The URL that logs in as `user` (a server with users).
    pub fn url_as(&self, user: &str) -> String {
        format!("nats://{user}:{user}@127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut buf = [0u8; 64];
                let read =
                    tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
                if matches!(read, Ok(Ok(n)) if buf[..n].starts_with(b"INFO")) {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the JetStream streams hold `count` messages in all:
    /// what the nodes appended is stored, not only sent.
    pub async fn wait_stored(&self, count: u64) {
        let client = async_nats::connect(self.url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let stored: u64 = jetstream
                .streams()
                .map(|info| info.unwrap().state.messages)
                .collect::<Vec<_>>()
                .await
                .iter()
                .sum();
            if stored >= count {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the streams hold {stored} messages, expected {count}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Deletes every JetStream stream, as an operator would.
    pub async fn delete_streams(&self) -> usize {
        let client = async_nats::connect(self.url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let names: Vec<String> = jetstream
            .stream_names()
            .map(|name| name.unwrap())
            .collect()
            .await;
        for name in &names {
            jetstream.delete_stream(name).await.unwrap();
        }
        names.len()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Crosswire server on the NATS broker, keeping `size` entries of `feed`.
/// `/ws?since=<position>` subscribes with recovery and reports it;
/// `/events` is an event stream on `feed` (recovering from `Last-Event-ID`);
/// `/chat` subscribes to `chat`, a topic without history.
pub struct Node {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    errors: Arc<Mutex<Vec<BrokerError>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Node {
    pub async fn start(nats: &Nats, size: usize) -> Self {
        Self::start_at(&nats.url(), size).await
    }

    /// A node on the NATS server at `url`.
    pub async fn start_at(url: &str, size: usize) -> Self {
        let mut broker_config = crosswire::BrokerConfig::default();
        broker_config.url = Some(url.to_owned());
        broker_config.prefix = "cwtest".to_owned();
        let broker = crosswire_nats::connect(&broker_config)
            .await
            .expect("connect to nats");
        let mut config = Config::default();
        config.history = vec![HistoryConfig::for_topics(["feed"]).size(size)];
        let subscriber = hooks().open(|peer: Peer| async move {
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
        let events = get(|request: Request| async move {
            let stream = create_event_stream(&request);
            stream.subscribe("feed");
            stream.send()
        });
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        let server = App::with_config(config)
            .broker(broker)
            .on_broker_error(move |error: &BrokerError| sink.lock().unwrap().push(error.clone()))
            .websocket("/ws", subscriber)
            .websocket(
                "/chat",
                hooks().open(|peer: Peer| async move { peer.subscribe("chat") }),
            )
            .route("/events", events)
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

    /// Broker errors reported at `stage` so far.
    pub fn errors_at(&self, stage: BrokerStage) -> usize {
        self.error_messages(stage).len()
    }

    /// The messages of the broker errors reported at `stage` so far.
    pub fn error_messages(&self, stage: BrokerStage) -> Vec<String> {
        self.errors
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.stage() == stage)
            .map(|e| e.message().to_owned())
            .collect()
    }

    /// Publishes `{"id": <position>, "n": n}` to `feed`.
    pub fn publish(&self, n: u64) {
        self.handle
            .publish_with("feed", |id| json!({ "id": id, "n": n }));
    }

    /// Publishes `{"n": n}` to `chat`, a topic without history.
    pub fn chat(&self, n: u64) {
        self.handle.publish("chat", json!({ "n": n }));
    }

    /// A peer subscribed to `chat`, once the subscription is made.
    pub async fn chat_peer(&self) -> WsClient {
        let before = self.handle.subscriber_count("chat");
        let url = format!("ws://{}/chat", self.addr);
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket connect");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.handle.subscriber_count("chat") == before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the chat peer did not subscribe"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        WsClient { ws }
    }

    pub async fn wait_subscribers(&self, count: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.handle.subscriber_count("feed") != count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "feed has {} subscribers here, expected {count}",
                self.handle.subscriber_count("feed")
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A peer on `/ws` (recovering from `since`), once its recovery
    /// report arrived; returns it, the report, and the feed messages that
    /// came before the report (the replay).
    pub async fn peer(
        &self,
        since: Option<&StreamPosition>,
    ) -> (WsClient, serde_json::Value, Vec<(u64, StreamPosition)>) {
        let url = match since {
            Some(since) => format!("ws://{}/ws?since={since}", self.addr),
            None => format!("ws://{}/ws", self.addr),
        };
        let (ws, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket connect");
        let mut peer = WsClient { ws };
        let mut replayed = Vec::new();
        loop {
            let value = peer.next_json().await;
            match feed(&value) {
                Some(message) => replayed.push(message),
                None => return (peer, value, replayed),
            }
        }
    }

    /// An event stream on `feed`, with `Last-Event-ID: last` if given.
    pub async fn events(&self, last: Option<&StreamPosition>) -> Events {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let last = last.map_or(String::new(), |last| format!("Last-Event-ID: {last}\r\n"));
        stream
            .write_all(format!("GET /events HTTP/1.0\r\nHost: localhost\r\n{last}\r\n").as_bytes())
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
        Events { reader }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A feed message's `n` and position.
pub fn feed(value: &serde_json::Value) -> Option<(u64, StreamPosition)> {
    let id = value.get("id")?.as_str()?;
    Some((value["n"].as_u64()?, id.parse().ok()?))
}

/// A WebSocket client of `/ws`.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn next_json(&mut self) -> serde_json::Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("a message in time")
                .expect("connection open")
                .expect("websocket read");
            if let WsMessage::Text(text) = message {
                return serde_json::from_str(&text).expect("JSON");
            }
        }
    }

    /// The next feed message.
    pub async fn next_feed(&mut self) -> (u64, StreamPosition) {
        let value = self.next_json().await;
        feed(&value).unwrap_or_else(|| panic!("not a feed message: {value}"))
    }
}

/// One server-sent event.
#[derive(Debug, Default)]
pub struct Event {
    pub name: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

impl Event {
    /// A feed event's `n` and position.
    pub fn feed(&self) -> (u64, StreamPosition) {
        let value: serde_json::Value = serde_json::from_str(&self.data).expect("JSON data");
        feed(&value).unwrap_or_else(|| panic!("not a feed event: {self:?}"))
    }
}

/// A raw HTTP/1.0 event-stream reader (no chunked encoding to undo).
pub struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    pub async fn next(&mut self) -> Event {
        tokio::time::timeout(PATIENCE, async {
            let mut event = Event::default();
            let mut data = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                let n = self.reader.read_line(&mut line).await.expect("event line");
                assert!(n > 0, "event stream ended");
                let line = line.trim_end_matches('\n');
                if let Some(value) = line.strip_prefix("data: ") {
                    data.push(value.to_owned());
                } else if let Some(value) = line.strip_prefix("id: ") {
                    event.id = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("event: ") {
                    event.name = Some(value.to_owned());
                } else if line.is_empty() && !data.is_empty() {
                    event.data = data.join("\n");
                    return event;
                }
            }
        })
        .await
        .expect("an event in time")
    }
}
