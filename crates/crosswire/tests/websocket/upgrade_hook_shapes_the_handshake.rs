use axum::response::{IntoResponse, Response};
use crosswire::prelude::*;
use http::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

fn guarded() -> impl WebSocketHandler {
    hooks()
        .upgrade(|req: UpgradeRequest| async move {
            if req.query() == Some("unauthorized") {
                let mut response: Response = (
                    StatusCode::UNAUTHORIZED,
                    [
                        ("content-type", "text/plain;charset=UTF-8"),
                        ("x-error", "unauthorized"),
                        ("www-authenticate", "Bearer realm=\"crossws\""),
                    ],
                    "unauthorized",
                )
                    .into_response();
                response
                    .extensions_mut()
                    .insert(hyper::ext::ReasonPhrase::from_static(b"Go Away"));
                return Err(response);
            }
            if req.query() == Some("no-content") {
                return Err(StatusCode::NO_CONTENT.into_response());
            }
            if req.query() == Some("informational") {
                return Err(StatusCode::CONTINUE.into_response());
            }
            if req.query() == Some("panic") {
                panic!("upgrade hook exploded");
            }
            let mut accept = Accept::new()
                .header("x-powered-by", "cross-ws")
                .header("set-cookie", "cross-ws=1; SameSite=None; Secure");
            if req.protocols().iter().any(|p| p == "supported") {
                accept = accept.protocol("supported");
            } else if let Some(first) = req.protocols().first() {
                // Choosing a protocol the client did not offer is ignored.
                accept = accept.protocol(format!("{first}-not-offered"));
            }
            Ok(accept)
        })
        .open(|peer: Peer| async move {
            peer.send(peer.protocol().unwrap_or("none").to_owned());
        })
}

#[tokio::test]
async fn a_rejection_is_sent_exactly_as_the_hook_built_it() {
    let server = start(App::new().websocket("/", guarded())).await;
    let response = raw_http(
        server.addr,
        &upgrade_request(server.addr, "/?unauthorized", ""),
    )
    .await;
    assert!(
        response.starts_with("HTTP/1.1 401 Go Away\r\n"),
        "{response}"
    );
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: text/plain;charset=utf-8\r\n"),
        "{response}"
    );
    assert!(lower.contains("x-error: unauthorized\r\n"), "{response}");
    assert!(
        lower.contains("www-authenticate: bearer realm=\"crossws\"\r\n"),
        "{response}"
    );
    assert!(response.ends_with("\r\n\r\nunauthorized"), "{response}");
}

#[tokio::test]
async fn a_rejection_keeps_to_what_its_status_allows() {
    let server = start(App::new().websocket("/", guarded())).await;
    // No body and no length for a 204, as hyper would write it.
    let response = raw_http(
        server.addr,
        &upgrade_request(server.addr, "/?no-content", ""),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 204 "), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(!lower.contains("content-length"), "{response}");
    assert!(lower.contains("\r\ndate: "), "{response}");
    assert!(response.ends_with("\r\n\r\n"), "{response}");
    // An informational status refuses nothing: the server answers 500.
    let response = raw_http(
        server.addr,
        &upgrade_request(server.addr, "/?informational", ""),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
    assert_serves_guarded(&server).await;
}

/// A new client of `guarded()` is served: the server went on.
async fn assert_serves_guarded(server: &TestServer) {
    let mut client = connect(server, "/").await;
    assert_eq!(next_text(&mut client).await, "none");
}

#[tokio::test]
async fn accepted_upgrades_carry_the_hooks_headers_and_protocol() {
    let server = start(App::new().websocket("/", guarded())).await;
    let mut request = server.url("/").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "other, supported".parse().unwrap(),
    );
    let (mut client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["x-powered-by"], "cross-ws");
    assert_eq!(
        response.headers()["set-cookie"],
        "cross-ws=1; SameSite=None; Secure"
    );
    assert_eq!(response.headers()["sec-websocket-protocol"], "supported");
    assert_eq!(next_text(&mut client).await, "supported");
}

#[tokio::test]
async fn a_protocol_the_client_did_not_offer_is_never_selected() {
    let server = start(App::new().websocket("/", guarded())).await;
    let response = raw_http(
        server.addr,
        &upgrade_request(server.addr, "/", "Sec-WebSocket-Protocol: other\r\n"),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert!(
        !response
            .to_ascii_lowercase()
            .contains("sec-websocket-protocol"),
        "{response}"
    );
}

#[tokio::test]
async fn a_panicking_upgrade_hook_answers_500_and_the_server_goes_on() {
    let server = start(App::new().websocket("/", guarded())).await;
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/?panic", "")).await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    let mut client = connect(&server, "/").await;
    assert_eq!(next_text(&mut client).await, "none");
}

#[tokio::test]
async fn an_upgrade_hook_that_panics_before_its_future_answers_500() {
    let handler = hooks()
        .upgrade(|request: UpgradeRequest| {
            assert!(!request.url().contains("panic"), "hook bug");
            async { Ok(Accept::new()) }
        })
        .open(|peer: Peer| async move {
            peer.send("open");
        });
    let server = start(App::new().websocket("/", handler)).await;
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/?panic", "")).await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    let mut client = connect(&server, "/").await;
    assert_eq!(next_text(&mut client).await, "open");
}
