//! The fixture mounted in an axum app: `axum::serve` on each loopback
//! address, with Crosswire's shutdown in its graceful shutdown.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use crosswire::{Config, Crosswire};

/// Serves the mounted fixture on `127.0.0.1:port` and, where the machine
/// has IPv6, `[::1]:port`, until Ctrl-C or SIGTERM.
pub async fn serve(config: Config, port: u16) -> ExitCode {
    let crosswire = match Crosswire::new(config) {
        Ok(crosswire) => crosswire,
        Err(error) => {
            eprintln!("crossws-fixture: {error}");
            return ExitCode::from(2);
        }
    };
    let mut listeners = Vec::new();
    for addr in [
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    ] {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => listeners.push(listener),
            // A machine without IPv6 still gets the IPv4 listener.
            Err(error) if addr.is_ipv6() => {
                eprintln!("crossws-fixture: no IPv6 listener: {error}");
            }
            Err(error) => {
                eprintln!("crossws-fixture: cannot listen on {addr}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let addrs: Vec<_> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect();
    eprintln!("crossws-fixture: listening on {addrs:?}, mounted in axum::serve");
    // Both servers stop on the same signal; Crosswire drains once.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut servers = Vec::new();
    for listener in listeners {
        let app =
            crossws_fixture::router(&crosswire).into_make_service_with_connect_info::<SocketAddr>();
        let mut stopped = stopped.clone();
        servers.push(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        }));
    }
    crosswire::shutdown_signal().await;
    crosswire.shutdown().await;
    let _ = stop.send(true);
    let mut code = ExitCode::SUCCESS;
    for server in servers {
        if !matches!(server.await, Ok(Ok(()))) {
            code = ExitCode::FAILURE;
        }
    }
    code
}
