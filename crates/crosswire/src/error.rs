//! Errors a Crosswire application can see, grouped by what the caller can do about them.

use std::io;

/// Starting or running the server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The listening socket could not be bound; pick another address or port.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// A route path was rejected when the app was built; fix the path.
    #[error("invalid route `{path}`: {reason}")]
    Route {
        /// The path as written.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A setting given in code holds a value the server cannot run with
    /// (values loaded by [`Config::load`](crate::Config::load) are checked
    /// there already); fix the setting.
    #[error("invalid setting `{key}`: {reason}")]
    Setting {
        /// The setting, as `section.key`.
        key: &'static str,
        /// What was expected.
        reason: String,
    },
    /// `[server.tls]` could not be set up: a certificate or key file is
    /// missing, unreadable or bad, or they do not belong together.
    #[error(transparent)]
    Tls(#[from] crate::TlsError),
    /// [`Crosswire`](crate::Crosswire) was created outside a tokio runtime;
    /// create it inside the one that serves the app.
    #[error("Crosswire must be created inside the tokio runtime that serves the app")]
    NoRuntime,
    /// Reading the listener's address or accepting failed at the OS level.
    #[error("listener error: {0}")]
    Io(#[from] io::Error),
}

/// `Peer::close` was given a code or reason that cannot go on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// The code is reserved or out of range (valid: 1000–1003, 1007–1014, 3000–4999).
    #[error("close code {0} cannot be sent (valid: 1000-1003, 1007-1014, 3000-4999)")]
    InvalidCode(u16),
    /// The reason is longer than the 123 bytes a close frame can carry.
    #[error("close reason is {0} bytes; at most 123 fit in a close frame")]
    ReasonTooLong(usize),
}

/// A message could not be queued for a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closing or closed; the message was dropped.
    #[error("the peer's connection is closed")]
    Closed,
    /// The peer's send queue is full; what happens to the peer depends on the
    /// configured [`OverflowPolicy`](crate::config::OverflowPolicy).
    #[error("the peer's send queue is full ({limit} bytes)")]
    QueueFull {
        /// The configured byte budget of the queue.
        limit: usize,
    },
    /// The value could not be serialized to JSON.
    #[error("cannot serialize message: {0}")]
    Serialize(String),
}

/// Why a connection was failed; given to the `error` hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebSocketError {
    /// The client broke RFC 6455 (bad frame, bad UTF-8, message too big).
    #[error("protocol error: {0}")]
    Protocol(#[from] crosswire_proto::ProtocolError),
    /// The client did not read fast enough and its send queue overflowed.
    #[error("send queue overflowed its {limit}-byte budget")]
    SendQueueFull {
        /// The configured byte budget of the queue.
        limit: usize,
    },
    /// The server's budget for all send queues (`[server] max_queued_bytes`)
    /// was spent while this peer held more than its share of it.
    #[error(
        "the server's {limit}-byte budget for send queues was spent while this peer was behind"
    )]
    ServerQueueBudget {
        /// The configured budget of all queues together.
        limit: usize,
    },
    /// The client sent more pings and pongs per second than
    /// `[websocket] max_control_frames_per_second` allows.
    #[error("more than {limit} control frames a second")]
    ControlFrameFlood {
        /// The configured limit.
        limit: u32,
    },
    /// The client sent more messages per second than `[websocket]
    /// max_messages_per_second` allows.
    #[error("more than {limit} messages a second")]
    MessageRate {
        /// The configured limit.
        limit: u32,
    },
    /// Messages for this peer from other worker threads were refused at its
    /// worker's door, whose inbox already held `limit` bytes of them: the
    /// worker had fallen that far behind. The peer missed them, so it is
    /// closed (1013, try again later) rather than left with a gap.
    #[error("messages for this peer were refused: its worker held {limit} bytes of hand-overs")]
    WorkerBehind {
        /// The bytes a worker's inbox may hold.
        limit: usize,
    },
    /// The client stayed silent longer than the idle timeout.
    #[error("no data from the client for {0:?}")]
    IdleTimeout(std::time::Duration),
    /// Reading from or writing to the socket failed.
    #[error("socket error: {0}")]
    Io(String),
}

impl WebSocketError {
    /// The close code this error is reported with.
    pub fn close_code(&self) -> u16 {
        match self {
            WebSocketError::Protocol(e) => e.close_code(),
            WebSocketError::SendQueueFull { .. }
            | WebSocketError::ServerQueueBudget { .. }
            | WebSocketError::ControlFrameFlood { .. }
            | WebSocketError::MessageRate { .. } => 1008,
            WebSocketError::WorkerBehind { .. } => 1013,
            WebSocketError::IdleTimeout(_) => 1001,
            WebSocketError::Io(_) => 1006,
        }
    }
}

/// An event could not be queued on an [`EventStream`](crate::sse::EventStream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The stream is closed (by the server, by the client leaving, or on
    /// shutdown); the event was dropped. Stop producing for it.
    #[error("the event stream is closed")]
    Closed,
    /// The client did not read fast enough: the stream's queue went over its
    /// budget, so the stream was closed and its `on_closed` callbacks run.
    #[error("the event stream's queue went over its {limit}-byte budget; the stream was closed")]
    QueueFull {
        /// The configured byte budget (`[sse] queue_bytes`).
        limit: usize,
    },
}
