//! A TCP proxy in front of a broker server that can make the connections
//! it carries go silent without closing them: what a node sees when the
//! far end vanishes without a word (a host that died, a NAT or a load
//! balancer that dropped the connection). Connections made after that are
//! carried as usual.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct SilencingProxy {
    pub port: u16,
    /// Connections opened before this generation carry nothing more.
    generation: Arc<AtomicU64>,
    accept: JoinHandle<()>,
}

impl SilencingProxy {
    /// A proxy to `127.0.0.1:target`.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let generation = Arc::new(AtomicU64::new(0));
        let current = Arc::clone(&generation);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let born = current.load(Ordering::Acquire);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(carry(client_read, server_write, Arc::clone(&current), born));
                tokio::spawn(carry(server_read, client_write, Arc::clone(&current), born));
            }
        });
        Self {
            port,
            generation,
            accept,
        }
    }

    /// Every connection open now stops carrying bytes, both ways, and
    /// stays open.
    pub fn silence(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl Drop for SilencingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies `from` to `to` until either closes or the connection's
/// generation is over; then holds both open, reading and dropping, so the
/// far side sees no close and no error.
async fn carry(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    current: Arc<AtomicU64>,
    born: u64,
) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let read = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if current.load(Ordering::Acquire) != born {
            break;
        }
        if to.write_all(&buf[..read]).await.is_err() {
            return;
        }
    }
    // Silent: swallow whatever comes, keep `to` open.
    while let Ok(read) = from.read(&mut buf).await {
        if read == 0 {
            break;
        }
    }
    drop(to);
}
