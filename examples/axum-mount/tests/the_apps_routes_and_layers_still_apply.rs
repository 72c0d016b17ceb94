//! Mounting Crosswire leaves the app what it was: its REST routes answer,
//! its CORS and outer middleware layers see every request (upgrades
//! included), and a `Router::oneshot` test still sees the WebSocket route.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use crosswire::prelude::*;
use http::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;

use support::*;

#[tokio::test]
async fn the_rest_api_answers_with_cors_headers() {
    let (addr, _crosswire) = serve().await;
    let answer = http(
        addr,
        "POST /api/todos HTTP/1.1\r\nContent-Type: application/json\r\nOrigin: http://elsewhere.example",
        r#"{"title":"mount crosswire"}"#,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = http(
        addr,
        "GET /api/todos HTTP/1.1\r\nOrigin: http://elsewhere.example",
        "",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("access-control-allow-origin: *"),
        "{answer}"
    );
    assert!(
        answer.ends_with(r#"[{"title":"mount crosswire"}]"#),
        "{answer}"
    );

    let health = http(addr, "GET /api/health HTTP/1.1", "").await;
    assert!(health.ends_with(r#"{"status":"ok","peers":0}"#), "{health}");
}

#[tokio::test]
async fn cors_headers_are_on_accepted_and_refused_upgrades() {
    let (addr, _crosswire) = serve().await;

    // Same origin as the page: accepted, and the CORS layer saw the request.
    let mut request = format!("ws://{addr}/api/ws/chat")
        .into_client_request()
        .unwrap();
    let origin = format!("http://{addr}");
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    let (_client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");

    // Another site's page: refused before any hook, as under `App`, and the
    // refusal carries the CORS layer's headers too.
    let mut request = format!("ws://{addr}/api/ws/chat")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[tokio::test]
async fn an_outer_middleware_sees_the_upgrade_request() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&seen);
    let (addr, _crosswire) = serve_with(Config::default(), move |crosswire| {
        axum_mount::app(crosswire).layer(middleware::from_fn(
            move |request: Request, next: Next| {
                let record = Arc::clone(&record);
                async move {
                    let upgrade = request
                        .headers()
                        .get("upgrade")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    record
                        .lock()
                        .unwrap()
                        .push(format!("{} {upgrade}", request.uri().path()));
                    let mut response: Response = next.run(request).await;
                    response
                        .headers_mut()
                        .insert("x-outer", "seen".parse().unwrap());
                    response
                }
            },
        ))
    })
    .await;
    let (_client, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/api/ws/chat"))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-outer"], "seen");
    assert_eq!(*seen.lock().unwrap(), ["/api/ws/chat websocket"]);
}

#[tokio::test]
async fn oneshot_sees_the_websocket_route_and_gets_what_app_answers() {
    let crosswire = Crosswire::new(Config::default()).unwrap();
    let router = axum_mount::app(&crosswire);
    let response = router
        .clone()
        .oneshot(Request::get("/api/ws/chat").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let upgrade = response.headers()["upgrade"].clone();
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();

    // The same route under `App`, over a real socket.
    let server = App::new()
        .websocket("/api/ws/chat", hooks())
        .listen_on("127.0.0.1:0")
        .await
        .unwrap();
    let app_addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    let answer = http(app_addr, "GET /api/ws/chat HTTP/1.1", "").await;

    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(upgrade, "websocket");
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(
        answer.ends_with(std::str::from_utf8(&body).unwrap()),
        "App: {answer:?}, mounted: {body:?}"
    );

    // The REST route, too.
    let health = router
        .oneshot(Request::get("/api/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
