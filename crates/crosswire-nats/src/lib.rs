//! A Crosswire [`Broker`] over NATS core subjects: topics shared by several
//! server processes through a NATS server or cluster, and the history of
//! `[[history]]` topics kept in JetStream.
//!
//! ```no_run
//! use crosswire::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load()?; // [broker] url = "nats://127.0.0.1:4222"
//! let broker = crosswire_nats::connect(&config.broker).await?;
//! App::with_config(config).broker(broker).listen().await?.run().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # How it maps
//!
//! A topic is the subject `<prefix>.<token>` ([`subject`]). NATS subjects are
//! dot-separated tokens that may not hold spaces, `*` or `>`, so a topic name
//! (any string: spaces, unicode, any length) is encoded as one token: `t`
//! followed by the topic's bytes in unpadded URL-safe base64. The `t`
//! keeps the empty topic a non-empty token. A topic longer than 768 bytes
//! is named by `s` and the base64 of its SHA-1 instead, so that no topic
//! makes a subject too long for the server's control line. A node subscribes to a topic's
//! subject when the topic gets its first local subscriber and drops the
//! subscription when it loses its last; there is no wildcard subscription.
//! Each publish is one NATS message carrying one envelope (see
//! [`crosswire::broker::Envelope`]). NATS's default `max_payload` is 1 MB;
//! a larger publish is reported (stage `publish`) and not sent.
//!
//! # Why async-nats
//!
//! [`async_nats`] is the NATS project's own client. Its publish only queues
//! the message for the connection's writer, which coalesces everything
//! queued into large writes: the batching this crate needs, with no round
//! trip per message. It reconnects by itself and re-sends its subscriptions
//! on the new connection; this crate sets its reconnect delay to 100 ms so
//! delivery resumes well within a second of the server coming back. Default
//! features are off; `ring` is built for its TLS support and `jetstream`
//! for history (key-value, object store, websockets and the features for
//! server versions past 2.9 are not).
//!
//! # TLS
//!
//! A `tls://host:port` URL asks for TLS; a `nats://` URL gets it when the
//! server requires it. The server's certificate is checked against the
//! system's trusted roots, or against the authorities in `[broker]
//! ca_file` when set. A server that verifies clients (`verify: true`) gets
//! the certificate of `[broker] cert_file` and `key_file`.
//!
//! # History in JetStream
//!
//! A `[[history]]` topic is sequenced by JetStream (see
//! [`crosswire::broker::BrokerHistory`]): every node gives its messages the
//! same positions, so a client recovers on any node.
//!
//! - Each history topic has its own stream, `<prefix>_H_t<base64url(topic)>`
//!   (a long topic's name ends in a hash of it instead), holding the one
//!   subject `<prefix>.h.t<base64url(topic)>`. One topic per stream makes
//!   the stream sequence the topic's offset: it grows by exactly one per
//!   appended message and is assigned by the server, not by a node.
//! - The epoch is the stream's creation time (nanoseconds, in hex), which
//!   every node reads alike. A deleted stream is made again by the next
//!   node that appends, follows or reads, with a new epoch: old positions
//!   are reported lost, never misread.
//! - Bounds are the stream's limits: `max_msgs` = `size`, `max_age` =
//!   `ttl`, `max_bytes` = `max_bytes`, discarding the oldest. File storage,
//!   so history and epoch survive a NATS server restart.
//! - A publish on a history topic is appended: a JetStream publish to the
//!   topic's subject from the append task, in order, not joined with
//!   others. Acknowledgements of a batch are awaited after the batch is
//!   sent; a failed one is reported (stage `history`). Appends have their
//!   own buffer and task, so a JetStream that does not answer never holds
//!   plain publishes; an append and a plain publish on different topics
//!   may reach other nodes in either order.
//! - A node with subscribers on a history topic follows its stream instead
//!   of subscribing to the core subject: an ephemeral push consumer (no
//!   acks, idle heartbeats every second) from the sequence after the
//!   stream's latest, each message handed over with its sequence. A hole
//!   in the consumer's sequence, or three seconds without even a
//!   heartbeat (connection lost, stream deleted), starts the follow over
//!   from the sequence after the last one delivered, or from the first of
//!   a stream made again (a new epoch).
//! - [`BrokerHistory::settled`] resolves once the consumers of every
//!   follow asked for before it exist on the server (and core
//!   subscriptions are flushed), or after 5 s without;
//!   [`BrokerHistory::settled_for`] also says whether the topic's own
//!   follow has started.
//! - `read` looks the stream up (making it if missing, so there is an
//!   epoch), then gets the messages after the client's offset, at most
//!   `size`: one by one (32 requests at once) for up to 32 messages,
//!   through one fetch of a short-lived consumer for more.
//!
//! Streams are not deleted when a topic goes idle: JetStream's `max_age`
//! empties them, and the empty stream (a few hundred bytes on the server)
//! keeps the epoch. Appends sent after a stream was deleted and before the
//! publishing node learns of it (its next acknowledgement says so) are
//! lost and reported; the next append makes the stream again.
//!
//! Every node needs the same `[[history]]` rules: a node without the rule
//! for a topic subscribes to its core subject, which a node with the rule
//! does not publish on. A stream keeps the limits it was made with;
//! changed bounds apply to streams made after the change (or update the
//! stream with `nats stream edit`).
//!
//! # Faults
//!
//! Publishes go to a bounded [`OutgoingBuffer`] first (`[broker]
//! buffer_bytes`; appends to history topics have a second one of the same
//! size); a task moves them into the client, whose own queue holds at most
//! 2048 messages. While the server is stopped or unreachable both
//! fill, and further publishes are dropped and counted. Lost and restored
//! connections, slow-consumer drops and server errors are reported with
//! their stage. Messages the client had written to a connection that died
//! are lost (at-most-once), never resent. The same holds for appends to a
//! history topic whose acknowledgement fails: they are reported, not
//! resent (a resend could store them twice). An append whose stream
//! lookup goes unanswered (3 s) was never sent, so it is kept, with
//! every append queued after it, and tried again until 30 s after the
//! first attempt; plain publishes go on meanwhile.

#![deny(missing_docs)]

mod append;
mod follow;
mod history;
mod publish;
mod subject;
mod subscribe;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use crosswire::broker::{
    Broker, BrokerConfigError, BrokerError, BrokerHistory, BrokerLink, BrokerStage, BrokerStats,
    HistoryBounds, HistoryFuture, HistoryPage, InterestChanges, OutgoingBuffer, Pushed,
};
use crosswire::{BrokerConfig, UrlLogin};
use tokio::task::JoinHandle;

use crate::append::Append;

pub use subject::subject;

/// Delay between reconnection attempts.
pub(crate) const RETRY: Duration = Duration::from_millis(100);
/// Bound on one connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Messages the client may queue for its writer (its own bounded queue).
const CLIENT_CAPACITY: usize = 2048;
/// How often the client pings the server; a third ping while two are still
/// unanswered ends the connection and starts a reconnect.
const PING_EVERY: Duration = Duration::from_secs(5);

/// A publish on a topic without history, waiting to be sent: its subject
/// and its envelope.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) subject: String,
    pub(crate) envelope: Bytes,
}

/// State shared by the broker handle, its tasks and the client's event
/// callback.
#[derive(Debug)]
pub(crate) struct Inner {
    prefix: String,
    pub(crate) outgoing: OutgoingBuffer<Pending>,
    /// Appends to history topics, apart so that waiting on JetStream never
    /// holds plain publishes.
    pub(crate) appends: OutgoingBuffer<Append>,
    pub(crate) interest: InterestChanges,
    pub(crate) link: OnceLock<BrokerLink>,
    /// History streams known to exist.
    pub(crate) streams: history::Known,
    /// Whether each followed history topic's follow has started.
    pub(crate) follows: follow::Follows,
}

impl Inner {
    pub(crate) fn subject(&self, topic: &str) -> String {
        subject(&self.prefix, topic)
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
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

/// Topics across processes through NATS. Build it with [`connect`].
#[derive(Debug)]
pub struct NatsBroker {
    inner: Arc<Inner>,
    client: async_nats::Client,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Checks `[broker]` settings, connects to NATS and returns the broker to
/// give to [`App::broker`](crosswire::App::broker).
///
/// Errors name the setting: `broker.url` for a URL that is not `nats://`
/// or `tls://`, or a server that does not answer or whose certificate is
/// not trusted (unless `wait_at_startup` is true, in which case this keeps
/// retrying until it answers); `broker.ca_file`, `broker.cert_file` or
/// `broker.key_file` for a file that cannot be read or holds no
/// certificate or key.
pub async fn connect(config: &BrokerConfig) -> Result<NatsBroker, BrokerConfigError> {
    // The client ignores a login written in the URL: it is given apart.
    let (url, login) = config
        .url_without_login()
        .ok_or_else(|| BrokerConfigError::new("broker.url", "no URL set"))?;
    // What messages show: the URL without its password.
    let shown = config.redacted_url().unwrap_or_default();
    if !matches!(config.scheme(), Some("nats" | "tls")) {
        return Err(BrokerConfigError::new(
            "broker.url",
            format_args!("expected a nats://host:port or tls://host:port URL, got \"{shown}\""),
        ));
    }
    config.check_prefix()?;
    // Read here so a bad file is named before any connection is tried; the
    // client reads them again from their paths.
    config.ca_certificates()?;
    config.client_identity()?;
    let inner = Arc::new(Inner {
        prefix: config.prefix.clone(),
        outgoing: OutgoingBuffer::new(config.buffer_bytes),
        appends: OutgoingBuffer::new(config.buffer_bytes),
        interest: InterestChanges::default(),
        link: OnceLock::new(),
        streams: history::Known::default(),
        follows: follow::Follows::default(),
    });
    let client = loop {
        match options(&inner, login.as_ref(), config).connect(&url).await {
            Ok(client) => break client,
            Err(error) if config.wait_at_startup => {
                tracing::warn!(target: "crosswire::broker", url = %shown, %error, "NATS unreachable; retrying (broker.wait_at_startup)");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => {
                return Err(BrokerConfigError::new(
                    "broker.url",
                    format_args!(
                        "cannot reach NATS at {shown}: {error} (set broker.wait_at_startup = true to wait for it)"
                    ),
                ));
            }
        }
    };
    Ok(NatsBroker {
        inner,
        client,
        tasks: Mutex::new(Vec::new()),
    })
}

/// Client options: the URL's login (`user:password@`, or a token alone),
/// the TLS files of `[broker]` if set (checked by the caller), fast and
/// endless reconnects, and every event reported.
fn options(
    inner: &Arc<Inner>,
    login: Option<&UrlLogin>,
    config: &BrokerConfig,
) -> async_nats::ConnectOptions {
    let events = Arc::clone(inner);
    let options = match login {
        Some(UrlLogin {
            user,
            password: Some(password),
        }) => async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone()),
        Some(UrlLogin {
            user: token,
            password: None,
        }) => async_nats::ConnectOptions::with_token(token.clone()),
        None => async_nats::ConnectOptions::new(),
    };
    let options = match &config.ca_file {
        Some(path) => options.add_root_certificates(path.clone()),
        None => options,
    };
    let options = match (&config.cert_file, &config.key_file) {
        (Some(cert), Some(key)) => options.add_client_certificate(cert.clone(), key.clone()),
        _ => options,
    };
    options
        .connection_timeout(CONNECT_TIMEOUT)
        // A connection whose far end is gone without a word is noticed after
        // two unanswered pings (the client's default is a minute apart).
        .ping_interval(PING_EVERY)
        .reconnect_delay_callback(|_attempts| RETRY)
        .max_reconnects(None)
        .client_capacity(CLIENT_CAPACITY)
        .event_callback(move |event| {
            let inner = Arc::clone(&events);
            async move { on_event(&inner, event) }
        })
}

fn on_event(inner: &Inner, event: async_nats::Event) {
    use async_nats::Event;
    match event {
        Event::Connected => {
            tracing::info!(target: "crosswire::broker", "connected to NATS");
            if let Some(link) = inner.link.get() {
                link.set_connected(true);
            }
        }
        Event::Disconnected => {
            if let Some(link) = inner.link.get() {
                link.set_connected(false);
            }
            inner.report(
                BrokerStage::Connect,
                "connection to NATS lost; reconnecting",
            );
        }
        Event::SlowConsumer(sid) => inner.report(
            BrokerStage::Subscribe,
            format_args!("messages dropped for slow subscription {sid}"),
        ),
        Event::ServerError(error) => {
            inner.report(BrokerStage::Connect, format_args!("server error: {error}"))
        }
        Event::ClientError(error) => {
            inner.report(BrokerStage::Connect, format_args!("client error: {error}"))
        }
        other => tracing::info!(target: "crosswire::broker", event = %other, "NATS"),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Broker for NatsBroker {
    fn start(&self, link: BrokerLink) {
        if self.inner.link.set(link.clone()).is_err() {
            return;
        }
        let mut tasks = lock(&self.tasks);
        tasks.push(tokio::spawn(publish::run(
            Arc::clone(&self.inner),
            self.client.clone(),
        )));
        tasks.push(tokio::spawn(append::run(
            Arc::clone(&self.inner),
            self.client.clone(),
        )));
        tasks.push(tokio::spawn(subscribe::run(
            Arc::clone(&self.inner),
            self.client.clone(),
            link,
        )));
    }

    fn publish(&self, topic: &str, envelope: Bytes) {
        let pending = Pending {
            subject: self.inner.subject(topic),
            envelope,
        };
        let cost = pending.subject.len() + pending.envelope.len();
        let pushed = self.inner.outgoing.push(pending, cost);
        self.report_if_full(pushed, "outgoing", self.inner.outgoing.limit());
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
        // The client's connection lives as long as any handle to it, and
        // the server's state (which holds this broker) can outlive the
        // server. Draining closes it: its subscriptions end and what it
        // still had queued is flushed first.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            runtime.spawn(async move {
                // Bounded: with NATS unreachable and the client's queue
                // full, the drain could wait for as long as the outage.
                match tokio::time::timeout(CONNECT_TIMEOUT, client.drain()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::debug!(target: "crosswire::broker", "closing the NATS connection: {error}");
                    }
                    Err(_) => {
                        tracing::debug!(target: "crosswire::broker", "closing the NATS connection: no room in the client's queue");
                    }
                }
            });
        }
    }

    fn stats(&self) -> BrokerStats {
        let (outgoing, appends) = (&self.inner.outgoing, &self.inner.appends);
        BrokerStats::new(
            outgoing.dropped() + appends.dropped(),
            outgoing.buffered_bytes() + appends.buffered_bytes(),
        )
    }

    fn history(&self) -> Option<&dyn BrokerHistory> {
        Some(self)
    }
}

impl BrokerHistory for NatsBroker {
    fn append(&self, topic: &str, envelope: Bytes, bounds: HistoryBounds) {
        let append = Append {
            log: history::Log::of(&self.inner.prefix, topic),
            bounds,
            envelope,
        };
        let cost = append.cost();
        let pushed = self.inner.appends.push(append, cost);
        self.report_if_full(pushed, "append", self.inner.appends.limit());
    }

    fn settled(&self) -> HistoryFuture<()> {
        Box::pin(self.inner.interest.settled())
    }

    fn settled_for(&self, topic: &str) -> HistoryFuture<bool> {
        let settled = self.inner.interest.settled();
        let inner = Arc::clone(&self.inner);
        let topic = topic.to_owned();
        Box::pin(async move {
            settled.await;
            inner.follows.started(&topic)
        })
    }

    fn read(
        &self,
        topic: &str,
        after: u64,
        bounds: HistoryBounds,
    ) -> HistoryFuture<Result<HistoryPage, BrokerError>> {
        let jetstream = async_nats::jetstream::new(self.client.clone());
        let log = history::Log::of(&self.inner.prefix, topic);
        let topic = topic.to_owned();
        Box::pin(async move { history::read(&jetstream, &log, &topic, after, bounds).await })
    }
}

impl NatsBroker {
    /// Reports the first publish a full buffer dropped (the next are
    /// counted in [`BrokerStats`], until the buffer drains).
    fn report_if_full(&self, pushed: Pushed, buffer: &str, limit: usize) {
        if let Pushed::Dropped { first: true } = pushed {
            self.inner.report_soon(
                BrokerStage::Publish,
                format_args!(
                    "{buffer} buffer full ({limit} bytes); dropping publishes to other nodes until NATS catches up"
                ),
            );
        }
    }
}

impl Drop for NatsBroker {
    fn drop(&mut self) {
        self.stop();
    }
}
