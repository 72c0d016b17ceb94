//! Admission of new connections: `[server] max_connections` (and
//! `max_connections_per_ip`, see `per_address.rs`), the `503` a connection
//! past it gets, and the open-file limit checked at startup.
//!
//! Every connection costs a file descriptor, a task and its buffers, so a
//! server that accepts without bound is one flood away from running out of
//! file descriptors, at which point `accept` fails for everyone, health
//! checks included. Past `max_connections` the accept loop keeps accepting
//! (a listen backlog that fills up looks like a dead server to a load
//! balancer), and answers each new connection `503 Service Unavailable` with
//! `Retry-After` and `Connection: close`, so clients and balancers back off
//! or go elsewhere, then closes it.
//!
//! A refused connection is answered by hyper like any other: it reads the
//! request head (bounded by `header_read_timeout` and `max_header_bytes`),
//! so the client gets its `503` instead of a reset. Those answers are
//! bounded too, at [`REFUSING_AT_ONCE`] per listener; past that, a new
//! connection is closed without a word.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;

use axum::response::Response;

use super::log_every::LogEvery;
use super::service::{Routes, unavailable};
use super::tracker::TaskGuard;

/// Refused connections being answered at once, per listener. Each lives at
/// most `header_read_timeout`; past this many, new ones are closed at once
/// so that a flood cannot turn the refusals themselves into the overload.
pub(crate) const REFUSING_AT_ONCE: usize = 1024;

/// File descriptors kept for what is not a client connection: listeners,
/// the runtimes' own descriptors, broker connections, files served.
const RESERVED_FDS: u64 = 256;

/// Refusals of one listener: how many are being answered, and a log line at
/// most once a second (a flood must not become a flood of log lines).
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    answering: Arc<AtomicUsize>,
    log: LogEvery,
}

/// Why a connection is refused at the door.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Refusal {
    /// The server holds `max_connections` already.
    MaxConnections(usize),
    /// The client's address holds `max_connections_per_ip` already.
    PerAddress(u32),
}

impl Refusal {
    /// The setting that refused, for the log.
    pub(crate) fn setting(self) -> &'static str {
        match self {
            Refusal::MaxConnections(_) => "[server] max_connections",
            Refusal::PerAddress(_) => "[server] max_connections_per_ip",
        }
    }

    /// The setting's value, for the log.
    pub(crate) fn limit(self) -> u64 {
        match self {
            Refusal::MaxConnections(limit) => limit as u64,
            Refusal::PerAddress(limit) => u64::from(limit),
        }
    }

    /// The `503` it is answered with, where a response can be given.
    pub(crate) fn response(self) -> Response {
        unavailable(self.body())
    }

    /// The body of the `503`.
    fn body(self) -> &'static str {
        match self {
            Refusal::MaxConnections(_) => "the server is at its connection limit; retry shortly\n",
            Refusal::PerAddress(_) => {
                "too many connections from your address; close one or retry shortly\n"
            }
        }
    }
}

impl Refusals {
    /// Answers `stream` with `503` in a task of its own (or closes it when
    /// too many are being answered already), and logs the refusal.
    pub(crate) fn refuse(
        &mut self,
        stream: TcpStream,
        remote: SocketAddr,
        refusal: Refusal,
        header_read_timeout: Duration,
        max_header_bytes: usize,
    ) {
        self.log(remote, refusal, "connection refused: answered 503");
        if self.answering.fetch_add(1, Ordering::AcqRel) >= REFUSING_AT_ONCE {
            self.answering.fetch_sub(1, Ordering::AcqRel);
            return; // dropping `stream` closes it
        }
        let answering = Arc::clone(&self.answering);
        let body = refusal.body();
        tokio::spawn(async move {
            let service = service_fn(|_request| async { Ok::<_, Infallible>(unavailable(body)) });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .max_header_size(max_header_bytes)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            answering.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Closes a connection past a limit without answering (with TLS, a
    /// `503` would first cost a handshake), and logs the refusal.
    #[cfg(feature = "tls")]
    pub(crate) fn close(&mut self, remote: SocketAddr, refusal: Refusal) {
        self.log(remote, refusal, "TLS connection refused: closed");
    }

    /// Logs a refusal: at most one line a second, with the count since.
    fn log(&mut self, remote: SocketAddr, refusal: Refusal, message: &'static str) {
        if let Some(refused) = self.log.due() {
            tracing::warn!(
                target: "crosswire::server",
                %remote,
                limit = refusal.setting(),
                value = refusal.limit(),
                refused,
                "{message}"
            );
        }
    }
}

/// Counts one more connection against `max_connections` and
/// `max_connections_per_ip` where the accept loop did not count it: an
/// upgrade another server accepted (mounted mode), or an event stream
/// multiplexed on an HTTP/2 connection. The guard counts it on `worker`
/// until dropped; a refusal is counted in the metrics, and left to the
/// caller to answer and log.
pub(crate) fn admit_another(
    routes: &Routes,
    worker: usize,
    remote: Option<IpAddr>,
) -> Result<TaskGuard, Refusal> {
    let refusal = match routes.tracker.guard_within(worker, routes.max_connections) {
        None => Refusal::MaxConnections(routes.max_connections),
        Some(mut guard) => match remote {
            Some(address) if !guard.claim_address(address) => {
                Refusal::PerAddress(routes.tracker.limit_per_address().unwrap_or_default())
            }
            _ => return Ok(guard),
        },
    };
    if let Some(metrics) = routes.shared.metrics() {
        metrics.events.refused(refusal);
    }
    Err(refusal)
}

/// Makes sure the process may open enough files for `max_connections`:
/// raises the soft `RLIMIT_NOFILE` toward the hard limit when it is lower
/// (Go does the same at startup; tokio's epoll has no use for the 1 024
/// that `select` needed), and warns when even the hard limit is too low.
#[cfg(unix)]
pub(crate) fn check_fd_limit(max_connections: usize) {
    use rustix::process::{Resource, getrlimit, setrlimit};

    let wanted = (max_connections as u64).saturating_add(RESERVED_FDS);
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= wanted {
        return;
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    let target = wanted.min(hard);
    let mut effective = soft;
    if target > soft {
        let mut raised = limit;
        raised.current = Some(target);
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                effective = target;
                tracing::info!(
                    target: "crosswire::server",
                    from = soft,
                    to = target,
                    max_connections,
                    "raised the open-file limit (RLIMIT_NOFILE) for [server] max_connections"
                );
            }
            Err(error) => tracing::debug!(
                target: "crosswire::server",
                %error,
                "could not raise the open-file limit (RLIMIT_NOFILE)"
            ),
        }
    }
    if effective < wanted {
        tracing::warn!(
            target: "crosswire::server",
            open_file_limit = effective,
            max_connections,
            "the open-file limit (RLIMIT_NOFILE) is below [server] max_connections plus \
             {RESERVED_FDS} for the server itself: accepts will fail before max_connections \
             is reached; raise `ulimit -n` (LimitNOFILE= under systemd) or lower max_connections"
        );
    }
}

/// No open-file limit to check here.
#[cfg(not(unix))]
pub(crate) fn check_fd_limit(_max_connections: usize) {}
