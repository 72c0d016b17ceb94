//! The WebSocket handler: crossws's hooks as a Rust trait and as a builder of
//! closures.
//!
//! Two faces of one thing. Implement [`WebSocketHandler`] on your own type when
//! the handler has state or grows large; use [`hooks()`] for the seed's style of
//! a few closures. Every hook has a default that does nothing (and `upgrade`
//! accepts), so a handler defines only what it needs.
//!
//! ```
//! use crosswire::prelude::*;
//!
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     async fn message(&self, peer: Peer, message: Message) {
//!         peer.send(message);
//!     }
//! }
//!
//! let chat = hooks()
//!     .open(|peer: Peer| async move {
//!         peer.subscribe("chat");
//!     })
//!     .message(|peer: Peer, message: Message| async move {
//!         peer.publish("chat", message.text());
//!     });
//! # let _ = (Echo, chat);
//! ```

use std::future::Future;
use std::sync::Arc;

use super::accept::{Accept, UpgradeResult};
use super::close_info::CloseInfo;
use super::dispatch::{AcceptAll, BoxFuture, DynHandler, HookFailure, NoHook, log_failure};
use super::message::Message;
use super::peer::Peer;
use super::request::UpgradeRequest;
use crate::error::WebSocketError;

/// A WebSocket handler: the hooks of one route.
///
/// Hooks of one connection run one at a time, in arrival order: `upgrade`,
/// `open`, each `message`, then `close`. A hook that panics is logged with the
/// peer id; the connection goes on (a panicking `upgrade` answers 500).
pub trait WebSocketHandler: Send + Sync + 'static {
    /// Runs before the `101` response. Return `Ok(Accept)` to upgrade (adding
    /// headers, context or a subprotocol), or `Err(response)` to answer with
    /// that response instead.
    fn upgrade(&self, request: UpgradeRequest) -> impl Future<Output = UpgradeResult> + Send {
        let _ = request;
        async { Ok(Accept::new()) }
    }

    /// Runs after the `101`, once the peer joined the peer set.
    fn open(&self, peer: Peer) -> impl Future<Output = ()> + Send {
        let _ = peer;
        async {}
    }

    /// Runs once per complete message, in arrival order.
    fn message(&self, peer: Peer, message: Message) -> impl Future<Output = ()> + Send {
        let _ = (peer, message);
        async {}
    }

    /// Runs once when the connection ends, after the peer left the peer set.
    /// The peer may still publish.
    fn close(&self, peer: Peer, close: CloseInfo) -> impl Future<Output = ()> + Send {
        let _ = (peer, close);
        async {}
    }

    /// Runs when the peer's send queue, having filled past half of
    /// `send_queue_bytes`, has been written down to an eighth of it: the
    /// moment a producer that paused for a slow client can go on (crossws's
    /// `drain`). Together with [`Peer::buffered_amount`] and
    /// [`Peer::wait_for_drain`] it lets a producer pace itself instead of
    /// filling the queue until the overflow policy applies.
    fn drain(&self, peer: Peer) -> impl Future<Output = ()> + Send {
        let _ = peer;
        async {}
    }

    /// Runs when the connection fails: a protocol error from the client (1002,
    /// 1007, 1009), a send queue overflow (1008) or an idle timeout (1001).
    /// `close` still runs afterwards.
    fn error(&self, peer: Peer, error: WebSocketError) -> impl Future<Output = ()> + Send {
        let _ = (peer, error);
        async {}
    }
}

/// What a hook closure may return: nothing, or a `Result` whose error is
/// logged with the peer id.
pub trait HookOutput: Send {
    /// The error to log, if any.
    fn into_error(self) -> Option<String>;
}

impl HookOutput for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: std::fmt::Display + Send> HookOutput for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

type UpgradeFn = Arc<dyn Fn(UpgradeRequest) -> BoxFuture<'static, UpgradeResult> + Send + Sync>;
type PeerFn = Arc<dyn Fn(Peer) -> BoxFuture<'static, HookFailure> + Send + Sync>;
type MessageFn = Arc<dyn Fn(Peer, Message) -> BoxFuture<'static, HookFailure> + Send + Sync>;
type CloseFn = Arc<dyn Fn(Peer, CloseInfo) -> BoxFuture<'static, HookFailure> + Send + Sync>;
type ErrorFn = Arc<dyn Fn(Peer, WebSocketError) -> BoxFuture<'static, HookFailure> + Send + Sync>;

/// Starts a handler built from closures, like crossws's `defineHooks`.
pub fn hooks() -> Hooks {
    Hooks::default()
}

/// A [`WebSocketHandler`] made of closures; see [`hooks()`].
#[derive(Default, Clone)]
#[must_use]
pub struct Hooks {
    upgrade: Option<UpgradeFn>,
    open: Option<PeerFn>,
    message: Option<MessageFn>,
    close: Option<CloseFn>,
    error: Option<ErrorFn>,
    drain: Option<PeerFn>,
}

impl Hooks {
    /// Sets the `upgrade` hook.
    pub fn upgrade<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(UpgradeRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = UpgradeResult> + Send + 'static,
    {
        self.upgrade = Some(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// Sets the `open` hook.
    pub fn open<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookOutput,
    {
        self.open = Some(Arc::new(move |peer| {
            let fut = hook(peer);
            Box::pin(async move { fut.await.into_error() })
        }));
        self
    }

    /// Sets the `message` hook.
    pub fn message<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer, Message) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookOutput,
    {
        self.message = Some(Arc::new(move |peer, message| {
            let fut = hook(peer, message);
            Box::pin(async move { fut.await.into_error() })
        }));
        self
    }

    /// Sets the `close` hook.
    pub fn close<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer, CloseInfo) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookOutput,
    {
        self.close = Some(Arc::new(move |peer, info| {
            let fut = hook(peer, info);
            Box::pin(async move { fut.await.into_error() })
        }));
        self
    }

    /// Sets the `drain` hook (see [`WebSocketHandler::drain`]).
    pub fn drain<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookOutput,
    {
        self.drain = Some(Arc::new(move |peer| {
            let fut = hook(peer);
            Box::pin(async move { fut.await.into_error() })
        }));
        self
    }

    /// Sets the `error` hook.
    pub fn error<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Peer, WebSocketError) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HookOutput,
    {
        self.error = Some(Arc::new(move |peer, error| {
            let fut = hook(peer, error);
            Box::pin(async move { fut.await.into_error() })
        }));
        self
    }
}

/// Closures are dispatched directly (see [`super::dispatch`]): the hook's
/// future is the box the closure made, and its error is logged by the caller.
impl DynHandler for Hooks {
    fn upgrade(&self, request: UpgradeRequest) -> BoxFuture<'_, UpgradeResult> {
        match &self.upgrade {
            Some(hook) => hook(request),
            None => Box::pin(AcceptAll),
        }
    }
    fn open(&self, peer: Peer) -> BoxFuture<'_, HookFailure> {
        match &self.open {
            Some(hook) => hook(peer),
            None => no_hook(),
        }
    }
    fn message(&self, peer: Peer, message: Message) -> BoxFuture<'_, HookFailure> {
        match &self.message {
            Some(hook) => hook(peer, message),
            None => no_hook(),
        }
    }
    fn close(&self, peer: Peer, close: CloseInfo) -> BoxFuture<'_, HookFailure> {
        match &self.close {
            Some(hook) => hook(peer, close),
            None => no_hook(),
        }
    }
    fn error(&self, peer: Peer, error: WebSocketError) -> BoxFuture<'_, HookFailure> {
        match &self.error {
            Some(hook) => hook(peer, error),
            None => no_hook(),
        }
    }
    fn drain(&self, peer: Peer) -> BoxFuture<'_, HookFailure> {
        match &self.drain {
            Some(hook) => hook(peer),
            None => no_hook(),
        }
    }
}

fn no_hook() -> BoxFuture<'static, HookFailure> {
    Box::pin(NoHook)
}

/// Used when a `Hooks` is called as a [`WebSocketHandler`] (inside a handler
/// of the user's own type): the same closures, errors logged here.
impl WebSocketHandler for Hooks {
    async fn upgrade(&self, request: UpgradeRequest) -> UpgradeResult {
        match &self.upgrade {
            Some(hook) => hook(request).await,
            None => Ok(Accept::new()),
        }
    }

    async fn open(&self, peer: Peer) {
        if let Some(hook) = &self.open {
            let error = hook(peer.clone()).await;
            log_failure(&peer, "open", error);
        }
    }

    async fn message(&self, peer: Peer, message: Message) {
        if let Some(hook) = &self.message {
            let error = hook(peer.clone(), message).await;
            log_failure(&peer, "message", error);
        }
    }

    async fn close(&self, peer: Peer, close: CloseInfo) {
        if let Some(hook) = &self.close {
            let error = hook(peer.clone(), close).await;
            log_failure(&peer, "close", error);
        }
    }

    async fn drain(&self, peer: Peer) {
        if let Some(hook) = &self.drain {
            let error = hook(peer.clone()).await;
            log_failure(&peer, "drain", error);
        }
    }

    async fn error(&self, peer: Peer, error: WebSocketError) {
        if let Some(hook) = &self.error {
            let failure = hook(peer.clone(), error).await;
            log_failure(&peer, "error", failure);
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("upgrade", &self.upgrade.is_some())
            .field("open", &self.open.is_some())
            .field("message", &self.message.is_some())
            .field("close", &self.close.is_some())
            .field("error", &self.error.is_some())
            .field("drain", &self.drain.is_some())
            .finish()
    }
}
