use axum::Router;
use axum::routing::get;
use crosswire::prelude::*;

use crate::support::*;
use crate::{connect, mounted};

#[tokio::test]
async fn upgrades_go_to_the_hooks_and_plain_requests_to_the_http_route() {
    let (addr, _crosswire) = mounted(Config::default(), |crosswire| {
        let greet = hooks().open(|peer: Peer| async move { peer.send("hooks") });
        Router::new().route(
            "/",
            crosswire.websocket_or(greet, get(|| async { "page" }).post(|| async { "posted" })),
        )
    })
    .await;
    let mut client = connect(addr, "/").await;
    assert_eq!(next_text(&mut client).await, "hooks");
    let page = raw_http(
        addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(
        page.starts_with("HTTP/1.1 200") && page.ends_with("page"),
        "{page}"
    );
    let posted = raw_http(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(posted.ends_with("posted"), "{posted}");
}

#[tokio::test]
async fn a_handler_with_state_still_gets_it() {
    let (addr, _crosswire) = mounted(Config::default(), |crosswire| {
        let greet = hooks().open(|peer: Peer| async move { peer.send("hooks") });
        Router::new()
            .route(
                "/",
                crosswire.websocket_or(
                    greet,
                    get(|axum::extract::State(name): axum::extract::State<&'static str>| async move { name }),
                ),
            )
            .with_state("from state")
    })
    .await;
    let page = raw_http(
        addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(page.ends_with("from state"), "{page}");
}

/// An upgrade request that reaches the route without a connection to take
/// over (`Router::oneshot`, no server) gets `426`, and no hook runs.
#[tokio::test]
async fn an_upgrade_with_no_connection_behind_it_is_426() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    let crosswire = Crosswire::new(Config::default()).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&ran);
    let hooks = hooks().upgrade(move |_request: UpgradeRequest| {
        flag.store(true, Ordering::SeqCst);
        async { Ok(Accept::new()) }
    });
    let app = Router::new().route("/ws", crosswire.websocket(hooks));
    let request = axum::http::Request::get("/ws")
        .header("host", "x")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 426);
    assert!(!ran.load(Ordering::SeqCst), "the upgrade hook ran");
}
