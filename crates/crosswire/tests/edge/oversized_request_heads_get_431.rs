use axum::routing::get;
use crosswire::prelude::*;

use crate::support::*;

fn app(max_header_bytes: usize) -> App {
    let mut config = Config::default();
    config.server.max_header_bytes = max_header_bytes;
    App::with_config(config)
        .route("/", get(|| async { "ok" }))
        .websocket("/ws", hooks())
}

fn request_with(headers: &str) -> String {
    format!("GET / HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n")
}

async fn assert_still_serving(server: &TestServer) {
    let response = raw_http(server.addr, &request_with("")).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn a_head_over_max_header_bytes_gets_431() {
    let server = start(app(16 << 10)).await;
    // Just under the limit is served.
    let fits = format!("X-Pad: {}\r\n", "a".repeat(15 << 10));
    let response = raw_http(server.addr, &request_with(&fits)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    for size in [17 << 10, 64 << 10] {
        let over = format!("X-Pad: {}\r\n", "a".repeat(size));
        let response = raw_http(server.addr, &request_with(&over)).await;
        assert!(response.starts_with("HTTP/1.1 431"), "{size}: {response}");
        assert_still_serving(&server).await;
    }
    // Upgrades have the same limit.
    let over = format!("X-Pad: {}\r\n", "a".repeat(17 << 10));
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/ws", &over)).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
}

#[tokio::test]
async fn the_limit_follows_the_setting() {
    let server = start(app(64 << 10)).await;
    let over_default = format!("X-Pad: {}\r\n", "a".repeat(32 << 10));
    let response = raw_http(server.addr, &request_with(&over_default)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn more_than_100_header_fields_get_431() {
    let server = start(app(16 << 10)).await;
    // The request line's Host and Connection make two of them.
    let fields = |n: usize| (0..n).map(|i| format!("X-F{i}: v\r\n")).collect::<String>();
    let response = raw_http(server.addr, &request_with(&fields(98))).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let response = raw_http(server.addr, &request_with(&fields(99))).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    assert_still_serving(&server).await;
}
