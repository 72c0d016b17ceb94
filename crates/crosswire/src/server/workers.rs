//! Worker threads: one current-thread runtime per core, each serving its own
//! connections.
//!
//! This is the thread-per-core layout of Seastar or uWebSockets' threaded
//! example, in tokio: a connection is accepted once and handed to one worker,
//! where its tasks, its send queue and its topic subscriptions stay. Nothing
//! moves between cores on the hot path except one hand-over per publish per
//! other worker with subscribers (see the `pubsub` module), so the cost of a
//! delivered message does not grow with the number of cores.
//!
//! A worker runs the connections it was handed, its inbox (work handed over
//! from other threads) and its outgoing flusher (work it hands to other
//! workers, batched per turn). It stops when told to exit,
//! after the server's graceful shutdown; dropping its runtime then ends
//! whatever was still open.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};

use super::accept::http_connection;
use super::service::Routes;
use super::tracker::TaskGuard;
use crate::error::ServeError;

/// Accepted connections waiting for a worker to take them; the accept loop
/// waits when a worker is this far behind.
const HANDOVER_QUEUE: usize = 1024;

/// A connection on its way to a worker, already counted as that worker's.
type Accepted = (std::net::TcpStream, SocketAddr, TaskGuard);

/// The running workers.
pub(crate) struct WorkerPool {
    /// Where each worker takes new connections from.
    workers: Vec<mpsc::Sender<Accepted>>,
    exit: watch::Sender<bool>,
    /// Each completes when its worker's thread is about to end; taken by
    /// `join`.
    done: std::sync::Mutex<Vec<oneshot::Receiver<()>>>,
}

impl WorkerPool {
    /// Starts `count` worker threads.
    pub(crate) fn start(
        count: usize,
        pin: bool,
        routes: &Arc<Routes>,
        stop: &watch::Receiver<bool>,
        header_read_timeout: Duration,
    ) -> Result<Self, ServeError> {
        let (exit, exit_rx) = watch::channel(false);
        let mut workers = Vec::with_capacity(count);
        let mut done = Vec::with_capacity(count);
        let cpus = if pin {
            super::affinity::plan(count)
        } else {
            None
        };
        for index in 0..count {
            let (connections, incoming) = mpsc::channel(HANDOVER_QUEUE);
            let (done_tx, done_rx) = oneshot::channel();
            let context = WorkerContext {
                index,
                cpu: cpus.as_ref().and_then(|cpus| cpus.get(index).copied()),
                routes: Arc::clone(routes),
                incoming,
                stop: stop.clone(),
                exit: exit_rx.clone(),
                header_read_timeout,
            };
            std::thread::Builder::new()
                .name(format!("crosswire-worker-{index}"))
                .spawn(move || {
                    context.run();
                    let _ = done_tx.send(());
                })
                .map_err(ServeError::Io)?;
            workers.push(connections);
            done.push(done_rx);
        }
        Ok(Self {
            workers,
            exit,
            done: std::sync::Mutex::new(done),
        })
    }

    /// Gives a connection to worker `index` (the one with the fewest live
    /// connections, as the guard counted it).
    pub(crate) async fn dispatch(
        &self,
        index: usize,
        stream: std::net::TcpStream,
        remote: SocketAddr,
        guard: TaskGuard,
    ) {
        let Some(worker) = self.workers.get(index) else {
            return;
        };
        if worker.send((stream, remote, guard)).await.is_err() {
            tracing::warn!(target: "crosswire::server", worker = index, "worker is gone; connection dropped");
        }
    }

    /// Tells every worker to end, and waits until their threads have.
    pub(crate) async fn join(&self) {
        let _ = self.exit.send(true);
        let done = std::mem::take(
            &mut *self
                .done
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for worker in done {
            let _ = worker.await;
        }
    }
}

/// What one worker thread needs.
struct WorkerContext {
    index: usize,
    /// The CPU this worker is bound to, when workers are pinned.
    cpu: Option<usize>,
    routes: Arc<Routes>,
    incoming: mpsc::Receiver<Accepted>,
    stop: watch::Receiver<bool>,
    exit: watch::Receiver<bool>,
    header_read_timeout: Duration,
}

impl WorkerContext {
    fn run(self) {
        if let Some(cpu) = self.cpu {
            super::affinity::pin_current_thread(self.index, cpu);
        }
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::error!(target: "crosswire::server", worker = self.index, %error, "cannot start a worker runtime");
                return;
            }
        };
        self.routes.shared.topics.enter_worker(self.index);
        runtime.block_on(self.serve());
        // Dropping the runtime ends whatever the shutdown grace left open.
    }

    async fn serve(mut self) {
        let index = self.index;
        let shared = Arc::clone(&self.routes.shared);
        let inbox = tokio::spawn(async move { shared.topics.run_inbox(index).await });
        let shared = Arc::clone(&self.routes.shared);
        let outgoing = tokio::spawn(async move { shared.topics.run_outgoing(index).await });
        loop {
            tokio::select! {
                accepted = self.incoming.recv() => {
                    let Some((stream, remote, guard)) = accepted else { break };
                    match TcpStream::from_std(stream) {
                        Ok(stream) => {
                            let connection = http_connection(stream, remote, &self.routes, &self.stop, self.header_read_timeout, guard);
                            tokio::spawn(connection);
                        }
                        Err(error) => tracing::warn!(target: "crosswire::server", worker = index, %error, "cannot register a connection"),
                    }
                }
                _ = self.exit.wait_for(|exit| *exit) => break,
            }
        }
        let _ = self.exit.wait_for(|exit| *exit).await;
        inbox.abort();
        outgoing.abort();
    }
}
