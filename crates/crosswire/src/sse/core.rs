//! The state of one event stream that outlives any single handle: its queue,
//! its topics and its `on_closed` callbacks.
//!
//! Three owners share it: the handler's [`EventStream`](super::EventStream)
//! handles, the response body, and the topic index (for each topic the stream
//! joined). Whoever sees the stream end first (the body when the client
//! leaves or the response completes, a handle on `close`, the last handle of a
//! stream that was never sent, a push that overflowed the queue) calls
//! [`StreamCore::finish`], which runs once: leave every topic, wake
//! `closed()` waiters and run the callbacks.
//!
//! `finish` takes a topic shard's lock, so it is never called from inside a
//! delivery (which holds that lock); the topic index collects
//! overflowed streams and finishes them after letting go of its lock.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::sync::Notify;

use super::queue::{Pushed, SseQueue};
use crate::pubsub::TopicList;
use crate::shared::Shared;
use crate::ws::guarded;

mod recovery;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// An `on_closed` callback, boxed so callbacks of any type share one list.
pub(crate) type Callback = Box<dyn FnOnce() -> BoxFuture + Send>;

/// Why a stream ended; logged, so a closed stream can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// `close()` was called.
    Closed,
    /// The response body was dropped before it ended: the client left.
    ClientGone,
    /// The queue went over its budget.
    Overflow,
    /// The server is shutting down.
    Shutdown,
    /// Every handle was dropped and the stream was never sent.
    NeverSent,
}

impl Ended {
    fn as_str(self) -> &'static str {
        match self {
            Ended::Closed => "closed by the server",
            Ended::ClientGone => "client disconnected",
            Ended::Overflow => "queue over its budget",
            Ended::Shutdown => "server shutting down",
            Ended::NeverSent => "dropped without being sent",
        }
    }
}

/// Queue, topics and callbacks of one event stream.
pub(crate) struct StreamCore {
    /// Identifies the stream in the topic index (drawn from the same counter
    /// as peer keys, so the two never collide) and in logs.
    key: u64,
    /// The worker whose topic shard indexes this stream: the one that created
    /// it, which is the one serving its connection.
    home: usize,
    pub(crate) queue: SseQueue,
    /// The server, when the stream was created by a request it routed;
    /// topics need it.
    server: Option<Arc<Shared>>,
    /// Topics in subscription order, until the stream has finished.
    topics: Mutex<TopicList>,
    /// Callbacks to run once the stream ends; `None` once they ran, so a
    /// callback registered after the end runs at once.
    on_closed: Mutex<Option<Vec<Callback>>>,
    finished: AtomicBool,
    /// Woken (all waiters) by `finish`.
    closed: Notify,
}

impl std::fmt::Debug for StreamCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamCore")
            .field("key", &self.key)
            .field("queue", &self.queue)
            .field("topics", &self.topics)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded sections only move values in and out; a poisoned lock
    // still holds consistent state.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StreamCore {
    pub(crate) fn new(server: Option<Arc<Shared>>, limit: usize) -> Self {
        Self {
            key: server.as_ref().map_or(0, |server| server.next_key()),
            home: server
                .as_ref()
                .map_or(0, |server| server.topics.home_worker()),
            queue: SseQueue::new(limit),
            server,
            topics: Mutex::new(TopicList::default()),
            on_closed: Mutex::new(Some(Vec::new())),
            finished: AtomicBool::new(false),
            closed: Notify::new(),
        }
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    pub(crate) fn server(&self) -> Option<&Arc<Shared>> {
        self.server.as_ref()
    }

    /// Queues encoded events; finishes the stream if they overflowed it.
    pub(crate) fn push(&self, chunk: Bytes) -> Pushed {
        self.catch_up_home();
        let pushed = self.queue.push(chunk);
        if pushed == Pushed::Overflow {
            self.finish(Ended::Overflow);
        }
        pushed
    }

    /// Queues the events `encode` writes, encoded straight into the queue;
    /// finishes the stream if they overflowed it.
    pub(crate) fn push_with(&self, encode: impl FnOnce(&mut bytes::BytesMut)) -> Pushed {
        self.catch_up_home();
        let pushed = self.queue.push_with(encode);
        if pushed == Pushed::Overflow {
            self.finish(Ended::Overflow);
        }
        pushed
    }

    /// Delivers what the calling connection's hooks published and the hub
    /// still holds, and what the calling thread handed to this stream's
    /// worker, so that what the stream does after a publish comes after it
    /// whatever thread both ran on (see `TopicHub::catch_up_before_direct`).
    pub(crate) fn catch_up_home(&self) {
        if let Some(server) = &self.server {
            server.topics.catch_up_before_direct(self.home);
        }
    }

    /// Ends the stream after what is queued.
    pub(crate) fn close(&self, why: Ended) {
        self.catch_up_home();
        self.queue.close();
        self.finish(why);
    }

    /// Ends the stream after what is queued and then `last`.
    pub(crate) fn close_with(&self, last: Bytes, why: Ended) {
        self.queue.close_with(last);
        self.finish(why);
    }

    /// Ends the stream now, dropping what is queued.
    pub(crate) fn abort(&self, why: Ended) {
        self.queue.abort();
        self.finish(why);
    }

    /// True once the stream has ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// Leaves every topic, wakes `closed()` waiters and runs the callbacks,
    /// once. Must not be called while holding the topic index's lock.
    pub(crate) fn finish(&self, why: Ended) {
        if self.finished.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::debug!(target: "crosswire::sse", stream = self.key, reason = why.as_str(), "event stream ended");
        if why == Ended::Overflow
            && let Some(metrics) = self.server.as_ref().and_then(|server| server.metrics())
        {
            metrics.events.sse_overflow();
        }
        let topics = lock(&self.topics).leave();
        if let Some(server) = &self.server {
            for topic in topics {
                server.topics.unsubscribe(&topic, self.home, self.key);
            }
        }
        self.closed.notify_waiters();
        let callbacks = lock(&self.on_closed).take().unwrap_or_default();
        run_callbacks(self.key, callbacks);
    }

    /// Waits until the stream has ended.
    pub(crate) async fn closed(&self) {
        loop {
            let notified = self.closed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_finished() {
                return;
            }
            notified.await;
        }
    }

    /// Adds a callback, or runs it now if the stream has already ended.
    pub(crate) fn on_closed(&self, callback: Callback) {
        let mut callbacks = lock(&self.on_closed);
        match callbacks.as_mut() {
            Some(list) => list.push(callback),
            None => {
                drop(callbacks);
                run_callbacks(self.key, vec![callback]);
            }
        }
    }

    /// Leaves a topic.
    pub(crate) fn unsubscribe(&self, topic: &str) {
        // Before the list's lock: catching up may finish streams, this one
        // included.
        self.catch_up_home();
        let mut topics = lock(&self.topics);
        if topics.is_open()
            && let Some(server) = &self.server
        {
            topics.remove(topic);
            server.topics.unsubscribe(topic, self.home, self.key);
        }
    }

    /// The topics joined, in order.
    pub(crate) fn topics(&self) -> Vec<String> {
        lock(&self.topics)
            .as_slice()
            .iter()
            .map(|t| t.to_string())
            .collect()
    }
}

/// Runs callbacks one after the other on their own task, so user code never
/// runs inside a writer's drop of a body (ours or hyper's) or under one of
/// our locks, and a panicking callback is logged while the others still run.
fn run_callbacks(key: u64, callbacks: Vec<Callback>) {
    if callbacks.is_empty() {
        return;
    }
    let task = async move {
        for callback in callbacks {
            if let Err(panic) = guarded(callback).await {
                tracing::error!(target: "crosswire::sse", stream = key, panic = %panic.0, "on_closed callback panicked");
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
        }
        // Dropped outside any runtime (a runtime being torn down, or plain
        // synchronous code): run what completes without waiting.
        Err(_) => {
            if task.now_or_never().is_none() {
                tracing::warn!(target: "crosswire::sse", stream = key, "an on_closed callback awaited with no runtime left to finish it");
            }
        }
    }
}
