use axum::routing::get;
use crosswire::prelude::*;

use crate::support::*;

fn app() -> App {
    App::new()
        .websocket("/ws", hooks())
        .websocket(
            "/both",
            hooks().open(|peer: Peer| async move { peer.send("ws") }),
        )
        .route("/both", get(|| async { "http" }))
}

#[tokio::test]
async fn a_bad_key_is_400() {
    let server = start(app()).await;
    let request = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let response = raw_http(server.addr, request).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("Sec-WebSocket-Key"), "{response}");
}

#[tokio::test]
async fn a_missing_connection_upgrade_is_400() {
    let server = start(app()).await;
    let request = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let response = raw_http(server.addr, request).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
}

#[tokio::test]
async fn a_wrong_version_is_426_with_the_supported_version() {
    let server = start(app()).await;
    let request = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    let response = raw_http(server.addr, request).await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{response}"
    );
}

#[tokio::test]
async fn a_non_get_upgrade_is_405() {
    let server = start(app()).await;
    let request = "POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                   Content-Length: 0\r\n\r\n";
    let response = raw_http(server.addr, request).await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
}

#[tokio::test]
async fn an_upgrade_to_a_path_without_a_handler_is_404() {
    let server = start(app()).await;
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/nothing", "")).await;
    assert!(response.starts_with("HTTP/1.1 404"), "{response}");
}

#[tokio::test]
async fn plain_http_on_a_websocket_only_path_is_426() {
    let server = start(app()).await;
    let response = raw_http(
        server.addr,
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("upgrade: websocket"),
        "{response}"
    );
}

#[tokio::test]
async fn a_path_with_both_sends_upgrades_to_hooks_and_requests_to_http() {
    let server = start(app()).await;
    let response = raw_http(
        server.addr,
        "GET /both HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("http"), "{response}");
    let mut client = connect(&server, "/both").await;
    assert_eq!(next_text(&mut client).await, "ws");
}

#[tokio::test]
async fn route_parameters_reach_the_hooks() {
    let handler = hooks().open(|peer: Peer| async move {
        peer.send(format!("room {}", peer.param("room").unwrap_or("?")));
    });
    let server = start(App::new().websocket("/rooms/{room}", handler)).await;
    let mut client = connect(&server, "/rooms/blue").await;
    assert_eq!(next_text(&mut client).await, "room blue");
}

#[tokio::test]
async fn route_parameters_come_as_sent_and_decoded() {
    let handler = hooks().open(|peer: Peer| async move {
        let raw = peer.param("room").unwrap_or("?").to_owned();
        let decoded = peer.param_decoded("room").unwrap_or_default().into_owned();
        peer.send(format!("{raw} {decoded}"));
    });
    let server = start(App::new().websocket("/rooms/{room}", handler)).await;
    let mut client = connect(&server, "/rooms/caf%C3%A9%20bar").await;
    assert_eq!(next_text(&mut client).await, "caf%C3%A9%20bar café bar");
    // Not UTF-8 once decoded: replaced, not refused.
    let mut client = connect(&server, "/rooms/a%FFb").await;
    assert_eq!(next_text(&mut client).await, "a%FFb a\u{fffd}b");
}
