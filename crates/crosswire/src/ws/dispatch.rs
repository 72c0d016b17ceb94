//! Calls a handler's hooks through one object-safe trait, and contains panics.
//!
//! [`WebSocketHandler`] uses `impl Future` returns, which cannot be called
//! through `dyn`. Routes store an `Arc<dyn DynHandler>` instead; each call
//! boxes the hook's future once and runs it under `catch_unwind`, so a panic in
//! user code is logged with the peer id and never takes a task (or the server)
//! down.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::FutureExt;

use super::accept::UpgradeResult;
use super::close_info::CloseInfo;
use super::hooks::WebSocketHandler;
use super::message::Message;
use super::peer::Peer;
use super::request::UpgradeRequest;
use crate::error::WebSocketError;
use crate::metrics::Hook;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A hook panicked; the payload's message if it had one.
#[derive(Debug)]
pub(crate) struct HookPanicked(pub(crate) String);

/// The object-safe face of a [`WebSocketHandler`].
pub(crate) trait DynHandler: Send + Sync {
    fn upgrade(self: Arc<Self>, request: UpgradeRequest) -> BoxFuture<UpgradeResult>;
    fn open(self: Arc<Self>, peer: Peer) -> BoxFuture<()>;
    fn message(self: Arc<Self>, peer: Peer, message: Message) -> BoxFuture<()>;
    fn close(self: Arc<Self>, peer: Peer, close: CloseInfo) -> BoxFuture<()>;
    fn error(self: Arc<Self>, peer: Peer, error: WebSocketError) -> BoxFuture<()>;
    fn drain(self: Arc<Self>, peer: Peer) -> BoxFuture<()>;
}

impl<H: WebSocketHandler> DynHandler for H {
    fn upgrade(self: Arc<Self>, request: UpgradeRequest) -> BoxFuture<UpgradeResult> {
        Box::pin(async move { WebSocketHandler::upgrade(&*self, request).await })
    }
    fn open(self: Arc<Self>, peer: Peer) -> BoxFuture<()> {
        Box::pin(async move { WebSocketHandler::open(&*self, peer).await })
    }
    fn message(self: Arc<Self>, peer: Peer, message: Message) -> BoxFuture<()> {
        Box::pin(async move { WebSocketHandler::message(&*self, peer, message).await })
    }
    fn close(self: Arc<Self>, peer: Peer, close: CloseInfo) -> BoxFuture<()> {
        Box::pin(async move { WebSocketHandler::close(&*self, peer, close).await })
    }
    fn error(self: Arc<Self>, peer: Peer, error: WebSocketError) -> BoxFuture<()> {
        Box::pin(async move { WebSocketHandler::error(&*self, peer, error).await })
    }
    fn drain(self: Arc<Self>, peer: Peer) -> BoxFuture<()> {
        Box::pin(async move { WebSocketHandler::drain(&*self, peer).await })
    }
}

/// Runs a hook's future, turning a panic into an error value.
pub(crate) async fn guarded<T>(fut: BoxFuture<T>) -> Result<T, HookPanicked> {
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .map_err(|payload| HookPanicked(panic_message(payload.as_ref())))
}

/// The message a panic was raised with, if it had one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// Runs a peer hook, logging a panic with the peer id.
///
/// A plain future over the hook's own (rather than an `async fn`): it sits in
/// the connection's future while a hook runs, and so sets a floor under what
/// every idle connection's future weighs.
pub(crate) fn run_hook<'a>(
    peer: &'a Peer,
    hook: &'static str,
    fut: BoxFuture<()>,
) -> impl Future<Output = ()> + 'a {
    let mut caught = AssertUnwindSafe(fut).catch_unwind();
    std::future::poll_fn(move |cx| {
        if let Err(payload) = std::task::ready!(Pin::new(&mut caught).poll(cx)) {
            let message = panic_message(payload.as_ref());
            tracing::error!(target: "crosswire::hook", peer = %peer, hook, panic = %message, "hook panicked");
            count_failure(peer, hook, true);
        }
        std::task::Poll::Ready(())
    })
}

/// Counts a hook's error or panic in the server's metrics, if on.
pub(crate) fn count_failure(peer: &Peer, hook: &'static str, panicked: bool) {
    if let (Some(metrics), Some(hook)) = (peer.outbox().server_metrics(), Hook::named(hook)) {
        metrics.events.hook_failed(hook, panicked);
    }
}
