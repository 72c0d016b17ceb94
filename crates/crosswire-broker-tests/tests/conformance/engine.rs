//! The engines under test: the in-process bus, and real `redis-server` /
//! `nats-server` processes started on free ports, killed when dropped,
//! with or without TLS (a certificate the tests make).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crosswire::broker::MemoryBus;
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::certificates::Authority;
use crate::node::{Node, NodeOptions};

/// Which engine a broker server process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Nats,
}

/// A broker server process on a fixed port, restartable on that port.
pub struct ServerProcess {
    kind: Kind,
    port: u16,
    /// NATS's monitoring port (`/subsz`), to see its subscriptions.
    monitor: u16,
    child: Mutex<Option<Child>>,
    /// Set when nodes reach the server over TLS.
    tls: Option<TlsFiles>,
}

/// The files of a server that nodes reach over TLS, in a directory of its
/// own: an authority's certificate (what nodes trust), the server's
/// certificate and key signed by it, and a client certificate and key it
/// signed too; and the port nodes reach the server on over TLS (Redis's
/// `tls-port` beside its plain port, which the tests' own commands use;
/// NATS's one port, which then requires TLS).
pub struct TlsFiles {
    dir: tempfile::TempDir,
    port: u16,
    /// Whether the server asks nodes for a client certificate and checks it
    /// against the authority.
    verify_clients: bool,
}

impl TlsFiles {
    fn new(port: u16, verify_clients: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = Self {
            dir,
            port,
            verify_clients,
        };
        let authority = Authority::new();
        std::fs::write(files.authority(), authority.pem()).unwrap();
        let (cert, key) = authority.sign();
        std::fs::write(files.path("server-cert.pem"), cert).unwrap();
        std::fs::write(files.path("server-key.pem"), key).unwrap();
        let (cert, key) = authority.sign();
        std::fs::write(files.client_cert(), cert).unwrap();
        std::fs::write(files.client_key(), key).unwrap();
        files
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// The authority's certificate: a node's `ca_file`.
    pub fn authority(&self) -> std::path::PathBuf {
        self.path("ca.pem")
    }

    /// A client certificate the authority signed: a node's `cert_file`.
    pub fn client_cert(&self) -> std::path::PathBuf {
        self.path("client-cert.pem")
    }

    /// The key of [`Self::client_cert`]: a node's `key_file`.
    pub fn client_key(&self) -> std::path::PathBuf {
        self.path("client-key.pem")
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl ServerProcess {
    /// A connection to this Redis server, for commands of the tests' own.
    async fn redis_connection(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    pub async fn start(kind: Kind) -> Self {
        let server = Self::reserve(kind);
        server.spawn().await;
        server
    }

    /// A free port for a server that is not started yet ([`Self::restart`]
    /// starts it).
    pub fn reserve(kind: Kind) -> Self {
        Self {
            kind,
            port: free_port(),
            monitor: free_port(),
            child: Mutex::new(None),
            tls: None,
        }
    }

    /// Starts a server that nodes reach over TLS, asking them for a client
    /// certificate if `verify_clients`.
    pub async fn start_tls(kind: Kind, verify_clients: bool) -> Self {
        let mut server = Self::reserve(kind);
        let port = match kind {
            Kind::Redis => free_port(),
            Kind::Nats => server.port,
        };
        server.tls = Some(TlsFiles::new(port, verify_clients));
        server.spawn().await;
        server
    }

    /// Where a NATS server keeps its JetStream data.
    fn store(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "crosswire-nats-{}-{}",
            std::process::id(),
            self.port
        ))
    }

    pub fn url(&self) -> String {
        self.url_at(self.port)
    }

    /// The URL of this kind of server at `port` (a proxy in front of it).
    pub fn url_at(&self, port: u16) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{port}"),
            Kind::Nats => format!("nats://127.0.0.1:{port}"),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    async fn spawn(&self) {
        let port = self.port.to_string();
        let mut command = match self.kind {
            Kind::Redis => {
                let mut command = Command::new("redis-server");
                command.args([
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]);
                if let Some(tls) = &self.tls {
                    command.arg("--tls-port").arg(tls.port.to_string());
                    command
                        .arg("--tls-cert-file")
                        .arg(tls.path("server-cert.pem"));
                    command
                        .arg("--tls-key-file")
                        .arg(tls.path("server-key.pem"));
                    command.arg("--tls-ca-cert-file").arg(tls.authority());
                    let verify = if tls.verify_clients { "yes" } else { "no" };
                    command.args(["--tls-auth-clients", verify]);
                }
                command
            }
            Kind::Nats => {
                // With JetStream, which keeps history topics, in a store of
                // its own (kept across a restart, removed with the process).
                let mut command = Command::new("nats-server");
                let monitor = self.monitor.to_string();
                let store = self.store();
                command.args(["-a", "127.0.0.1", "-p", &port, "-m", &monitor, "-js", "-sd"]);
                command.arg(&store);
                if let Some(tls) = &self.tls {
                    command
                        .arg("--tls")
                        .arg("--tlscert")
                        .arg(tls.path("server-cert.pem"));
                    command.arg("--tlskey").arg(tls.path("server-key.pem"));
                    if tls.verify_clients {
                        command
                            .arg("--tlsverify")
                            .arg("--tlscacert")
                            .arg(tls.authority());
                    }
                }
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {:?} (scripts/install-test-deps installs it): {e}",
                    self.kind
                )
            });
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready().await;
    }

    /// Waits until the server answers: `+PONG` from Redis, `INFO` from NATS.
    async fn wait_ready(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = TcpStream::connect(addr).await {
                let mut buf = [0u8; 64];
                let ready = match self.kind {
                    Kind::Redis => {
                        stream.write_all(b"PING\r\n").await.is_ok()
                            && matches!(
                                tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await,
                                Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
                            )
                    }
                    Kind::Nats => matches!(
                        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await,
                        Ok(Ok(n)) if buf[..n].starts_with(b"INFO")
                    ),
                };
                if ready {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?} did not start on port {}",
                self.kind,
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, signal: Signal) {
        let child = self.child.lock().unwrap();
        let child = child.as_ref().expect("server running");
        let pid = Pid::from_raw(child.id() as i32).expect("a child pid is positive");
        kill_process(pid, signal).expect("signal the server");
    }

    /// `kill -9`, and reap it.
    pub fn kill9(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port; returns once it answers.
    pub async fn restart(&self) {
        self.spawn().await;
    }

    /// `kill -STOP`.
    pub fn stop(&self) {
        self.signal(Signal::STOP);
    }

    /// `kill -CONT`.
    pub fn cont(&self) {
        self.signal(Signal::CONT);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.get_mut().unwrap().take() {
            // A stopped process still dies of SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.kind == Kind::Nats {
            let _ = std::fs::remove_dir_all(self.store());
        }
    }
}

/// One engine for one test: nodes built on it share topics (per prefix).
pub enum Engine {
    /// The in-process bus; one bus per prefix, so prefixes isolate too.
    Memory(Mutex<HashMap<String, MemoryBus>>),
    /// A real server process.
    Server(ServerProcess),
}

impl Engine {
    pub fn memory() -> Self {
        Engine::Memory(Mutex::new(HashMap::new()))
    }

    pub async fn redis() -> Self {
        Engine::Server(ServerProcess::start(Kind::Redis).await)
    }

    pub async fn nats() -> Self {
        Engine::Server(ServerProcess::start(Kind::Nats).await)
    }

    /// Redis that nodes reach over TLS (`rediss://`); it asks them for a
    /// client certificate if `verify_clients`.
    #[allow(dead_code)]
    pub async fn redis_tls(verify_clients: bool) -> Self {
        Engine::Server(ServerProcess::start_tls(Kind::Redis, verify_clients).await)
    }

    /// NATS that requires TLS (`tls://`); it asks nodes for a client
    /// certificate if `verify_clients`.
    #[allow(dead_code)]
    pub async fn nats_tls(verify_clients: bool) -> Self {
        Engine::Server(ServerProcess::start_tls(Kind::Nats, verify_clients).await)
    }

    /// A server node on this engine with the default prefix.
    pub async fn node(&self) -> Node {
        self.node_with(NodeOptions::default()).await
    }

    /// A server node on this engine.
    pub async fn node_with(&self, options: NodeOptions) -> Node {
        let broker = self.broker(&options).await;
        Node::start(broker, &options).await
    }

    /// The `[broker]` settings of a node on this engine (no URL for the
    /// bus); over TLS, the URL names `localhost`, `ca_file` trusts the
    /// server's certificate, and a server that verifies clients gets a
    /// client certificate.
    pub fn broker_config(&self, options: &NodeOptions) -> crosswire::BrokerConfig {
        let mut config = crosswire::BrokerConfig::default();
        config.prefix = options.prefix.clone();
        config.buffer_bytes = options.buffer_bytes;
        if let Engine::Server(server) = self {
            let url = match (server.kind, &server.tls) {
                (_, None) => server.url_at(options.port.unwrap_or(server.port)),
                (Kind::Redis, Some(tls)) => format!("rediss://localhost:{}", tls.port),
                (Kind::Nats, Some(tls)) => format!("tls://localhost:{}", tls.port),
            };
            config.url = Some(match options.user {
                Some(user) => url.replacen("://", &format!("://{user}@"), 1),
                None => url,
            });
            if let Some(tls) = &server.tls {
                config.ca_file = Some(tls.authority());
                if tls.verify_clients {
                    config.cert_file = Some(tls.client_cert());
                    config.key_file = Some(tls.client_key());
                }
            }
        }
        config
    }

    /// A broker on this engine, for a node of the caller's own.
    pub async fn broker(&self, options: &NodeOptions) -> Box<dyn crosswire::broker::Broker> {
        let config = self.broker_config(options);
        match self {
            Engine::Memory(buses) => {
                let bus = buses
                    .lock()
                    .unwrap()
                    .entry(options.prefix.clone())
                    .or_default()
                    .clone();
                Box::new(bus.broker())
            }
            Engine::Server(server) => match server.kind {
                Kind::Redis => Box::new(
                    crosswire_redis::connect(&config)
                        .await
                        .expect("connect to redis"),
                ),
                Kind::Nats => Box::new(
                    crosswire_nats::connect(&config)
                        .await
                        .expect("connect to nats"),
                ),
            },
        }
    }

    /// The server process, for the fault tests (none for the bus).
    pub fn process(&self) -> Option<&ServerProcess> {
        match self {
            Engine::Memory(_) => None,
            Engine::Server(server) => Some(server),
        }
    }

    /// How many subscriptions the broker has for `topic`'s channel
    /// (Redis `PUBSUB NUMSUB`, NATS `/subsz`); none for the bus.
    pub async fn broker_subscribers(&self, prefix: &str, topic: &str) -> Option<usize> {
        let Engine::Server(server) = self else {
            return None;
        };
        if server.kind == Kind::Nats {
            return Some(
                nats_subscriptions(server.monitor, &crosswire_nats::subject(prefix, topic)).await,
            );
        }
        let mut connection = server.redis_connection().await;
        let (_, count): (String, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(format!("{prefix}:{topic}"))
            .query_async::<Vec<(String, usize)>>(&mut connection)
            .await
            .unwrap()
            .pop()
            .unwrap();
        Some(count)
    }

    /// How many client connections the broker server has, not counting
    /// the one this asks on; none for the bus.
    pub async fn broker_connections(&self) -> Option<usize> {
        let Engine::Server(server) = self else {
            return None;
        };
        if server.kind == Kind::Nats {
            let body = nats_monitor(server.monitor, "/connz").await;
            return Some(body["num_connections"].as_u64().unwrap() as usize);
        }
        let mut connection = server.redis_connection().await;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut connection)
            .await
            .unwrap();
        Some(list.lines().count() - 1)
    }

    /// Waits until the broker server has no client connection left.
    pub async fn wait_no_broker_connections(&self) {
        let deadline = tokio::time::Instant::now() + crate::node::PATIENCE;
        loop {
            let open = self.broker_connections().await;
            if open.is_none_or(|open| open == 0) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{open:?} connections left open"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Adds a Redis user `name` with `password` that may run every command
    /// on every key but use no Pub/Sub channel (an ACL a node's reads pass
    /// and its subscriptions do not). Used by the history suite only.
    #[allow(dead_code)]
    pub async fn add_redis_user_without_channels(&self, name: &str, password: &str) {
        let Engine::Server(server) = self else {
            return;
        };
        assert!(matches!(server.kind, Kind::Redis), "Redis only");
        let mut connection = server.redis_connection().await;
        redis::cmd("ACL")
            .arg("SETUSER")
            .arg(name)
            .arg("on")
            .arg(format!(">{password}"))
            .arg("~*")
            .arg("resetchannels")
            .arg("+@all")
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }

    /// Makes Redis forget its loaded scripts (`SCRIPT FLUSH`), as an
    /// operator or a failover to a fresh replica would.
    /// Used by the history suite only.
    #[allow(dead_code)]
    pub async fn flush_redis_scripts(&self) {
        let Engine::Server(server) = self else {
            return;
        };
        assert!(matches!(server.kind, Kind::Redis), "Redis only");
        let mut connection = server.redis_connection().await;
        redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async::<()>(&mut connection)
            .await
            .unwrap();
    }

    /// Makes the broker lose every topic's history (Redis: `FLUSHALL`,
    /// NATS: every stream deleted).
    /// Used by the history suite only.
    #[allow(dead_code)]
    pub async fn forget_history(&self) {
        let Engine::Server(server) = self else {
            return;
        };
        match server.kind {
            Kind::Redis => {
                let mut connection = server.redis_connection().await;
                redis::cmd("FLUSHALL")
                    .query_async::<()>(&mut connection)
                    .await
                    .unwrap();
            }
            Kind::Nats => {
                use futures_util::StreamExt;
                let client = async_nats::connect(server.url()).await.unwrap();
                let jetstream = async_nats::jetstream::new(client);
                let names: Vec<String> = jetstream
                    .stream_names()
                    .map(|name| name.unwrap())
                    .collect()
                    .await;
                for name in names {
                    jetstream.delete_stream(&name).await.unwrap();
                }
            }
        }
    }

    /// Writes raw bytes on `topic`'s channel, as something other than a
    /// Crosswire node would. False for the bus, which has no raw channel.
    pub async fn inject(&self, prefix: &str, topic: &str, bytes: &[u8]) -> bool {
        let Engine::Server(server) = self else {
            return false;
        };
        match server.kind {
            Kind::Redis => {
                let mut connection = server.redis_connection().await;
                let channel = format!("{prefix}:{topic}");
                redis::cmd("PUBLISH")
                    .arg(channel)
                    .arg(bytes)
                    .query_async::<i64>(&mut connection)
                    .await
                    .unwrap();
            }
            Kind::Nats => {
                let client = async_nats::connect(server.url()).await.unwrap();
                client
                    .publish(
                        crosswire_nats::subject(prefix, topic),
                        bytes.to_vec().into(),
                    )
                    .await
                    .unwrap();
                client.flush().await.unwrap();
            }
        }
        true
    }
}

/// A page of NATS's monitoring endpoint, as JSON.
async fn nats_monitor(monitor: u16, path: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", monitor)).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let start = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    serde_json::from_slice(&response[start..]).unwrap()
}

/// Subscriptions on `subject`, from NATS's monitoring endpoint.
async fn nats_subscriptions(monitor: u16, subject: &str) -> usize {
    let body = nats_monitor(monitor, "/subsz?subs=1&limit=100000").await;
    body["subscriptions_list"].as_array().map_or(0, |list| {
        list.iter().filter(|s| s["subject"] == subject).count()
    })
}
