//! The byte stream under an upgraded connection: plain TCP, TLS, or
//! whatever another server upgraded (mounted mode).
//!
//! Plain TCP is the fast path and stays as it was: the reader and the writer
//! half share one `TcpStream` through an `Arc` and use readiness with
//! `try_read` / `try_write_vectored` on `&TcpStream`, so the reader holds no
//! buffer while idle and the writer corks many frames into one `writev`.
//!
//! A TLS stream has one state machine for both directions and cannot be used
//! through `&`: it is split into halves (`tokio::io::split`, which takes a
//! short lock only inside each poll, never across an await). The read half
//! decrypts into a stack chunk first, so an idle TLS connection holds no read
//! buffer of ours either. Each half is an enum, so the choice costs one
//! match per read or per batch written.
//!
//! Mounted in someone else's axum server, the connection comes back from
//! `hyper::upgrade::on` as hyper's opaque `Upgraded` (axum's `serve` wraps
//! the socket in a type of its own, so it cannot be taken back as a
//! `TcpStream`). It goes the way TLS does: split into halves, read through a
//! stack chunk, written with vectored writes and flushed once per batch.
//! That costs a boxed stream (a virtual call per read and write) and the
//! split's short lock per poll, where the plain TCP path has neither.

use std::sync::Arc;

use tokio::net::TcpStream;

/// An upgraded connection's stream, as hyper hands it back.
pub(crate) enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP.
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream>),
    /// Upgraded by another server (mounted mode).
    Upgraded(Box<UpgradedStream>),
}

/// A connection another server's hyper upgraded, as a tokio stream.
pub(crate) type UpgradedStream = hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>;

/// The server side of a TLS connection (its socket's write limit is turned
/// off once upgraded: see `server/bounded_writes.rs`).
#[cfg(feature = "tls")]
pub(crate) type TlsStream =
    tokio_rustls::server::TlsStream<crate::server::bounded_writes::BoundedWrites<TcpStream>>;

/// What the reader reads from.
pub(crate) enum ReadSide {
    Tcp(Arc<TcpStream>),
    #[cfg(feature = "tls")]
    Tls(tokio::io::ReadHalf<TlsStream>),
    Upgraded(tokio::io::ReadHalf<UpgradedStream>),
}

/// What the writer writes to.
pub(crate) enum WriteSide {
    Tcp(Arc<TcpStream>),
    #[cfg(feature = "tls")]
    Tls(tokio::io::WriteHalf<TlsStream>),
    Upgraded(tokio::io::WriteHalf<UpgradedStream>),
}

impl Transport {
    /// One side for the reader, one for the writer.
    pub(crate) fn split(self) -> (ReadSide, WriteSide) {
        match self {
            Self::Tcp(stream) => {
                let stream = Arc::new(stream);
                (ReadSide::Tcp(Arc::clone(&stream)), WriteSide::Tcp(stream))
            }
            #[cfg(feature = "tls")]
            Self::Tls(stream) => {
                let (read, write) = tokio::io::split(*stream);
                (ReadSide::Tls(read), WriteSide::Tls(write))
            }
            Self::Upgraded(stream) => {
                let (read, write) = tokio::io::split(*stream);
                (ReadSide::Upgraded(read), WriteSide::Upgraded(write))
            }
        }
    }
}

/// The socket of a plain TCP connection, taken back from its two sides;
/// the sides as they were if they are not that, or another handle to the
/// socket is still out.
pub(crate) fn rejoin(read: ReadSide, write: WriteSide) -> Result<TcpStream, (ReadSide, WriteSide)> {
    match (read, write) {
        (ReadSide::Tcp(read), WriteSide::Tcp(write)) => {
            drop(write);
            Arc::try_unwrap(read).map_err(|read| {
                let write = WriteSide::Tcp(Arc::clone(&read));
                (ReadSide::Tcp(read), write)
            })
        }
        sides => Err(sides),
    }
}
