//! RFC 6455 section 4.2.1 lists what a handshake must hold, and 4.4 what to
//! answer a version the server does not speak. Each bad request below gets
//! its status, and a good client is served right after on the same server.
//!
//! - A key that is not 16 bytes in base64, or several keys: 400 (4.2.1
//!   item 5; with two keys, neither can be trusted).
//! - `Upgrade: websocket2`: not a WebSocket handshake at all, so the path
//!   answers as it answers plain HTTP: `426 Upgrade Required` with
//!   `Upgrade: websocket` on a WebSocket-only path (RFC 9110 15.5.22: the
//!   client may retry with the protocol the server names).
//! - HTTP/1.0: 400, since section 4.1 requires HTTP/1.1 or later; 426 would
//!   tell the client to upgrade to a protocol, which an HTTP version is not
//!   in the `Upgrade` sense a 1.0 client understands.
//! - `POST`: 405 with `Allow: GET` (4.1 requires GET; RFC 9110 15.5.6 says
//!   a 405 lists the allowed methods).
//! - `Sec-WebSocket-Version: 12`: 426 with `Sec-WebSocket-Version: 13`.

use crosswire::prelude::*;

use crate::support::*;

fn app() -> App {
    App::new().websocket(
        "/ws",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

const GOOD_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn handshake(request_line: &str, headers: &str) -> String {
    format!("{request_line}\r\nHost: x\r\n{headers}\r\n")
}

fn standard(upgrade: &str, keys: &[&str], version: &str) -> String {
    let keys: String = keys
        .iter()
        .map(|k| format!("Sec-WebSocket-Key: {k}\r\n"))
        .collect();
    format!(
        "Upgrade: {upgrade}\r\nConnection: Upgrade\r\n{keys}Sec-WebSocket-Version: {version}\r\n"
    )
}

async fn assert_serves(server: &TestServer) {
    let mut client = connect(server, "/ws").await;
    send_text(&mut client, "next").await;
    assert_eq!(next_text(&mut client).await, "next");
}

async fn answer(server: &TestServer, request: &str) -> String {
    let response = raw_http(server.addr, request).await;
    assert_serves(server).await;
    response
}

#[tokio::test]
async fn keys_that_are_not_one_16_byte_key_are_400() {
    let server = start(app()).await;
    let fifteen_bytes = "MTIzNDU2Nzg5MDEyMzQ1"; // base64 of 15 bytes
    let seventeen_bytes = "MTIzNDU2Nzg5MDEyMzQ1Njc=";
    for keys in [
        &[fifteen_bytes][..],
        &[seventeen_bytes],
        &["not base64 at all!!!!!=="],
        &[],
        &[GOOD_KEY, GOOD_KEY],
        &[GOOD_KEY, "AAAAAAAAAAAAAAAAAAAAAA=="],
    ] {
        let request = handshake("GET /ws HTTP/1.1", &standard("websocket", keys, "13"));
        let response = answer(&server, &request).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{keys:?}: {response}");
        assert!(response.contains("Sec-WebSocket-Key"), "{response}");
    }
}

#[tokio::test]
async fn another_upgrade_token_is_426_naming_websocket() {
    let server = start(app()).await;
    let request = handshake(
        "GET /ws HTTP/1.1",
        &standard("websocket2", &[GOOD_KEY], "13"),
    );
    let response = answer(&server, &request).await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("upgrade: websocket\r\n"),
        "{response}"
    );
}

#[tokio::test]
async fn http_1_0_is_400() {
    let server = start(app()).await;
    let request = handshake(
        "GET /ws HTTP/1.0",
        &standard("websocket", &[GOOD_KEY], "13"),
    );
    let response = answer(&server, &request).await;
    assert!(response.starts_with("HTTP/1.0 400"), "{response}");
    assert!(response.contains("HTTP/1.1"), "{response}");
}

#[tokio::test]
async fn post_is_405_allowing_get() {
    let server = start(app()).await;
    let headers = format!(
        "{}Content-Length: 0\r\n",
        standard("websocket", &[GOOD_KEY], "13")
    );
    let response = answer(&server, &handshake("POST /ws HTTP/1.1", &headers)).await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("allow: get\r\n"),
        "{response}"
    );
}

#[tokio::test]
async fn version_12_is_426_with_version_13() {
    let server = start(app()).await;
    let request = handshake(
        "GET /ws HTTP/1.1",
        &standard("websocket", &[GOOD_KEY], "12"),
    );
    let response = answer(&server, &request).await;
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13\r\n"),
        "{response}"
    );
}
