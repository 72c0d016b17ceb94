//! A Crosswire [`Broker`] over Redis pub/sub: topics shared by several server
//! processes through one Redis server.
//!
//! ```no_run
//! use crosswire::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load()?; // [broker] url = "redis://127.0.0.1:6379"
//! let broker = crosswire_redis::connect(&config.broker).await?;
//! App::with_config(config).broker(broker).listen().await?.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it maps
//!
//! A topic is the channel `<prefix>:<topic>` (Redis channels are binary-safe,
//! so any topic name works as is). A node subscribes to a topic's channel
//! when the topic gets its first local subscriber and unsubscribes when it
//! loses its last; there is no pattern subscription. Each publish is one
//! `PUBLISH` of one envelope (see [`crosswire::broker::Envelope`]).
//!
//! Two connections per node: one for publishes, one in subscriber mode.
//! Publishes are pushed to a bounded [`OutgoingBuffer`] (never awaited on the
//! publish path) and a task drains it as pipelines of up to 1024 `PUBLISH`es,
//! one round trip per batch, so one connection carries hundreds of thousands
//! of publishes a second. One publishing connection keeps one publisher's
//! order; one subscribing connection delivers in that order.
//!
//! # History
//!
//! This broker keeps the history of `[[history]]` topics
//! ([`BrokerHistory`]): a publish on such a topic is a call of a Lua script
//! in the same pipeline, which gives it the topic's next offset, keeps it
//! in a stream and publishes it, positioned, on the topic's channel, so
//! every node (the publisher's too) delivers it in one order with one
//! position. Recoveries read the stream on a connection of their own. The
//! keys and scripts are described in `history.rs`.
//!
//! # Faults
//!
//! When a connection fails, the affected task reports it (stage `connect`,
//! or `publish` with the number of publishes that were in flight and are
//! lost), then reconnects every 100 ms or so, so delivery resumes within a
//! second of Redis accepting connections again. The subscriber resubscribes
//! to every topic of [`BrokerLink::interest`]. While Redis is stopped or
//! slow, publishes wait in the outgoing buffer (`[broker] buffer_bytes`);
//! past it they are dropped and counted. A pipeline is never resent: a
//! resend could deliver twice, or after newer messages. Publishes have no
//! response timeout for the same reason: a timed-out pipeline might still be
//! executed later, after a newer one sent on a new connection.
//!
//! A command Redis answers with an error (an `OOM` refusal under
//! `maxmemory`, say) loses only the publishes it carried: they are reported
//! (stage `publish`, "refused by Redis") and the connection stays. A history
//! call refused with `NOSCRIPT` (Redis lost its scripts: `SCRIPT FLUSH`, or a
//! failover to a server that never loaded them) is the exception: nothing
//! ran for it, so once the script is loaded again it is sent again, after
//! the rest of its pipeline. That keeps each topic's order, not the order
//! between topics, and one whose topic got a later append of the same
//! pipeline in first (another connection loaded the script meanwhile) is
//! refused instead, so a topic's log never takes a publish out of order.
//!
//! redis-rs hands subscribed messages over through a channel of its own that
//! has no bound; the subscribe task empties it without waiting (each message
//! is queued on local subscribers' bounded queues and the task moves on), so
//! it stays short as long as this process gets CPU time.
//!
//! # Why redis-rs
//!
//! [`redis`] (redis-rs) is the Redis client most Rust projects already have,
//! with tokio support, explicit pipelines, and a pub/sub connection that
//! splits into a subscribe sink and a message stream, which is exactly the
//! shape needed here. `fred` has richer reconnection policies, but its
//! reconnect logic would duplicate the resubscribe-from-interest loop this
//! crate needs to own anyway (the node, not the client, knows the topics).
//! Default features are off: only `tokio-comp` and `aio` are built.
//!
//! # Redis Cluster
//!
//! Not supported yet. A cluster node accepts the plain `PUBLISH` and
//! `SUBSCRIBE` sent here, but classic pub/sub in a cluster broadcasts every
//! message to every shard, which does not scale. Sharded pub/sub (Redis 7:
//! `SPUBLISH` / `SSUBSCRIBE`) routes a channel to the shard that owns its
//! hash slot; supporting it means one subscriber connection per shard,
//! following slot migrations (`SUNSUBSCRIBE` pushed by the server), and
//! publishing through a cluster-aware connection. Per-topic order would
//! still hold (one topic, one shard).
//!
//! # TLS
//!
//! `rediss://host:port` connects over TLS (rustls, TLS 1.2 and 1.3), both
//! the publishing and the subscribing connection. The server's certificate
//! is checked against the system's trusted roots, or against the
//! authorities in `[broker] ca_file` when set (a private authority, as
//! managed Redis services and self-run servers often use). A server that
//! asks for client certificates (`tls-auth-clients`) gets the one of
//! `[broker] cert_file` and `key_file`.

#![deny(missing_docs)]

mod history;
mod publish;
mod subscribe;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use crosswire::broker::{
    Broker, BrokerConfigError, BrokerError, BrokerHistory, BrokerLink, BrokerStage, BrokerStats,
    HistoryBounds, HistoryFuture, HistoryPage, InterestChanges, OutgoingBuffer, Pushed,
};
use crosswire::{BrokerConfig, ClientIdentity};
use redis::aio::MultiplexedConnection;
use tokio::task::JoinHandle;

/// Pause between reconnection attempts: short, so delivery resumes well
/// within a second of Redis coming back.
pub(crate) const RETRY: Duration = Duration::from_millis(100);
/// Bound on one connection attempt (a stopped server accepts TCP
/// connections and then never answers).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// After how long without a message the subscribing connection, which
/// otherwise only reads, asks Redis for a `PING`, and how long the answer
/// (or a `SUBSCRIBE`'s) may take: a connection whose far end is gone
/// without a word (a host that died, a NAT or a load balancer that dropped
/// it) would otherwise look connected forever while nothing arrives. The
/// wait is well past the 5 s a busy script may hold a healthy Redis.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(5);
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A publish waiting to be sent: its channel and its envelope, and for a
/// history topic what appending it to the history takes.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) channel: Vec<u8>,
    pub(crate) envelope: Bytes,
    pub(crate) append: Option<history::Append>,
}

/// State shared by the broker handle and its two tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) client: redis::Client,
    prefix: String,
    pub(crate) outgoing: OutgoingBuffer<Pending>,
    pub(crate) interest: InterestChanges,
    pub(crate) link: OnceLock<BrokerLink>,
    epochs: history::Epochs,
    /// The connection history is read on (not the publishing one, which
    /// a read must not wait behind), made on first use.
    reader: Mutex<Option<MultiplexedConnection>>,
}

impl Inner {
    /// The channel of `topic`: `<prefix>:<topic>`.
    pub(crate) fn channel(&self, topic: &str) -> Vec<u8> {
        let mut channel = Vec::with_capacity(self.prefix.len() + 1 + topic.len());
        channel.extend_from_slice(self.prefix.as_bytes());
        channel.push(b':');
        channel.extend_from_slice(topic.as_bytes());
        channel
    }

    /// The connection history is read on.
    async fn reader(&self) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(connection) = lock(&self.reader).clone() {
            return Ok(connection);
        }
        let connection = publish::connect(&self.client).await?;
        *lock(&self.reader) = Some(connection.clone());
        Ok(connection)
    }

    /// Forgets the reading connection after a failure: the next read makes
    /// a new one.
    fn drop_reader(&self) {
        lock(&self.reader).take();
    }

    pub(crate) fn report(&self, stage: BrokerStage, message: impl std::fmt::Display) {
        let error = BrokerError::new(stage, message);
        match self.link.get() {
            Some(link) => link.report(error),
            None => {
                tracing::warn!(target: "crosswire::broker", stage = %error.stage(), "{}", error.message())
            }
        }
    }

    /// Reports a failure noticed on the publish path, off that path.
    pub(crate) fn report_soon(&self, stage: BrokerStage, message: impl std::fmt::Display) {
        let error = BrokerError::new(stage, message);
        match self.link.get() {
            Some(link) => link.report_soon(error),
            None => {
                tracing::warn!(target: "crosswire::broker", stage = %error.stage(), "{}", error.message())
            }
        }
    }
}

/// Topics across processes through Redis pub/sub. Build it with [`connect`].
#[derive(Debug)]
pub struct RedisBroker {
    inner: Arc<Inner>,
    /// The publishing connection made by [`connect`], handed to the publish
    /// task when the server starts.
    first: Mutex<Option<MultiplexedConnection>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Checks `[broker]` settings, connects to Redis and returns the broker to
/// give to [`App::broker`](crosswire::App::broker).
///
/// Errors name the setting: `broker.url` for a URL that is not `redis://`
/// or `rediss://`, or a server that does not answer or whose certificate
/// is not trusted (unless `wait_at_startup` is true, in which case this
/// keeps retrying until it answers); `broker.ca_file`, `broker.cert_file`
/// or `broker.key_file` for a file that cannot be read or holds no
/// certificate or key.
pub async fn connect(config: &BrokerConfig) -> Result<RedisBroker, BrokerConfigError> {
    let url = config
        .url
        .as_deref()
        .ok_or_else(|| BrokerConfigError::new("broker.url", "no URL set"))?;
    // What messages show: the URL without its password.
    let shown = config.redacted_url().unwrap_or_default();
    let tls = match config.scheme() {
        Some("redis") => false,
        Some("rediss") => true,
        _ => {
            return Err(BrokerConfigError::new(
                "broker.url",
                format_args!(
                    "expected a redis://host:port or rediss://host:port URL, got \"{shown}\""
                ),
            ));
        }
    };
    config.check_prefix()?;
    let authorities = config.ca_certificates()?;
    let identity = config.client_identity()?;
    let client = if tls {
        tls_client(url, authorities, identity)
    } else {
        redis::Client::open(url)
    }
    .map_err(|e| BrokerConfigError::new("broker.url", format_args!("\"{shown}\": {e}")))?;
    let first = loop {
        match publish::connect(&client).await {
            Ok(connection) => break connection,
            Err(error) if config.wait_at_startup => {
                tracing::warn!(target: "crosswire::broker", url = %shown, %error, "Redis unreachable; retrying (broker.wait_at_startup)");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(BrokerConfigError::new(
                    "broker.url",
                    format_args!(
                        "cannot reach Redis at {shown}: {error} (set broker.wait_at_startup = true to wait for it)"
                    ),
                ));
            }
        }
    };
    Ok(RedisBroker {
        inner: Arc::new(Inner {
            client,
            prefix: config.prefix.clone(),
            outgoing: OutgoingBuffer::new(config.buffer_bytes),
            interest: InterestChanges::default(),
            link: OnceLock::new(),
            epochs: history::Epochs::new(),
            reader: Mutex::new(None),
        }),
        first: Mutex::new(Some(first)),
        tasks: Mutex::new(Vec::new()),
    })
}

/// A client for a `rediss://` URL, trusting `authorities` (PEM) if given,
/// else the system's roots, and showing `identity` if given.
fn tls_client(
    url: &str,
    authorities: Option<String>,
    identity: Option<ClientIdentity>,
) -> redis::RedisResult<redis::Client> {
    // The client builds its TLS settings with the process's default crypto
    // provider; install ring's (the one this workspace builds) unless the
    // app installed one already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    redis::Client::build_with_tls(
        url,
        redis::TlsCertificates {
            client_tls: identity.map(|identity| redis::ClientTlsConfig {
                client_cert: identity.cert_pem.into_bytes(),
                client_key: identity.key_pem.into_bytes(),
            }),
            root_cert: authorities.map(String::into_bytes),
        },
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Broker for RedisBroker {
    fn start(&self, link: BrokerLink) {
        if self.inner.link.set(link.clone()).is_err() {
            return;
        }
        let first = lock(&self.first).take();
        let mut tasks = lock(&self.tasks);
        tasks.push(tokio::spawn(publish::run(Arc::clone(&self.inner), first)));
        tasks.push(tokio::spawn(subscribe::run(Arc::clone(&self.inner), link)));
    }

    fn publish(&self, topic: &str, envelope: Bytes) {
        self.push(Pending {
            channel: self.inner.channel(topic),
            envelope,
            append: None,
        });
    }

    fn subscribe(&self, topic: &str) {
        self.inner.interest.record(topic, true);
    }

    fn unsubscribe(&self, topic: &str) {
        self.inner.interest.record(topic, false);
    }

    fn stop(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        // The tasks owned the subscribing and publishing connections. These
        // two are held here: on a runtime that outlives the server (mounted
        // in an app's own), they would stay open as long as the broker,
        // which the server's state, and so any handle to it, keeps.
        drop(lock(&self.first).take());
        drop(lock(&self.inner.reader).take());
    }

    fn stats(&self) -> BrokerStats {
        BrokerStats::new(
            self.inner.outgoing.dropped(),
            self.inner.outgoing.buffered_bytes(),
        )
    }

    fn history(&self) -> Option<&dyn BrokerHistory> {
        Some(self)
    }
}

impl BrokerHistory for RedisBroker {
    fn append(&self, topic: &str, envelope: Bytes, bounds: HistoryBounds) {
        self.push(Pending {
            channel: self.inner.channel(topic),
            envelope,
            append: Some(self.inner.append(topic, bounds)),
        });
    }

    fn settled(&self) -> HistoryFuture<()> {
        Box::pin(self.inner.interest.settled())
    }

    fn read(
        &self,
        topic: &str,
        after: u64,
        bounds: HistoryBounds,
    ) -> HistoryFuture<Result<HistoryPage, BrokerError>> {
        let inner = Arc::clone(&self.inner);
        let topic = topic.to_owned();
        Box::pin(async move { inner.read_history(&topic, after, bounds).await })
    }
}

impl RedisBroker {
    /// Queues a publish for the publish task; never waits.
    fn push(&self, pending: Pending) {
        let cost = pending.channel.len()
            + pending.envelope.len()
            + pending
                .append
                .as_ref()
                .map_or(0, |a| a.log.len() + a.meta.len());
        if let Pushed::Dropped { first: true } = self.inner.outgoing.push(pending, cost) {
            self.inner.report_soon(
                BrokerStage::Publish,
                format_args!(
                    "outgoing buffer full ({} bytes); dropping publishes to other nodes until Redis catches up",
                    self.inner.outgoing.limit()
                ),
            );
        }
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop();
    }
}
