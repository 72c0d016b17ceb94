//! Binding listening sockets with a production-sized accept backlog.
//!
//! `TcpListener::bind` uses a backlog of 128, the standard library's default.
//! When a few hundred clients connect at once (a reconnect storm after a
//! deploy, say) the kernel then drops SYNs and every dropped client waits a
//! full second to retry; measured here, 200 simultaneous connects fell from
//! ~5,000 to ~600 handshakes/s. The kernel caps the value at `somaxconn`.
//!
//! On Linux the listener also defers accepting a connection until its
//! client has sent something (`TCP_DEFER_ACCEPT`), as nginx's `deferred` and
//! uSockets do: HTTP and TLS clients speak first, so an accepted connection
//! then has its request (or ClientHello) waiting, and the server reads it in
//! the same turn instead of going back to sleep between the connection and
//! its first bytes. Measured with a Node client opening WebSockets 200 at a
//! time, that sleep was almost one context switch per handshake. A client
//! that connects and says nothing is accepted once the deferral runs out
//! (about a second, then a retransmitted SYN-ACK), and the header read
//! timeout applies from there.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Pending connections the kernel may hold before `accept`.
pub(crate) const BACKLOG: u32 = 4096;

/// Binds `addr` with address reuse and [`BACKLOG`].
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Restarting on the same port must not wait out TIME_WAIT sockets.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(BACKLOG)?;
    defer_accept(&listener);
    Ok(listener)
}

/// Seconds the kernel may hold a connection that has sent nothing yet.
#[cfg(target_os = "linux")]
const DEFER_ACCEPT_SECONDS: libc::c_int = 1;

/// Asks the kernel to accept connections once data arrives; see the module
/// docs. Best effort: a kernel that refuses still accepts as usual.
#[cfg(target_os = "linux")]
fn defer_accept(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    let seconds = DEFER_ACCEPT_SECONDS;
    // SAFETY: the descriptor is the listener's own and open for the whole
    // call; the option value is a `c_int` on the stack whose size is passed
    // along, as `setsockopt(2)` requires for `TCP_DEFER_ACCEPT`.
    #[allow(unsafe_code)]
    let result = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            std::ptr::from_ref(&seconds).cast(),
            std::mem::size_of_val(&seconds) as libc::socklen_t,
        )
    };
    if result != 0 {
        tracing::debug!(
            target: "crosswire::server",
            error = %io::Error::last_os_error(),
            "TCP_DEFER_ACCEPT not set: connections are accepted before their first bytes"
        );
    }
}

/// Other systems accept as usual.
#[cfg(not(target_os = "linux"))]
fn defer_accept(_listener: &TcpListener) {}

/// Resolves `addr` (`"127.0.0.1:3000"`, `"localhost:0"`) and binds the first
/// address that works.
pub(crate) async fn bind_str(addr: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(addr).await? {
        match bind(candidate) {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
    }))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_connection_is_accepted_once_its_client_has_sent_something() {
        let listener = super::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        // Connected for the client, but not handed to the server yet.
        let early = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(early.is_err(), "accepted before the client sent a byte");
        client.write_all(b"G").await.unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(5), listener.accept()).await;
        assert!(
            matches!(accepted, Ok(Ok(_))),
            "not accepted after the first byte"
        );
    }
}
