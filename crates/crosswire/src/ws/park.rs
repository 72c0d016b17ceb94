//! Idle connections without a task.
//!
//! An idle connection's largest block was its tokio task: the cell around
//! the connection's future, 512 bytes aligned to 128, which glibc carves out
//! of a larger free block with `memalign`, leaving a gap in front of it. A
//! connection that has nothing to read and nothing to write does not need a
//! task: what it waits on (its socket's readiness and its send queue's two
//! signals) can wake anything, not only a task. So a quiet connection is
//! *parked*: its task ends, and what the task held (the reader with its
//! decoder and rate buckets, the write side, the peer, the handler and the
//! waker block) moves into one plain heap block, owned by the connection's
//! reader waker until the next wake-up. That wake-up (data or a hang-up on
//! the socket, a frame queued, a close started) spawns the task again on
//! the runtime it was parked on, with the same parts; the reader and writer
//! carry on where they were, without the `open` hook.
//!
//! Parking and waking cost a task spawn and a few atomics, about a
//! microsecond, so only a quiet connection is parked:
//!
//! - one that has exchanged no data message since it opened (or since it
//!   was woken only for a keep-alive ping or pong) is parked as soon as its
//!   reader waits and its writer has written everything;
//! - one that has exchanged data messages is parked once a keep-alive sweep
//!   finds it quiet for a whole sweep period (see `keepalive.rs`), which
//!   asks its reader to look again.
//!
//! So a busy connection never pays for parking, and one that exchanges a
//! message every few seconds pays once per sweep period at most.
//!
//! A socket registered with tokio keeps 256 bytes of its own, aligned to
//! 128 like the task cell; a connection that stays parked also moves its
//! socket out of tokio's registration, into its worker's lot (see
//! `lot.rs`), which wakes it when the client sends or hangs up. That costs
//! two `epoll_ctl` calls to move and two to move back, so the lot takes a
//! socket in a tenth to two tenths of a second after its connection
//! parked, and only if it is still parked then: a client that starts
//! talking right after its handshake never pays for the move.
//!
//! Only a plain TCP connection on a Unix system parks: a TLS stream or a
//! connection another server upgraded (mounted mode) keeps its task.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::connection::{Reader, resume};
use super::dispatch::DynHandler;
use super::duplex::Duplex;
use super::peer::Peer;
use super::transport::{WriteSide, rejoin};

/// Parks a connection whose task is ending: its first wake-up from now on
/// spawns the task again on `runtime`, the one it ran on. A connection
/// that cannot park (its socket still shared, no lot to watch it) goes on
/// in a new task at once, and does not try again.
pub(super) fn park(
    reader: Reader,
    write_side: WriteSide,
    peer: Peer,
    handler: Arc<dyn DynHandler>,
    duplex: Duplex,
    runtime: &tokio::runtime::Handle,
) {
    let (read_side, state) = reader.into_parts();
    let (read_side, write_side) = match rejoin(read_side, write_side) {
        Ok(socket) => match sleeping::sleep(socket, state, peer, handler, duplex, runtime) {
            Ok(()) => return,
            Err(running) => return go_on(*running, runtime),
        },
        Err(sides) => sides,
    };
    let reader = Reader::from_parts(read_side, state);
    go_on((reader, write_side, peer, handler, duplex), runtime);
}

/// A connection's running parts, as its task holds them.
type Running = (Reader, WriteSide, Peer, Arc<dyn DynHandler>, Duplex);

/// A connection that could not park goes on in a new task, and does not
/// try again.
fn go_on(running: Running, runtime: &tokio::runtime::Handle) {
    let (reader, write_side, peer, handler, duplex) = running;
    peer.outbox().parking().disallow();
    drop(runtime.spawn(resume(reader, write_side, peer, handler, duplex)));
}

/// Parked connections: their socket still registered with tokio at
/// first, later in their worker's lot.
#[cfg(unix)]
mod sleeping {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use futures_util::task::{ArcWake, waker};
    use tokio::net::TcpStream;

    use super::super::connection::{Reader, ReaderState, farewell, resume};
    use super::super::dispatch::DynHandler;
    use super::super::duplex::Duplex;
    use super::super::lot::{Lot, Settle};
    use super::super::peer::Peer;
    use super::super::transport::Transport;
    use super::Running;

    /// What a parked connection keeps: its socket, the reader's state
    /// without it, the peer, the handler and the waker block.
    struct Parked {
        socket: Socket,
        reader: ReaderState,
        peer: Peer,
        handler: Arc<dyn DynHandler>,
        duplex: Duplex,
    }

    /// Where a parked connection's socket is watched.
    enum Socket {
        /// Still by tokio (parking costs no system call).
        Registered(TcpStream),
        /// By its worker's lot, under `key`.
        Watched {
            socket: std::net::TcpStream,
            lot: Arc<Lot>,
            key: u64,
        },
    }

    /// Parks the connection of `socket`, its socket still registered with
    /// tokio; its worker's lot takes the socket in if it stays parked.
    pub(super) fn sleep(
        socket: TcpStream,
        reader: ReaderState,
        peer: Peer,
        handler: Arc<dyn DynHandler>,
        duplex: Duplex,
        runtime: &tokio::runtime::Handle,
    ) -> Result<(), Box<Running>> {
        let outbox = Arc::clone(peer.outbox());
        let lot = lot_of(&peer);
        outbox.parking().set_parked(true);
        if let Some(metrics) = outbox.server_metrics() {
            metrics.events.ws_parked(true);
        }
        let parker = duplex.parker();
        let sleeper = Arc::new(Sleeper {
            parts: Mutex::new(None),
            woken_early: AtomicBool::new(false),
            runtime: runtime.clone(),
        });
        let wake = waker(Arc::clone(&sleeper));
        // The sleeper takes the place of the ended task's waker first; a
        // wake-up that reaches it before it holds the parts is remembered
        // (registering a waker may wake it on this very thread).
        let wake_now = parker.park(&wake, |cx| outbox.poll_writer_wanted(cx));
        *sleeper.lock() = Some(Parked {
            socket: Socket::Registered(socket),
            reader,
            peer,
            handler,
            duplex,
        });
        if wake_now || sleeper.woken_early.swap(false, Ordering::AcqRel) {
            wake.wake();
        } else if let Some(lot) = lot {
            let settle: Arc<dyn Settle> = sleeper;
            lot.settle_later(Arc::downgrade(&settle));
        }
        Ok(())
    }

    /// The lot of the connection's worker, made on first use.
    fn lot_of(peer: &Peer) -> Option<Arc<Lot>> {
        let slot = peer.shared().lot(peer.outbox().budget_worker())?;
        slot.get()
            .inspect_err(
                |error| tracing::debug!(target: "crosswire::ws", %error, "no lot to park in"),
            )
            .ok()
    }

    /// A parked connection, as the waker that starts its task again.
    struct Sleeper {
        /// Taken by the first wake-up.
        parts: Mutex<Option<Parked>>,
        /// A wake-up came before the parts were in place.
        woken_early: AtomicBool,
        runtime: tokio::runtime::Handle,
    }

    impl Sleeper {
        fn lock(&self) -> std::sync::MutexGuard<'_, Option<Parked>> {
            self.parts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }

    impl Settle for Sleeper {
        fn settle(self: Arc<Self>, lot: &Arc<Lot>) {
            let mut parts = self.lock();
            // Only a socket still registered with tokio moves; one already
            // watched, or a connection already woken, stays as it is.
            if !matches!(
                parts.as_ref(),
                Some(Parked {
                    socket: Socket::Registered(_),
                    ..
                })
            ) {
                return;
            }
            let Some(Parked {
                socket: Socket::Registered(socket),
                reader,
                peer,
                handler,
                duplex,
            }) = parts.take()
            else {
                return;
            };
            let socket = match socket.into_std() {
                Ok(socket) => socket,
                Err(error) => {
                    // The socket went with its registration.
                    drop(parts);
                    tracing::debug!(target: "crosswire::ws", %error, "socket lost while parking");
                    stopped_parking(&peer);
                    drop(self.runtime.spawn(farewell(peer, handler, duplex)));
                    return;
                }
            };
            let key = lot.next_key();
            let watched = lot.watch(key, socket.as_raw_fd(), waker(Arc::clone(&self)));
            *parts = Some(Parked {
                socket: Socket::Watched {
                    socket,
                    lot: Arc::clone(lot),
                    key,
                },
                reader,
                peer,
                handler,
                duplex,
            });
            drop(parts);
            if let Err(error) = watched {
                // Nothing watches the socket now: the connection goes on,
                // its socket registered with tokio again.
                tracing::debug!(target: "crosswire::ws", %error, "the lot refused a socket");
                ArcWake::wake_by_ref(&self);
            }
        }
    }

    impl ArcWake for Sleeper {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            let parts = arc_self.lock().take();
            let Some(parked) = parts else {
                arc_self.woken_early.store(true, Ordering::Release);
                return;
            };
            woken(&parked);
            parked.duplex.wake_reader();
            let Parked {
                socket,
                reader,
                peer,
                handler,
                duplex,
            } = parked;
            // On the connection's own runtime: whatever woke it (a publish
            // on another worker, the keep-alive sweep) does not pay for
            // its system calls.
            match socket {
                Socket::Registered(socket) => {
                    let (read_side, write_side) = Transport::Tcp(socket).split();
                    let reader = Reader::from_parts(read_side, reader);
                    let task = resume(reader, write_side, peer, handler, duplex);
                    drop(arc_self.runtime.spawn(task));
                }
                Socket::Watched { socket, lot, key } => {
                    let awake = awaken(socket, lot, key, reader, peer, handler, duplex);
                    drop(arc_self.runtime.spawn(awake));
                }
            }
        }
    }

    /// Reads what is waiting on a socket from the lot and goes on in the
    /// connection's task, its socket registered with tokio again; a client
    /// that hung up ends the connection here, with its hooks, and its socket
    /// is closed without going back to tokio (three `epoll_ctl` calls and a
    /// task spared).
    async fn awaken(
        socket: std::net::TcpStream,
        lot: Arc<Lot>,
        key: u64,
        mut reader: ReaderState,
        peer: Peer,
        handler: Arc<dyn DynHandler>,
        duplex: Duplex,
    ) {
        lot.unwatch(key);
        // What the client sent is read now: the socket's new registration
        // with tokio reports it only after the runtime's next turn, and the
        // reader, seeing nothing, would park again.
        let outbox = peer.outbox();
        let hung_up = match reader.read_waiting(&socket) {
            Ok(0) => true,
            Ok(read) => {
                outbox.touch();
                if let Some(metrics) = outbox.metrics() {
                    metrics.bytes_received(read);
                }
                false
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(error) => {
                tracing::debug!(target: "crosswire::ws", %error, "read failed");
                true
            }
        };
        if hung_up {
            // Closing the socket takes it out of the lot's set.
            drop(socket);
            farewell(peer, handler, duplex).await;
            return;
        }
        lot.deregister(socket.as_raw_fd());
        match TcpStream::from_std(socket) {
            Ok(socket) => {
                let (read_side, write_side) = Transport::Tcp(socket).split();
                let reader = Reader::from_parts(read_side, reader);
                drop(tokio::spawn(resume(
                    reader, write_side, peer, handler, duplex,
                )));
            }
            Err(error) => {
                tracing::debug!(target: "crosswire::ws", %error, "socket lost while waking");
                farewell(peer, handler, duplex).await;
            }
        }
    }

    impl Drop for Sleeper {
        /// Never woken: the connection went away parked.
        fn drop(&mut self) {
            let parts = self
                .parts
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(parked) = parts {
                woken(parked);
            }
        }
    }

    /// Records that `parked` is no longer parked.
    fn woken(parked: &Parked) {
        stopped_parking(&parked.peer);
    }

    /// Records that `peer` is no longer parked.
    fn stopped_parking(peer: &Peer) {
        let outbox = peer.outbox();
        outbox.parking().set_parked(false);
        if let Some(metrics) = outbox.server_metrics() {
            metrics.events.ws_parked(false);
        }
    }

    /// Bytes a parked connection keeps in place of its task.
    #[cfg(test)]
    pub(crate) fn parked_size() -> usize {
        // The block of the `Arc`: two counts and the sleeper.
        16 + std::mem::size_of::<Sleeper>()
    }
}

/// Without a lot to watch sockets, connections do not park.
#[cfg(not(unix))]
mod sleeping {
    use std::sync::Arc;

    use tokio::net::TcpStream;

    use super::super::connection::{Reader, ReaderState};
    use super::super::dispatch::DynHandler;
    use super::super::duplex::Duplex;
    use super::super::peer::Peer;
    use super::super::transport::Transport;
    use super::Running;

    pub(super) fn sleep(
        socket: TcpStream,
        reader: ReaderState,
        peer: Peer,
        handler: Arc<dyn DynHandler>,
        duplex: Duplex,
        _runtime: &tokio::runtime::Handle,
    ) -> Result<(), Box<Running>> {
        let (read_side, write_side) = Transport::Tcp(socket).split();
        let reader = Reader::from_parts(read_side, reader);
        Err(Box::new((reader, write_side, peer, handler, duplex)))
    }
}

#[cfg(all(test, unix))]
pub(crate) use sleeping::parked_size;

/// Parking state of one connection, kept in its send queue where the
/// reader, the writer and the keep-alive sweep all reach it.
#[derive(Debug, Default)]
pub(crate) struct Parking(AtomicU8);

/// The connection may be parked (plain TCP, inside a tokio runtime).
const ALLOWED: u8 = 1;
/// It is parked now.
const PARKED: u8 = 2;
/// A data message went in or out since the sweep last looked.
const ACTIVE: u8 = 4;
/// The reader would park the connection but the writer still had work:
/// the send queue wakes the reader once it is written. (Set and taken
/// under the queue's lock.)
const WAKE_WHEN_WRITTEN: u8 = 8;

impl Parking {
    /// The connection's transport lets it park.
    pub(crate) fn allow(&self) {
        self.0.fetch_or(ALLOWED, Ordering::Relaxed);
    }

    /// The connection is not to be parked again.
    pub(crate) fn disallow(&self) {
        self.0.fetch_and(!ALLOWED, Ordering::Relaxed);
    }

    /// Records whether the reader is to be woken once the writer has
    /// written everything.
    pub(crate) fn want_wake_when_written(&self, wanted: bool) {
        if wanted {
            self.0.fetch_or(WAKE_WHEN_WRITTEN, Ordering::Relaxed);
        } else if self.0.load(Ordering::Relaxed) & WAKE_WHEN_WRITTEN != 0 {
            self.0.fetch_and(!WAKE_WHEN_WRITTEN, Ordering::Relaxed);
        }
    }

    /// Whether the reader was to be woken once everything is written;
    /// asked when it is. (A plain load first: almost always it was not.)
    #[inline]
    pub(crate) fn take_wake_when_written(&self) -> bool {
        self.0.load(Ordering::Relaxed) & WAKE_WHEN_WRITTEN != 0
            && self.0.fetch_and(!WAKE_WHEN_WRITTEN, Ordering::Relaxed) & WAKE_WHEN_WRITTEN != 0
    }

    /// A data message went in or out. (A plain load first: on a busy
    /// connection the flag is already set, and the line stays shared.)
    #[inline]
    pub(crate) fn mark_active(&self) {
        if self.0.load(Ordering::Relaxed) & ACTIVE == 0 {
            self.0.fetch_or(ACTIVE, Ordering::Relaxed);
        }
    }

    /// Whether the reader may park the connection now, as far as these
    /// flags tell: allowed, not parked, and quiet.
    pub(crate) fn may_park(&self) -> bool {
        Self::quiet(self.0.load(Ordering::Relaxed))
    }

    /// For the keep-alive sweep: whether the connection could be parked and
    /// exchanged no data message since the sweep last looked. Starts the
    /// next period.
    pub(crate) fn quiet_since_last_look(&self) -> bool {
        Self::quiet(self.0.fetch_and(!ACTIVE, Ordering::Relaxed))
    }

    /// Records that the connection is parked, or running again.
    pub(crate) fn set_parked(&self, parked: bool) {
        if parked {
            self.0.fetch_or(PARKED, Ordering::Relaxed);
        } else {
            self.0.fetch_and(!PARKED, Ordering::Relaxed);
        }
    }

    /// Whether the connection is parked now.
    #[cfg(test)]
    pub(crate) fn is_parked(&self) -> bool {
        self.0.load(Ordering::Relaxed) & PARKED != 0
    }

    fn quiet(bits: u8) -> bool {
        bits & ALLOWED != 0 && bits & (PARKED | ACTIVE) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_allowed_quiet_running_connection_may_park() {
        let parking = Parking::default();
        assert!(!parking.may_park(), "not allowed yet");
        parking.allow();
        assert!(parking.may_park());
        parking.mark_active();
        assert!(!parking.may_park(), "active");
        assert!(!parking.quiet_since_last_look(), "active in this period");
        assert!(parking.quiet_since_last_look(), "quiet in the next one");
        parking.set_parked(true);
        assert!(parking.is_parked());
        assert!(!parking.may_park(), "already parked");
        assert!(!parking.quiet_since_last_look(), "nothing to ask");
        parking.set_parked(false);
        assert!(parking.may_park(), "running again");
        parking.disallow();
        assert!(!parking.may_park(), "disallowed");
    }
}
