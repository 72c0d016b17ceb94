//! The sockets of parked connections, watched by an epoll set of their own.
//!
//! A socket registered with tokio keeps a `ScheduledIo`: 256 bytes aligned
//! to 128, which glibc carves out of a larger free block as it does the
//! task cell. A parked connection (see `park.rs`) needs none of what it
//! offers, only to hear once that its socket became readable or was hung
//! up. So a parked connection's socket leaves tokio's registration and
//! joins its worker's *lot*: one `epoll` set with one tokio registration of
//! its own, and a table from each socket's key to the waker that resumes
//! its connection. One task per lot waits for the set to be readable, takes
//! what is ready and wakes those connections; each then leaves the set and
//! registers with tokio again.
//!
//! Moving a socket costs two `epoll_ctl` calls, and two more to move it
//! back, so it is not done at once: a connection parks with its
//! registration, and every tenth of a second the lot's task takes in the
//! sockets of connections that parked before its previous tick and are
//! still parked. One that wakes sooner (a client that starts talking right
//! after its handshake) never pays for the move. The period is short so
//! that the registrations freed while a crowd is still connecting are
//! reused by the crowd's later connections: freed a second later, they
//! stayed as 272-byte holes between live blocks, 0.2 KB per idle
//! connection that the allocator could not give back.
//!
//! The lot's timer runs only while some connection waits to be settled: a
//! server with nothing parked lately does not wake ten times a second.
//!
//! A server keeps one lot per worker, made by the first connection that
//! parks there, its task on that worker's runtime. When its task is dropped
//! (the runtime stops), the lot closes and wakes every connection it still
//! watched, so none is left behind, and the next park makes a new lot.

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Readiness events taken per system call.
const EVENTS_PER_WAIT: usize = 256;

/// How often the lot takes in the sockets of connections that parked
/// since (each waits one to two periods: one that wakes sooner never pays
/// for the move; see the module docs for why it is short).
const SETTLE_EVERY: Duration = Duration::from_millis(100);

/// A parked connection whose socket is still registered with tokio, and
/// can be moved into the lot.
pub(crate) trait Settle: Send + Sync {
    /// Moves the socket into `lot`, if the connection is still parked.
    fn settle(self: Arc<Self>, lot: &Arc<Lot>);
}

/// Connections waiting to be settled: those that parked since the last
/// tick, and those that parked before it (settled at the next).
#[derive(Default)]
struct Settling {
    fresh: Vec<Weak<dyn Settle>>,
    due: Vec<Weak<dyn Settle>>,
}

/// One worker's set of watched sockets; see the module docs.
#[derive(Debug)]
pub(crate) struct Lot {
    /// Adds and removes sockets, from any thread.
    registry: Registry,
    /// Each watched socket's key, and what to wake when it is ready.
    watched: Mutex<HashMap<u64, Waker>>,
    next_key: AtomicU64,
    /// Its task is gone: nothing will wake what it watches.
    closed: AtomicBool,
    /// Parked connections still registered with tokio.
    settling: Mutex<Settling>,
    /// Wakes the lot's task when `settling` stops being empty.
    settling_started: Notify,
}

impl Settling {
    fn is_empty(&self) -> bool {
        self.fresh.is_empty() && self.due.is_empty()
    }
}

impl std::fmt::Debug for Settling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settling")
            .field("fresh", &self.fresh.len())
            .field("due", &self.due.len())
            .finish()
    }
}

/// Where one worker's lot is kept: made by the first connection that
/// parks, made again if its runtime stopped.
#[derive(Debug, Default)]
pub(crate) struct LotSlot(Mutex<Option<Arc<Lot>>>);

impl LotSlot {
    /// The lot, made (with its task, on the current runtime) if there is
    /// none or it closed.
    pub(crate) fn get(&self) -> std::io::Result<Arc<Lot>> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lot) = slot
            .as_ref()
            .filter(|lot| !lot.closed.load(Ordering::Acquire))
        {
            return Ok(Arc::clone(lot));
        }
        let lot = Lot::start()?;
        *slot = Some(Arc::clone(&lot));
        Ok(lot)
    }
}

impl Lot {
    /// A new lot, its task on the current runtime.
    fn start() -> std::io::Result<Arc<Self>> {
        let poll = Poll::new()?;
        let lot = Arc::new(Self {
            registry: poll.registry().try_clone()?,
            watched: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            settling: Mutex::new(Settling::default()),
            settling_started: Notify::new(),
        });
        // Deprecated because a type could close its descriptor while
        // registered; `Poll` closes its epoll descriptor only when
        // dropped, and `AsyncFd` deregisters before dropping it.
        #[allow(
            deprecated,
            reason = "the safe constructor, sound for a type that owns its descriptor"
        )]
        let poll = AsyncFd::with_interest(poll, tokio::io::Interest::READABLE)?;
        // Armed before the task first runs: a runtime that stops before
        // then still closes the lot.
        tokio::spawn(watch(CloseOnDrop(Arc::clone(&lot)), poll));
        Ok(lot)
    }

    /// Takes `connection`'s socket in within one to two periods, if it is
    /// still parked then.
    pub(crate) fn settle_later(&self, connection: Weak<dyn Settle>) {
        let was_empty = {
            let mut settling = self
                .settling
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let was_empty = settling.is_empty();
            settling.fresh.push(connection);
            was_empty
        };
        if was_empty {
            // A permit is kept if the task is not waiting yet.
            self.settling_started.notify_one();
        }
    }

    /// Some connection waits to be settled.
    fn settling_pending(&self) -> bool {
        !self
            .settling
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }

    /// Settles what parked before the last tick.
    fn settle_due(self: &Arc<Self>) {
        let due = {
            let mut settling = self
                .settling
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let fresh = std::mem::take(&mut settling.fresh);
            std::mem::replace(&mut settling.due, fresh)
        };
        for connection in due.iter().filter_map(Weak::upgrade) {
            connection.settle(self);
        }
    }

    /// A key for the next socket.
    pub(crate) fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// Watches `socket` under `key` until it is readable or hung up (at
    /// once if it already is), then wakes `waker`, once.
    pub(crate) fn watch(&self, key: u64, socket: RawFd, waker: Waker) -> std::io::Result<()> {
        let mut watched = self.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(std::io::ErrorKind::NotConnected.into());
        }
        let token = Token(usize::try_from(key).map_err(|_| std::io::ErrorKind::OutOfMemory)?);
        self.registry
            .register(&mut SourceFd(&socket), token, Interest::READABLE)?;
        watched.insert(key, waker);
        Ok(())
    }

    /// Stops watching `socket`.
    #[cfg(test)]
    pub(crate) fn forget(&self, key: u64, socket: RawFd) {
        self.unwatch(key);
        self.deregister(socket);
    }

    /// Stops waking anything for `key`. Its socket stays in the set until
    /// [`Lot::deregister`] or until it is closed, which takes it out (the
    /// lot never duplicates a descriptor); events for it meanwhile wake
    /// nothing.
    pub(crate) fn unwatch(&self, key: u64) {
        drop(self.lock().remove(&key));
    }

    /// Takes `socket` out of the set.
    pub(crate) fn deregister(&self, socket: RawFd) {
        // Fails only if the socket was never added: then it is not watched.
        let _ = self.registry.deregister(&mut SourceFd(&socket));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        self.watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sockets watched now.
    #[cfg(test)]
    pub(crate) fn watching(&self) -> usize {
        self.lock().len()
    }
}

/// Wakes what the lot watched once its task is gone.
struct CloseOnDrop(Arc<Lot>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let watched = {
            let mut watched = self.0.lock();
            self.0.closed.store(true, Ordering::Release);
            std::mem::take(&mut *watched)
        };
        for waker in watched.into_values() {
            waker.wake();
        }
    }
}

/// The lot's task: wakes the connections whose sockets are ready.
async fn watch(lot: CloseOnDrop, mut poll: AsyncFd<Poll>) {
    let mut events = Events::with_capacity(EVENTS_PER_WAIT);
    // When the next settling is due; none while nothing waits for one.
    let mut next_settle: Option<Instant> = None;
    loop {
        if next_settle.is_none() && lot.0.settling_pending() {
            next_settle = Some(Instant::now() + SETTLE_EVERY);
        }
        let timer = async {
            match next_settle {
                Some(at) => {
                    tokio::time::sleep_until(at).await;
                    true
                }
                None => {
                    lot.0.settling_started.notified().await;
                    false
                }
            }
        };
        let readable = tokio::select! {
            readable = poll.readable_mut() => readable,
            due = timer => {
                if due {
                    lot.0.settle_due();
                    next_settle = None;
                }
                continue;
            }
        };
        let Ok(mut ready) = readable else {
            return;
        };
        match ready
            .get_inner_mut()
            .poll(&mut events, Some(Duration::ZERO))
        {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::warn!(target: "crosswire::ws", %error, "the set of parked sockets failed; its connections resume");
                return;
            }
        }
        let taken = events.iter().count();
        let wakers: Vec<Waker> = {
            let mut watched = lot.0.lock();
            events
                .iter()
                .filter_map(|event| u64::try_from(event.token().0).ok())
                .filter_map(|key| watched.remove(&key))
                .collect()
        };
        for waker in wakers {
            waker.wake();
        }
        // Fewer than asked for: the set is drained until it signals again.
        if taken < EVENTS_PER_WAIT {
            ready.clear_ready();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::AtomicUsize;

    use futures_util::task::{ArcWake, waker};

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl ArcWake for Count {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        (server, client)
    }

    async fn woken(count: &Count, times: usize) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while count.0.load(Ordering::SeqCst) < times {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("woken");
    }

    #[tokio::test]
    async fn a_socket_wakes_once_on_data_and_once_on_a_hang_up_and_no_more() {
        let lot = LotSlot::default().get().unwrap();
        let (server, mut client) = pair();
        let count = Arc::new(Count::default());
        let key = lot.next_key();
        lot.watch(key, server.as_raw_fd(), waker(Arc::clone(&count)))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "nothing to read yet");
        client.write_all(b"x").unwrap();
        woken(&count, 1).await;
        assert_eq!(lot.watching(), 0, "a woken socket is no longer watched");
        client.write_all(b"y").unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
        lot.forget(key, server.as_raw_fd());

        // Watched again with data already waiting (and then a hang-up).
        let key = lot.next_key();
        lot.watch(key, server.as_raw_fd(), waker(Arc::clone(&count)))
            .unwrap();
        woken(&count, 2).await;
        lot.forget(key, server.as_raw_fd());
        let (other, client) = pair();
        let key = lot.next_key();
        lot.watch(key, other.as_raw_fd(), waker(Arc::clone(&count)))
            .unwrap();
        drop(client);
        woken(&count, 3).await;
        lot.forget(key, other.as_raw_fd());
    }

    /// Counts the times it was settled.
    #[derive(Default)]
    struct Settled(AtomicUsize);

    impl Settle for Settled {
        fn settle(self: Arc<Self>, _lot: &Arc<Lot>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn what_parks_is_settled_within_two_periods_also_after_a_quiet_spell() {
        let lot = LotSlot::default().get().unwrap();
        for quiet in [Duration::ZERO, SETTLE_EVERY * 5] {
            // Nothing to settle meanwhile: the timer is not running.
            tokio::time::sleep(quiet).await;
            assert!(!lot.settling_pending());
            let connections: Vec<Arc<Settled>> =
                (0..3).map(|_| Arc::new(Settled::default())).collect();
            let dropped = Arc::new(Settled::default());
            for connection in connections.iter().chain([&dropped]) {
                let settle: Arc<dyn Settle> = Arc::clone(connection) as Arc<dyn Settle>;
                lot.settle_later(Arc::downgrade(&settle));
            }
            drop(dropped);
            tokio::time::timeout(Duration::from_secs(5), async {
                while connections.iter().any(|c| c.0.load(Ordering::SeqCst) == 0) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await
            .expect("settled");
            tokio::time::sleep(SETTLE_EVERY * 3).await;
            for connection in &connections {
                assert_eq!(connection.0.load(Ordering::SeqCst), 1, "settled once");
            }
            assert!(!lot.settling_pending(), "nothing left to settle");
        }
    }

    #[test]
    fn a_stopped_runtime_wakes_what_its_lot_watched_and_the_next_gets_a_new_lot() {
        let slot = LotSlot::default();
        let (server, _client) = pair();
        let count = Arc::new(Count::default());
        let first = {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let lot = runtime.block_on(async {
                let lot = slot.get().unwrap();
                let key = lot.next_key();
                lot.watch(key, server.as_raw_fd(), waker(Arc::clone(&count)))
                    .unwrap();
                tokio::task::yield_now().await;
                lot
            });
            drop(runtime);
            lot
        };
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "woken when the lot closed"
        );
        assert!(first.closed.load(Ordering::SeqCst));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let second = runtime.block_on(async { slot.get().unwrap() });
        assert!(!Arc::ptr_eq(&first, &second));
    }
}
