//! The accept loop of the dev server's ports.
//!
//! Each connection is served by hyper's HTTP/1.1 server with upgrades on, so
//! a WebSocket request can be switched to a tunnel (or to the reload
//! channel) after its 101.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::proxy::Proxy;

/// Serves `listener` with `proxy` until the task is dropped (aborted).
/// Connections already accepted run on until they end.
pub(crate) async fn serve(listener: TcpListener, proxy: Proxy) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, typically: back off and retry.
                tracing::warn!(target: "crosswire::dev", %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = proxy.clone();
                async move { Ok::<_, std::convert::Infallible>(proxy.handle(request, remote).await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                tracing::debug!(target: "crosswire::dev", %error, %remote, "connection");
            }
        });
    }
}

/// Binds `addr`, saying what went wrong in terms of the setting to change.
pub(crate) async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr), crate::DevError> {
    let bind_error = |reason| crate::DevError::Bind {
        addr: addr.to_owned(),
        reason,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}
