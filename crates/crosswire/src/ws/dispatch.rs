//! Calls a handler's hooks through one object-safe trait, and contains panics.
//!
//! [`WebSocketHandler`] uses `impl Future` returns, which cannot be called
//! through `dyn`. Routes store an `Arc<dyn DynHandler>` instead; each call
//! gives the hook's future in a box, made and run under `catch_unwind`, so a
//! panic in user code is logged with the peer id and never takes a task (or
//! the server) down.
//!
//! A handler built from closures ([`Hooks`]) is dispatched directly: each of
//! its closures already returns a boxed future, so the hook's future is that
//! box, not a second one around it, and the error a closure returns reaches
//! [`run_hook`] as the future's output, to be logged with the peer the
//! connection holds instead of a clone kept for the purpose. For an echo,
//! that is one allocation and two reference counts fewer per message.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;

use super::accept::UpgradeResult;
use super::close_info::CloseInfo;
use super::hooks::{Hooks, WebSocketHandler};
use super::message::Message;
use super::peer::Peer;
use super::request::UpgradeRequest;
use crate::error::WebSocketError;
use crate::metrics::Hook;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a peer hook's future ends with: the error the hook returned, if any.
pub(crate) type HookFailure = Option<String>;

/// A hook panicked; the payload's message if it had one.
#[derive(Debug)]
pub(crate) struct HookPanicked(pub(crate) String);

/// The object-safe face of a [`WebSocketHandler`].
///
/// Hook futures borrow the handler: the connection holds the handler for as
/// long as it runs them, so no reference count moves per call.
pub(crate) trait DynHandler: Send + Sync {
    fn upgrade(&self, request: UpgradeRequest) -> BoxFuture<'_, UpgradeResult>;
    fn open(&self, peer: Peer) -> BoxFuture<'_, HookFailure>;
    fn message(&self, peer: Peer, message: Message) -> BoxFuture<'_, HookFailure>;
    fn close(&self, peer: Peer, close: CloseInfo) -> BoxFuture<'_, HookFailure>;
    fn error(&self, peer: Peer, error: WebSocketError) -> BoxFuture<'_, HookFailure>;
    fn drain(&self, peer: Peer) -> BoxFuture<'_, HookFailure>;
}

/// The handler a route stores: closures are dispatched as they are, any
/// other handler through its trait methods.
pub(crate) fn dyn_handler<H: WebSocketHandler>(handler: H) -> Arc<dyn DynHandler> {
    let mut handler = Some(handler);
    let hooks = (&mut handler as &mut dyn Any)
        .downcast_mut::<Option<Hooks>>()
        .and_then(Option::take);
    match (hooks, handler) {
        (Some(hooks), _) => Arc::new(hooks),
        (None, Some(handler)) => Arc::new(Native(handler)),
        (None, None) => unreachable!("the downcast takes the handler only when it is `Hooks`"),
    }
}

/// A handler on the user's own type: each hook is its trait method, boxed.
struct Native<H>(H);

impl<H: WebSocketHandler> DynHandler for Native<H> {
    fn upgrade(&self, request: UpgradeRequest) -> BoxFuture<'_, UpgradeResult> {
        Box::pin(self.0.upgrade(request))
    }
    fn open(&self, peer: Peer) -> BoxFuture<'_, HookFailure> {
        Box::pin(self.0.open(peer).map(|()| None))
    }
    fn message(&self, peer: Peer, message: Message) -> BoxFuture<'_, HookFailure> {
        Box::pin(self.0.message(peer, message).map(|()| None))
    }
    fn close(&self, peer: Peer, close: CloseInfo) -> BoxFuture<'_, HookFailure> {
        Box::pin(self.0.close(peer, close).map(|()| None))
    }
    fn error(&self, peer: Peer, error: WebSocketError) -> BoxFuture<'_, HookFailure> {
        Box::pin(self.0.error(peer, error).map(|()| None))
    }
    fn drain(&self, peer: Peer) -> BoxFuture<'_, HookFailure> {
        Box::pin(self.0.drain(peer).map(|()| None))
    }
}

/// The future of a hook a [`Hooks`] does not define: done at once, and as a
/// zero-sized value its box allocates nothing.
pub(crate) struct NoHook;

impl Future for NoHook {
    type Output = HookFailure;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<HookFailure> {
        Poll::Ready(None)
    }
}

/// The `upgrade` of a [`Hooks`] that does not define one: accepts at once,
/// without an allocation.
pub(crate) struct AcceptAll;

impl Future for AcceptAll {
    type Output = UpgradeResult;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<UpgradeResult> {
        Poll::Ready(Ok(super::accept::Accept::new()))
    }
}

/// Makes a hook's future and runs it, turning a panic into an error value.
///
/// The future is made here, under the same guard: a hook may run code of
/// its own before it returns its future (a closure that reads a header,
/// then returns `async move { … }`), and a panic there is a panic in the
/// hook like any other.
pub(crate) async fn guarded<'a, T>(
    make: impl FnOnce() -> BoxFuture<'a, T>,
) -> Result<T, HookPanicked> {
    let fut = std::panic::catch_unwind(AssertUnwindSafe(make))
        .map_err(|payload| HookPanicked(panic_message(payload.as_ref())))?;
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

/// Makes a peer hook's future and runs it, logging a panic (while making
/// it or while polling it) or a returned error with the peer id.
///
/// A plain future over the hook's own (rather than an `async fn`): it sits in
/// the connection's future while a hook runs, and so sets a floor under what
/// every idle connection's future weighs.
/// The hook is named by its one-byte [`Hook`] rather than a string, for the
/// same reason.
pub(crate) fn run_hook<'a>(
    peer: &'a Peer,
    hook: Hook,
    make: impl FnOnce() -> BoxFuture<'a, HookFailure>,
) -> impl Future<Output = ()> + 'a {
    let mut running = match std::panic::catch_unwind(AssertUnwindSafe(make)) {
        Ok(fut) => Some(AssertUnwindSafe(fut).catch_unwind()),
        Err(payload) => {
            log_panic(peer, hook.as_str(), payload.as_ref());
            None
        }
    };
    std::future::poll_fn(move |cx| {
        let Some(caught) = &mut running else {
            return Poll::Ready(());
        };
        match std::task::ready!(Pin::new(caught).poll(cx)) {
            Ok(failure) => log_failure(peer, hook.as_str(), failure),
            Err(payload) => log_panic(peer, hook.as_str(), payload.as_ref()),
        }
        Poll::Ready(())
    })
}

/// Logs and counts a panic in a hook.
fn log_panic(peer: &Peer, hook: &'static str, payload: &(dyn std::any::Any + Send)) {
    let message = panic_message(payload);
    tracing::error!(target: "crosswire::hook", peer = %peer, hook, panic = %message, "hook panicked");
    count_failure(peer, hook, true);
}

/// Logs the error a hook closure returned.
pub(crate) fn log_failure(peer: &Peer, hook: &'static str, error: HookFailure) {
    if let Some(error) = error {
        tracing::error!(target: "crosswire::hook", peer = %peer, hook, %error, "hook returned an error");
        count_failure(peer, hook, false);
    }
}

/// Counts a hook's error or panic in the server's metrics, if on.
pub(crate) fn count_failure(peer: &Peer, hook: &'static str, panicked: bool) {
    if let (Some(metrics), Some(hook)) = (peer.outbox().server_metrics(), Hook::named(hook)) {
        metrics.events.hook_failed(hook, panicked);
    }
}
