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
