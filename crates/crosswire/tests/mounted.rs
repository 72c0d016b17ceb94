//! Mounted mode ([`crosswire::Crosswire`] inside an axum app served by
//! `axum::serve`) over real sockets: what `App` guarantees holds there too.
//! One module per behaviour.

#![allow(clippy::unwrap_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "mounted/a_broker_joins_mounted_and_own_loop_nodes.rs"]
mod a_broker_joins_mounted_and_own_loop_nodes;
#[path = "mounted/idle_peers_are_pinged.rs"]
mod idle_peers_are_pinged;
#[path = "mounted/limits_and_refusals_match_app.rs"]
mod limits_and_refusals_match_app;
#[path = "mounted/metrics_count_mounted_upgrades.rs"]
mod metrics_count_mounted_upgrades;
#[path = "mounted/params_and_urls_reach_the_hooks.rs"]
mod params_and_urls_reach_the_hooks;
#[path = "mounted/shutdown_closes_peers_and_ends_streams.rs"]
mod shutdown_closes_peers_and_ends_streams;
#[path = "mounted/upgrades_and_plain_requests_share_a_path.rs"]
mod upgrades_and_plain_requests_share_a_path;

use std::net::SocketAddr;

use axum::Router;
use crosswire::{Config, Crosswire};

use support::{Client, PATIENCE};

/// Serves the router `app` builds on a free port with `axum::serve` (with
/// the client's address, as the docs recommend).
async fn mounted(
    config: Config,
    app: impl FnOnce(&Crosswire) -> Router,
) -> (SocketAddr, Crosswire) {
    let crosswire = Crosswire::new(config).unwrap();
    let addr = serve_router(app(&crosswire)).await;
    (addr, crosswire)
}

/// Serves `router` on a free port with `axum::serve`.
async fn serve_router(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

async fn connect(addr: SocketAddr, path: &str) -> Client {
    let url = format!("ws://{addr}{path}");
    tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap()
        .0
}
