//! A request that is not an upgrade goes to the HTTP route that matches it
//! when one matches at least as specifically as a WebSocket-only route; a
//! WebSocket route answers it `426` only when nothing of the app's HTTP side
//! (routes, merged routers, public files) serves it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use crosswire::prelude::*;

use crate::support::*;

fn status(response: &str) -> &str {
    response.get(9..12).unwrap_or(response)
}

#[tokio::test]
async fn a_static_http_route_beats_a_websocket_parameter() {
    let server = start(
        App::new()
            .websocket("/api/{name}", hooks())
            .route("/api/sse", get(|| async { "http" })),
    )
    .await;
    let response = raw_http(server.addr, "GET /api/sse HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "200", "{response}");
    assert!(response.ends_with("http"), "{response}");
    // Any other name is the WebSocket route's.
    let response = raw_http(server.addr, "GET /api/chat HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "426", "{response}");
    let mut client = connect(&server, "/api/chat").await;
    client.close(None).await.unwrap();
}

#[tokio::test]
async fn a_websocket_catch_all_leaves_public_files_and_merged_routers_alone() {
    let public = std::env::temp_dir().join(format!("crosswire-public-{}", std::process::id()));
    std::fs::create_dir_all(&public).unwrap();
    std::fs::write(public.join("page.html"), "<p>page</p>").unwrap();
    let merged = axum::Router::new().route("/merged", get(|| async { "merged" }));
    let server = start(
        App::new()
            .websocket("/{*rest}", hooks())
            .merge(merged)
            .public_dir(&public),
    )
    .await;
    let response = raw_http(server.addr, "GET /page.html HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "200", "{response}");
    assert!(response.ends_with("<p>page</p>"), "{response}");
    let response = raw_http(server.addr, "GET /merged HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "200", "{response}");
    let response = raw_http(server.addr, "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "426", "{response}");
    let mut client = connect(&server, "/page.html").await;
    client.close(None).await.unwrap();
    std::fs::remove_dir_all(&public).unwrap();
}

#[tokio::test]
async fn a_more_specific_websocket_route_answers_426_without_running_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let server = start(App::new().websocket("/rooms/{id}", hooks()).route(
        "/rooms/{*rest}",
        get(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async { "rooms" }
        }),
    ))
    .await;
    let response = raw_http(server.addr, "GET /rooms/a HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "426", "{response}");
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    let response = raw_http(server.addr, "GET /rooms/a/b HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status(&response), "200", "{response}");
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}
