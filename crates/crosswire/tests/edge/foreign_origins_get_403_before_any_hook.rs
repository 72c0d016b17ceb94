use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use crosswire::prelude::*;
use tokio::io::AsyncReadExt;

use crate::client::*;
use crate::support::*;

/// An app whose hooks count how often they ran.
fn counted(config: Config, hooks_ran: &Arc<AtomicUsize>) -> App {
    let (upgrades, opens) = (Arc::clone(hooks_ran), Arc::clone(hooks_ran));
    App::with_config(config).websocket(
        "/ws",
        hooks()
            .upgrade(move |_request: UpgradeRequest| {
                upgrades.fetch_add(1, Ordering::SeqCst);
                async { Ok(Accept::new()) }
            })
            .open(move |peer: Peer| {
                opens.fetch_add(1, Ordering::SeqCst);
                async move { peer.send("hello") }
            }),
    )
}

async fn status_with_origin(server: &TestServer, origin: Option<&str>) -> String {
    let extra = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/ws", &extra)).await;
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn by_default_only_pages_of_this_host_and_non_browsers_connect() {
    let hooks_ran = Arc::new(AtomicUsize::new(0));
    let server = start(counted(Config::default(), &hooks_ran)).await;
    let port = server.addr.port();

    for foreign in [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}.evil.example"),
    ] {
        let status = status_with_origin(&server, Some(&foreign)).await;
        assert!(status.starts_with("HTTP/1.1 403"), "{foreign}: {status}");
    }
    assert_eq!(
        hooks_ran.load(Ordering::SeqCst),
        0,
        "a hook ran for a foreign origin"
    );

    let same = format!("http://127.0.0.1:{port}");
    let (mut raw, _) = raw_upgrade_with(server.addr, "/ws", &format!("Origin: {same}\r\n")).await;
    // The open hook's greeting arrives: the connection is served.
    let mut greeting = [0u8; 7];
    tokio::time::timeout(PATIENCE, raw.read_exact(&mut greeting))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&greeting[2..], b"hello");
    let mut client = connect(&server, "/ws").await; // no Origin: not a browser
    assert_eq!(next_text(&mut client).await, "hello");
    assert_eq!(hooks_ran.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_list_allows_its_origins_and_subdomains_of_a_wildcard_only() {
    let hooks_ran = Arc::new(AtomicUsize::new(0));
    let mut config = Config::default();
    config.websocket.allowed_origins = Some(vec![
        "https://example.com".to_owned(),
        "https://*.example.com".to_owned(),
    ]);
    let server = start(counted(config, &hooks_ran)).await;
    for allowed in [
        "https://example.com",
        "https://EXAMPLE.com:443",
        "https://app.example.com",
    ] {
        let status = status_with_origin(&server, Some(allowed)).await;
        assert!(status.starts_with("HTTP/1.1 101"), "{allowed}: {status}");
    }
    let ran = hooks_ran.load(Ordering::SeqCst);
    for refused in [
        "http://example.com",
        "https://evil-example.com",
        "https://example.com.evil.example",
        "https://example.com:8443",
        // The list replaces the same-host rule.
        &format!("http://{}", server.addr),
    ] {
        let status = status_with_origin(&server, Some(refused)).await;
        assert!(status.starts_with("HTTP/1.1 403"), "{refused}: {status}");
    }
    assert_eq!(hooks_ran.load(Ordering::SeqCst), ran);
}

#[tokio::test]
async fn a_star_allows_every_origin() {
    let hooks_ran = Arc::new(AtomicUsize::new(0));
    let mut config = Config::default();
    config.websocket.allowed_origins = Some(vec!["*".to_owned()]);
    let server = start(counted(config, &hooks_ran)).await;
    for origin in ["http://evil.example", "null"] {
        let status = status_with_origin(&server, Some(origin)).await;
        assert!(status.starts_with("HTTP/1.1 101"), "{origin}: {status}");
    }
}

#[tokio::test]
async fn the_upgrade_hook_still_decides_for_an_allowed_origin() {
    let handler = hooks().upgrade(|request: UpgradeRequest| async move {
        if request.header("authorization").is_some() {
            Ok(Accept::new())
        } else {
            Err((StatusCode::UNAUTHORIZED, "who are you?").into_response())
        }
    });
    let server = start(App::new().websocket("/ws", handler)).await;
    let origin = format!("Origin: http://{}\r\n", server.addr);
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/ws", &origin)).await;
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    let extra = format!("{origin}Authorization: Bearer x\r\n");
    raw_upgrade_with(server.addr, "/ws", &extra).await;
}

#[tokio::test]
async fn event_streams_check_origins_only_when_asked() {
    let (route, _streams) = stream_route(|stream| stream.push("tick"));
    let server = start(App::new().route("/events", route.clone())).await;
    let client = SseClient::get(server.addr, "/events", "Origin: http://evil.example\r\n").await;
    assert_eq!(client.status, 200, "no [sse] allowed_origins: no check");

    let mut config = Config::default();
    config.sse.allowed_origins = Some(vec!["https://example.com".to_owned()]);
    let server = start(App::with_config(config).route("/events", route)).await;
    let client = SseClient::get(server.addr, "/events", "Origin: http://evil.example\r\n").await;
    assert_eq!(client.status, 403);
    let mut client =
        SseClient::get(server.addr, "/events", "Origin: https://example.com\r\n").await;
    assert_eq!(client.status, 200);
    assert_eq!(client.next_data().await, "data: tick\n\n");
    let client = SseClient::get(server.addr, "/events", "").await;
    assert_eq!(client.status, 200, "no Origin: not a browser");

    // A request that does not say it wants a stream is refused once the
    // handler answers with one.
    let response = raw_http(
        server.addr,
        "GET /events HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
}
