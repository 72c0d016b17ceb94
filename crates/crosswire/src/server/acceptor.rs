//! Taking connections off a listening socket, registered with the
//! accepting runtime or not.
//!
//! With one worker, an accepted socket is served on the runtime that
//! accepts it, so tokio registers it there as it accepts. With several, the
//! socket goes to a worker, which registers it with its own reactor:
//! accepted through tokio, it was registered with the acceptor's reactor
//! and deregistered again before the hand-over, two `epoll_ctl` calls per
//! connection for nothing. So a listener whose connections go to workers
//! accepts them *bare* (`accept4`, non-blocking), and only the listener's
//! own readiness goes through tokio.
//!
//! An accepted socket also inherits `TCP_NODELAY` from its listener on
//! Linux, so it is set once there instead of once per connection;
//! elsewhere [`Acceptor::accept`] sets it on each.

use std::io;
use std::net::SocketAddr;

#[cfg(unix)]
use tokio::io::unix::AsyncFd;
use tokio::net::{TcpListener, TcpStream};

/// A listening socket, accepting for this runtime or for the workers.
pub(super) struct Acceptor {
    listener: Listening,
    /// Accepted sockets come with `TCP_NODELAY` already set.
    nodelay_inherited: bool,
}

enum Listening {
    /// Sockets registered with this runtime as they are accepted.
    Registered(TcpListener),
    /// Sockets left unregistered, for another runtime to take.
    #[cfg(unix)]
    Bare(AsyncFd<std::net::TcpListener>),
}

/// An accepted socket, registered with this runtime or not.
#[cfg_attr(not(unix), allow(dead_code, reason = "only Unix accepts bare"))]
pub(super) enum Accepted {
    Registered(TcpStream),
    Bare(std::net::TcpStream),
}

impl Acceptor {
    /// Accepts on `listener`, leaving sockets unregistered if `bare` (they
    /// go to other runtimes). A listener that cannot be watched bare stays
    /// registered (elsewhere than on Unix, every listener does).
    pub(super) fn new(listener: TcpListener, bare: bool) -> io::Result<Self> {
        let nodelay_inherited = cfg!(target_os = "linux")
            && socket2::SockRef::from(&listener)
                .set_tcp_nodelay(true)
                .is_ok();
        #[cfg(unix)]
        let listener = if bare {
            // Deprecated because a type could close its descriptor while
            // registered; a `TcpListener` closes it only when dropped, and
            // `AsyncFd` deregisters before dropping it.
            #[allow(
                deprecated,
                reason = "the safe constructor, sound for a type that owns its descriptor"
            )]
            match AsyncFd::try_new(listener.into_std()?) {
                Ok(listener) => Listening::Bare(listener),
                Err(refused) => {
                    let (listener, error) = refused.into_parts();
                    tracing::debug!(target: "crosswire::server", %error, "accepting through tokio instead");
                    Listening::Registered(TcpListener::from_std(listener)?)
                }
            }
        } else {
            Listening::Registered(listener)
        };
        #[cfg(not(unix))]
        let listener = {
            let _ = bare;
            Listening::Registered(listener)
        };
        Ok(Self {
            listener,
            nodelay_inherited,
        })
    }

    /// Whether accepted sockets need `TCP_NODELAY` set one by one.
    #[cfg(test)]
    fn sets_nodelay(&self) -> bool {
        !self.nodelay_inherited
    }

    /// The next connection, with `TCP_NODELAY` on.
    pub(super) async fn accept(&self) -> io::Result<(Accepted, SocketAddr)> {
        let (accepted, remote) = self.accept_as_is().await?;
        if !self.nodelay_inherited {
            accepted.set_nodelay();
        }
        Ok((accepted, remote))
    }

    async fn accept_as_is(&self) -> io::Result<(Accepted, SocketAddr)> {
        match &self.listener {
            Listening::Registered(listener) => {
                let (stream, remote) = listener.accept().await?;
                Ok((Accepted::Registered(stream), remote))
            }
            #[cfg(unix)]
            Listening::Bare(listener) => loop {
                let mut ready = listener.readable().await?;
                // Only `WouldBlock` clears the readiness and waits again.
                if let Ok(accepted) = ready.try_io(|listener| accept_bare(listener.get_ref())) {
                    let (stream, remote) = accepted?;
                    return Ok((Accepted::Bare(stream), remote));
                }
            },
        }
    }
}

impl Accepted {
    /// Sets `TCP_NODELAY` (a failure leaves Nagle's algorithm on, which only
    /// delays small writes).
    fn set_nodelay(&self) {
        let _ = match self {
            Self::Registered(stream) => stream.set_nodelay(true),
            Self::Bare(stream) => stream.set_nodelay(true),
        };
    }

    /// The socket, registered with this runtime.
    fn into_registered(self) -> io::Result<TcpStream> {
        match self {
            Self::Registered(stream) => Ok(stream),
            Self::Bare(stream) => TcpStream::from_std(stream),
        }
    }

    /// The socket, registered with this runtime; `None` (logged) if the
    /// runtime refused it, and the connection is dropped.
    pub(super) fn registered(self) -> Option<TcpStream> {
        self.into_registered()
            .inspect_err(|error| {
                tracing::debug!(target: "crosswire::server", %error, "could not register a connection");
            })
            .ok()
    }

    /// The socket, registered with no runtime (and non-blocking), for
    /// another runtime to take.
    pub(super) fn into_bare(self) -> io::Result<std::net::TcpStream> {
        match self {
            Self::Registered(stream) => stream.into_std(),
            Self::Bare(stream) => Ok(stream),
        }
    }
}

/// `accept4` with the new socket non-blocking and closed on exec: one
/// system call.
#[cfg(target_os = "linux")]
fn accept_bare(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    use std::os::fd::{AsRawFd, FromRawFd};

    // SAFETY: `try_init` hands over zeroed storage for a socket address and
    // its size, which `accept4` fills in (never past the size it is given);
    // the listener's descriptor stays open for the whole call.
    #[allow(unsafe_code)]
    let (descriptor, address) = unsafe {
        socket2::SockAddr::try_init(|storage, length| {
            let descriptor = libc::accept4(
                listener.as_raw_fd(),
                storage.cast(),
                length,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            );
            if descriptor < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(descriptor)
            }
        })?
    };
    // SAFETY: `accept4` returned a new descriptor that nothing else owns.
    #[allow(unsafe_code)]
    let stream = unsafe { std::net::TcpStream::from_raw_fd(descriptor) };
    let remote = address.as_socket().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, "a peer without an IP address")
    })?;
    Ok((stream, remote))
}

/// Elsewhere: the standard library's accept, then non-blocking.
#[cfg(all(unix, not(target_os = "linux")))]
fn accept_bare(listener: &std::net::TcpListener) -> io::Result<(std::net::TcpStream, SocketAddr)> {
    let (stream, remote) = listener.accept()?;
    stream.set_nonblocking(true)?;
    Ok((stream, remote))
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    async fn listener() -> TcpListener {
        super::super::bind::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    async fn accept_one(bare: bool) -> (Accepted, std::net::TcpStream, bool) {
        let listener = listener().await;
        let addr = listener.local_addr().unwrap();
        let acceptor = Acceptor::new(listener, bare).unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();
        // The listener defers accepting until the client has spoken.
        std::io::Write::write_all(&mut &client, b"GET").unwrap();
        let (accepted, remote) = acceptor.accept().await.unwrap();
        assert_eq!(remote, client.local_addr().unwrap());
        (accepted, client, acceptor.sets_nodelay())
    }

    #[tokio::test]
    async fn a_bare_socket_is_non_blocking_without_delay_and_works_on_another_runtime() {
        let (accepted, mut client, _) = accept_one(true).await;
        let Accepted::Bare(stream) = accepted else {
            panic!("accepted bare");
        };
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY on");
        let mut byte = [0u8; 8];
        assert_eq!(
            (&stream).read(&mut byte).unwrap(),
            3,
            "what the client sent"
        );
        assert_eq!(
            (&stream).read(&mut byte).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "non-blocking"
        );
        // Another runtime takes it, as a worker does.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use tokio::io::AsyncWriteExt;
                let mut stream = Accepted::Bare(stream).into_registered().unwrap();
                stream.write_all(b"ok").await.unwrap();
            });
        })
        .join()
        .unwrap();
        std::io::Read::read_exact(&mut client, &mut byte[..2]).unwrap();
        assert_eq!(&byte[..2], b"ok");
    }

    #[tokio::test]
    async fn a_registered_socket_is_without_delay_too() {
        let (accepted, _client, _) = accept_one(false).await;
        let stream = accepted.into_registered().unwrap();
        assert!(stream.nodelay().unwrap(), "TCP_NODELAY on");
        let bare = Accepted::Registered(stream).into_bare().unwrap();
        assert!(bare.nodelay().unwrap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn on_linux_the_listener_passes_nodelay_on() {
        let (_, _, sets_nodelay) = accept_one(true).await;
        assert!(!sets_nodelay, "inherited from the listener");
    }

    use std::io::Read;
}
