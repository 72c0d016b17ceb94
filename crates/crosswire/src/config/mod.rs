//! Settings from `crosswire.toml`, with `CROSSWIRE_*` environment overrides.
//!
//! Every limit that protects the server has a default chosen for a public
//! deployment (see each field). Unknown keys and bad values are errors that
//! name the file or variable, the key and what was expected: a typo in a limit
//! must never silently fall back to a default.
//!
//! ```toml
//! [server]
//! host = "0.0.0.0"
//! port = 3000
//! workers = "auto"
//! max_connections = 10000
//! max_header_bytes = "16KiB"
//!
//! [server.tls]                      # needs the `tls` feature
//! cert = "certs/fullchain.pem"
//! key = "certs/privkey.pem"
//!
//! [websocket]
//! enabled = true
//! max_message_size = "1MiB"
//! idle_timeout = "120s"
//! compression = "shared"
//! allowed_origins = ["https://example.com", "https://*.example.com"]
//!
//! [sse]
//! keep_alive = "15s"
//! queue_bytes = "1MiB"
//! send_timeout = "60s"
//!
//! [broker]
//! url = "redis://127.0.0.1:6379"   # or nats://…; absent: a single node
//! prefix = "crosswire"
//!
//! [metrics]
//! enabled = true                   # GET /metrics, Prometheus text format
//! [[history]]                       # recent publishes, for reconnecting clients
//! topics = ["chat", "room:*"]
//! size = 100
//! ttl = "5m"
//! ```

mod broker_tls;
mod broker_url;
mod history;
mod load;
mod metrics;
mod units;
mod workers;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use broker_tls::ClientIdentity;
pub use broker_url::UrlLogin;
pub use history::HistoryConfig;
pub use load::ConfigError;
pub use metrics::MetricsConfig;
pub use workers::Workers;

/// All of Crosswire's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// Where the server listens.
    pub server: ServerConfig,
    /// WebSocket limits and timers.
    pub websocket: WebSocketConfig,
    /// Server-Sent Events keep-alive and queue budget.
    pub sse: SseConfig,
    /// The broker that shares topics with other server processes.
    pub broker: BrokerConfig,
    /// Settings of `crosswire dev`; the app itself ignores them.
    pub dev: DevConfig,
    /// Prometheus metrics: off by default.
    pub metrics: MetricsConfig,
    /// `[[history]]` rules: topics whose recent publishes are kept so that
    /// reconnecting clients recover what they missed. Default none.
    pub history: Vec<HistoryConfig>,
}

/// `[server]`: the listening address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Interface to bind. Default `127.0.0.1`: nothing is exposed until asked.
    pub host: String,
    /// TCP port. Default 3000, the port of the seed's dev server. `PORT` in the
    /// environment overrides it, as on most hosting platforms.
    pub port: u16,
    /// Time allowed to receive a request's headers. Default 10 s: a client that
    /// trickles headers cannot hold a connection open forever.
    #[serde(with = "units::duration")]
    pub header_read_timeout: Duration,
    /// Time a request body may go without sending any bytes while a handler
    /// reads it. Default 30 s: past it the read fails (an extractor answers
    /// `400`) and the connection is closed, so a client that trickles a body
    /// cannot hold a connection for ever (nginx's `client_body_timeout`).
    /// `0` turns the limit off.
    #[serde(with = "units::duration")]
    pub body_read_timeout: Duration,
    /// Worker threads, each with its own runtime and its own connections.
    /// Default `"auto"`: one per CPU the process may run on (its CPU
    /// affinity and cgroup quota respected). `1` serves every connection on
    /// the runtime that runs the server, as a single-threaded server does.
    pub workers: Workers,
    /// Bind each worker thread to a CPU of its own. Default false: the
    /// threads float, and the kernel moves a worker off a core that another
    /// process is using. Set it where the process owns its cores (an
    /// exclusive cpuset, `isolcpus`): a worker's connections then keep their
    /// caches on one core. It applies only when the workers cover exactly
    /// the CPUs the process may run on; with fewer workers than CPUs the
    /// threads float whatever this says.
    pub pin_workers: bool,
    /// Open connections (HTTP, WebSocket and event streams together) the
    /// server serves at once; over HTTP/2, each open event stream beyond a
    /// connection's first counts as a connection too, as it would over
    /// HTTP/1.1. Default 10 000. Past it, a new connection's
    /// request is answered `503 Service Unavailable` with `Retry-After: 1`
    /// and `Connection: close`, and the accept loop goes on accepting. At
    /// startup the process's open-file limit is raised toward this (up to
    /// the hard limit), with a warning if it stays too low.
    #[serde(deserialize_with = "units::positive")]
    pub max_connections: usize,
    /// Largest request head (request line and headers) accepted. Default
    /// 16 KiB, as nginx and Node allow by default. Past it, or past 100
    /// header fields, the request is answered `431 Request Header Fields Too
    /// Large` and the connection closed. While a response streams, at most
    /// this much of the client's next request is read ahead.
    #[serde(with = "units::size")]
    pub max_header_bytes: usize,
    /// Most bytes all WebSocket send queues of the server may hold together
    /// (`"256MiB"`, the default). Each queue is also bounded on its own
    /// (`[websocket] send_queue_bytes`), but without this the worst case
    /// grows as peers × queue size. Once it is spent, the peers furthest
    /// behind (their writer waiting on them longest, then the most bytes
    /// held) are closed with 1008 until the queues hold under nine tenths
    /// of it. Counted: the buffers small messages are copied into; large
    /// messages are shared by every queue and count only per peer. `0`
    /// turns the budget off.
    #[serde(with = "units::size")]
    pub max_queued_bytes: usize,
    /// WebSocket upgrades one remote address may make per second (with a
    /// burst of as many), IPv6 addresses counted per `/64`. Default `0`: no limit, since many users may share
    /// one address behind a NAT or a proxy. Past it: `429 Too Many
    /// Requests` with `Retry-After`.
    pub max_handshakes_per_ip_per_second: u32,
    /// Open connections (HTTP, WebSocket and event streams together) one
    /// remote address may hold, IPv6 addresses counted per `/64`. Default
    /// `0`: no limit, since many users may share one address behind a NAT
    /// or a proxy. Past it, the address's new connection is answered `503
    /// Service Unavailable` with `Retry-After: 1` (closed at once with TLS),
    /// as past `max_connections`, while other addresses are served.
    pub max_connections_per_ip: u32,
    /// How long a graceful shutdown (SIGTERM, Ctrl-C, or the future given to
    /// `run_until`) may take. Default 10 s. WebSocket peers are closed in
    /// batches spread over the first half of it, so that a hundred thousand
    /// clients do not all reconnect to the next instance in the same
    /// millisecond; whatever is still open at the end is closed hard.
    #[serde(with = "units::duration")]
    pub shutdown_timeout: Duration,
    /// The close code WebSocket peers get at shutdown. Default 1001 (going
    /// away); under `crosswire dev` the default becomes 1012 (service
    /// restart), so pages reconnect to the new build.
    pub shutdown_close_code: u16,
    /// `[server.tls]`: serve `https://` and `wss://` instead of plain HTTP
    /// (needs the crate's `tls` feature).
    pub tls: TlsConfig,
}

/// `[server.tls]`: the certificate the server presents. With `cert` and
/// `key` set, the port speaks only TLS: `https://` (HTTP/1.1 or HTTP/2, by
/// ALPN) and `wss://`. Both unset, the default, serves plain HTTP.
/// `CROSSWIRE_SERVER_TLS_CERT`, `CROSSWIRE_SERVER_TLS_KEY` and
/// `CROSSWIRE_SERVER_TLS_HANDSHAKE_TIMEOUT` set them from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM file with the certificate chain, the server's own certificate
    /// first (a Let's Encrypt `fullchain.pem`). Read at startup and again on
    /// `SIGHUP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<std::path::PathBuf>,
    /// PEM file with the private key of the first certificate (PKCS#8,
    /// PKCS#1 or SEC1). Read at startup and again on `SIGHUP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<std::path::PathBuf>,
    /// Time allowed for a client to finish the TLS handshake. Default 10 s:
    /// a client that opens a socket and never completes TLS cannot hold it.
    #[serde(with = "units::duration")]
    pub handshake_timeout: Duration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert: None,
            key: None,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl TlsConfig {
    /// Whether TLS is asked for (`cert` or `key` set).
    pub fn is_enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 3000,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            workers: Workers::Auto,
            pin_workers: false,
            max_connections: 10_000,
            max_header_bytes: 16 << 10,
            max_queued_bytes: 256 << 20,
            max_handshakes_per_ip_per_second: 0,
            max_connections_per_ip: 0,
            shutdown_timeout: Duration::from_secs(10),
            shutdown_close_code: 1001,
            tls: TlsConfig::default(),
        }
    }
}

/// `[websocket]`: the WebSocket switch, limits and timers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct WebSocketConfig {
    /// Accept WebSocket upgrades. Default true. When false, upgrade requests
    /// get `501 Not Implemented` naming this setting.
    pub enabled: bool,
    /// Largest message accepted, after reassembly. Default 1 MiB; larger
    /// messages close the connection with 1009.
    #[serde(with = "units::size")]
    pub max_message_size: usize,
    /// Largest single frame accepted. Default 1 MiB. A frame that declares a
    /// larger length is refused (1009) before its payload is read.
    #[serde(with = "units::size")]
    pub max_frame_size: usize,
    /// Most frames one message may come in. Default 1 024; a message split
    /// into more closes the connection with 1009 (a client cannot keep a
    /// message open forever with empty continuation frames).
    pub max_fragments: usize,
    /// A peer that sends nothing (not even a pong) for this long is closed
    /// with 1001. Default 120 s.
    #[serde(with = "units::duration")]
    pub idle_timeout: Duration,
    /// A peer silent this long is pinged, and again every interval while it
    /// stays silent: its pongs keep a live peer inside the idle timeout and
    /// stop proxies from dropping a quiet connection. Peers that are talking
    /// need no ping and get none. Default 30 s.
    #[serde(with = "units::duration")]
    pub ping_interval: Duration,
    /// Bytes a peer's send queue may hold before the overflow policy applies.
    /// Default 1 MiB: the most memory one slow reader can pin.
    #[serde(with = "units::size")]
    pub send_queue_bytes: usize,
    /// What happens when a send queue is full. Default `close` (1008).
    pub on_send_queue_full: OverflowPolicy,
    /// How long to wait for the client's close frame (or for the last frames to
    /// be written) after the server started a close, before the TCP connection
    /// is dropped. Default 5 s.
    #[serde(with = "units::duration")]
    pub close_timeout: Duration,
    /// Pings and pongs a client may send per second. Default 100; past it
    /// the peer is closed with 1008. `0`: no limit.
    pub max_control_frames_per_second: u32,
    /// Data messages a client may send per second. Default `0`: no limit.
    pub max_messages_per_second: u32,
    /// Messages a client may send at once above `max_messages_per_second`
    /// after a quiet spell. Default `0`: the rate itself.
    pub message_burst: u32,
    /// What happens to a message over `max_messages_per_second`: `close`
    /// (the default, 1008) or `drop_message` (the message is not given to
    /// the `message` hook, and counted).
    pub on_message_rate: OverflowPolicy,
    /// permessage-deflate (RFC 7692). Default `shared`: browsers offer it on
    /// every connection and JSON shrinks several times with it, and `shared`
    /// keeps its cost flat for pub/sub, because a publish is compressed once
    /// for all its subscribers and no peer holds compression state between
    /// messages. See [`Compression`].
    pub compression: Compression,
    /// Messages shorter than this go uncompressed even to peers that
    /// negotiated compression (RFC 7692 allows it per message). Default
    /// 64 bytes: below that, deflate's framing overhead eats the gain and
    /// the CPU is spent for nothing.
    #[serde(with = "units::size")]
    pub compression_threshold: usize,
    /// Origins whose pages may open a WebSocket, such as
    /// `["https://example.com", "https://*.example.com"]` (`*.` matches
    /// subdomains only); `["*"]` allows every origin (and logs a warning at
    /// startup). Default none: a page may connect only to the host it came
    /// from (its origin's host and port equal the request's `Host`). A
    /// request without `Origin` (not a browser) is always allowed. Refused
    /// upgrades get `403 Forbidden` before any hook runs. A list replaces the
    /// same-host rule, so list the app's own origin too.
    /// `CROSSWIRE_WEBSOCKET_ALLOWED_ORIGINS` takes a comma-separated list.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "units::origins::deserialize"
    )]
    pub allowed_origins: Option<Vec<String>>,
}

/// `[websocket] compression`: whether and how messages are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Compression {
    /// Decline permessage-deflate; every connection runs uncompressed.
    Off,
    /// Accept permessage-deflate with no context kept between messages in
    /// either direction (the server answers `server_no_context_takeover` and
    /// `client_no_context_takeover`). A message sent or published is
    /// compressed at most once and the same compressed frame goes to every
    /// peer that negotiated compression; peers that did not get the plain
    /// frame. Compression state exists only while a message is being
    /// compressed or inflated, so an idle connection costs no more than
    /// without compression. The price: repeated content across messages is
    /// not exploited.
    #[default]
    Shared,
    /// Accept permessage-deflate and keep a compression context per peer,
    /// as the client offers: better ratios on streams of similar messages,
    /// at the cost of compressing a publish once per subscriber and of
    /// about 300 KiB of deflate and inflate state per compressing peer
    /// (allocated when it first sends or receives a compressed message).
    PerPeer,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_message_size: 1 << 20,
            max_frame_size: 1 << 20,
            max_fragments: 1024,
            idle_timeout: Duration::from_secs(120),
            ping_interval: Duration::from_secs(30),
            send_queue_bytes: 1 << 20,
            on_send_queue_full: OverflowPolicy::Close,
            close_timeout: Duration::from_secs(5),
            max_control_frames_per_second: 100,
            max_messages_per_second: 0,
            message_burst: 0,
            on_message_rate: OverflowPolicy::Close,
            compression: Compression::Shared,
            compression_threshold: 64,
            allowed_origins: None,
        }
    }
}

/// `[sse]`: Server-Sent Events streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct SseConfig {
    /// How long a stream may stay silent before the server writes a comment
    /// line (`: keep-alive`). Default 15 s: well under the 30-60 s after which
    /// proxies and load balancers drop idle responses, and it lets the server
    /// notice a vanished client. `0` turns keep-alive comments off.
    #[serde(with = "units::duration")]
    pub keep_alive: Duration,
    /// Bytes of events one stream may hold for a client that does not read
    /// them. Default 1 MiB: the most memory one slow client can pin. Past it
    /// the stream is closed and its `on_closed` callbacks run.
    #[serde(with = "units::size")]
    pub queue_bytes: usize,
    /// How long one write to a client may wait for the client to take any of
    /// it. Default 60 s (nginx's `send_timeout`). Past it the connection is
    /// closed: a client that stopped reading cannot hold its connection, its
    /// socket buffers and the write in progress after its stream ended for
    /// falling `queue_bytes` behind. Applies to every response, over plain
    /// HTTP or TLS (an event stream or any other, whether the server writes
    /// it itself or hyper does); the limit is on a write
    /// taking no byte, so a client that reads at all, however slowly, is not
    /// cut. `0` turns the limit off.
    #[serde(with = "units::duration")]
    pub send_timeout: Duration,
    /// Origins whose pages may open an event stream, as
    /// `[websocket] allowed_origins`. Default none: no check, since a
    /// cross-origin `EventSource` can only read a stream the app allows by
    /// CORS. When set, a request from another origin for an event stream
    /// (`Accept: text/event-stream`, or any response of that type) gets
    /// `403 Forbidden`; `["*"]` is the same as no check.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "units::origins::deserialize"
    )]
    pub allowed_origins: Option<Vec<String>>,
}

impl Default for SseConfig {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(15),
            queue_bytes: 1 << 20,
            send_timeout: Duration::from_secs(60),
            allowed_origins: None,
        }
    }
}

/// `[broker]`: scale-out across server processes through Redis or NATS.
///
/// The library reads these settings but does not pick the engine: an app
/// passes them to `crosswire_redis::connect` or `crosswire_nats::connect`
/// (chosen by the URL's scheme, as the chat example does) and gives the
/// result to [`App::broker`](crate::App::broker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// The broker's URL: `redis://host:port[/db]` or `nats://host:port`, or
    /// over TLS `rediss://host:port[/db]` or `tls://host:port` (NATS), with
    /// a login if the broker asks for one (`redis://user:password@…`,
    /// `nats://user:password@…` or `nats://token@…`; logs and errors show
    /// it without the password). Default none: a single node, no broker,
    /// nothing to run beside the app. `CROSSWIRE_BROKER_URL` sets it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "units::url"
    )]
    pub url: Option<String>,
    /// Prefix of every Redis channel (`<prefix>:<topic>`) or NATS subject
    /// (`<prefix>.<topic>`), so several apps can share one broker without
    /// hearing each other: letters, digits, `-` and `_` (at most 64), so
    /// that no prefix and topic can spell another prefix's channel.
    /// Default `crosswire`.
    #[serde(deserialize_with = "units::prefix")]
    pub prefix: String,
    /// What to do when the broker is unreachable at startup: `false` (the
    /// default) fails at once with an error naming `broker.url`; `true` keeps
    /// retrying, and the server starts once the broker answers.
    pub wait_at_startup: bool,
    /// Bytes of publishes that may wait for a slow, stopped or unreachable
    /// broker. Default 16 MiB. Past it, publishes to other nodes are dropped
    /// and counted (local delivery never waits for the broker). The NATS
    /// broker gives appends to history topics a second buffer of this size,
    /// so that waiting on JetStream never holds plain publishes.
    #[serde(with = "units::size")]
    pub buffer_bytes: usize,
    /// PEM file with the certificate authorities that may sign the broker's
    /// TLS certificate (`rediss://`, `tls://`, or a NATS server that asks
    /// for TLS), in place of the system's trusted roots: for a broker whose
    /// certificate a private authority signed. Default none: the system's
    /// roots. Read when the broker connects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM file with the client certificate chain (the node's own
    /// certificate first) to show a broker that asks for one (mutual TLS);
    /// needs [`key_file`](BrokerConfig::key_file). Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<std::path::PathBuf>,
    /// PEM file with the private key of
    /// [`cert_file`](BrokerConfig::cert_file)'s first certificate (PKCS#8,
    /// PKCS#1 or SEC1). Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<std::path::PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            url: None,
            prefix: "crosswire".to_owned(),
            wait_at_startup: false,
            buffer_bytes: 16 << 20,
            ca_file: None,
            cert_file: None,
            key_file: None,
        }
    }
}

impl BrokerConfig {
    /// The URL's scheme (`redis`, `nats`, …), if a URL is set.
    pub fn scheme(&self) -> Option<&str> {
        self.url
            .as_deref()?
            .split_once("://")
            .map(|(scheme, _)| scheme)
    }

    /// Checks [`prefix`](BrokerConfig::prefix) as loading a config from a
    /// file or the environment does: the brokers call it, so a config
    /// built in code is checked too.
    pub fn check_prefix(&self) -> Result<(), crate::broker::BrokerConfigError> {
        if units::is_valid_prefix(&self.prefix) {
            return Ok(());
        }
        Err(crate::broker::BrokerConfigError::new(
            "broker.prefix",
            format_args!(
                "expected at most 64 letters, digits, `-` or `_`, got \"{}\"",
                self.prefix
            ),
        ))
    }
}

/// `[dev]`: settings of `crosswire dev`, the development server. The app
/// ignores them; they live here so that one file describes the app and a typo
/// is caught like any other.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DevConfig {
    /// `[dev.hmr]`: the live-reload channel pages listen on.
    pub hmr: HmrConfig,
}

/// `[dev.hmr]`: where pages listen for "reload" and build errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HmrConfig {
    /// Path of the reload channel's WebSocket. Default `/__crosswire/reload`,
    /// on the app's own port: no second port can collide, and upgrades to
    /// every other path go to the app.
    pub path: String,
    /// A port of its own for the channel (the seed's Vite config puts HMR on
    /// 3002). Default none: the channel shares the app's port, by path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Default for HmrConfig {
    fn default() -> Self {
        Self {
            path: "/__crosswire/reload".to_owned(),
            port: None,
        }
    }
}

/// What to do with a peer whose send queue is over its byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop what is queued and close the peer with 1008 (policy violation):
    /// it cannot keep up, and holding more for it would cost everyone memory.
    #[default]
    Close,
    /// Keep the peer and drop the message that did not fit.
    DropMessage,
}

impl Config {
    /// Loads `crosswire.toml` from the current directory (or the file named by
    /// `CROSSWIRE_CONFIG`) if present, then applies environment overrides.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_with_defaults(Self::default())
    }

    /// Like [`Config::load`], starting from `defaults` instead of the built-in
    /// defaults (an example can default to another port, say).
    pub fn load_with_defaults(defaults: Self) -> Result<Self, ConfigError> {
        load::load(defaults, &load::Sources::from_process())
    }

    /// Like [`Config::load`], reading the file at `path` (if present) instead
    /// of `crosswire.toml` in the current directory: for tools that work on an
    /// app from outside its folder, such as `crosswire dev`.
    pub fn load_from(path: &std::path::Path) -> Result<Self, ConfigError> {
        let mut sources = load::Sources::from_process();
        sources.file = Some((path.to_owned(), false));
        load::load(Self::default(), &sources)
    }

    /// Parses a TOML document; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        load::from_toml(Self::default(), text, origin)
    }

    /// `host:port` to listen on.
    pub fn listen_addr(&self) -> String {
        if self.server.host.contains(':') && !self.server.host.starts_with('[') {
            format!("[{}]:{}", self.server.host, self.server.port)
        } else {
            format!("{}:{}", self.server.host, self.server.port)
        }
    }
}
