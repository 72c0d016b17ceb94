//! The proxy against a real app (a Crosswire server on a free port) and real
//! clients: HTTP, HTML injection, the WebSocket tunnel, the reload channel,
//! and requests held across a restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap as AxumHeaders;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{Message as WsMessage, http::HeaderValue as WsHeaderValue};

use super::{Channel, Proxy};
use crate::listen;
use crate::reload::Hub;
use crate::upstream::Upstream;

const PATIENCE: Duration = Duration::from_secs(10);
const RELOAD_PATH: &str = "/__crosswire/reload";

/// The app behind the proxy: a page, a request echo, an echo WebSocket that
/// closes with 1012 on "bye", and a socket of another tool on the reload
/// path (Vite's HMR protocol).
async fn start_app() -> SocketAddr {
    let echo = hooks().message(|peer: Peer, message: Message| async move {
        if message.text() == "bye" {
            let _ = peer.close(1012, "service restart");
        } else {
            peer.send(message.text().into_owned());
        }
    });
    let vite = hooks()
        .upgrade(|_request: UpgradeRequest| async move { Ok(Accept::new().protocol("vite-hmr")) })
        .open(|peer: Peer| async move { peer.send("from the app") });
    let app = App::new()
        .route(
            "/page",
            get(|| async { Html("<!doctype html><html><body><p>hi</p></body></html>") }),
        )
        .route(
            "/packed",
            get(|| async {
                (
                    [("content-type", "text/html"), ("content-encoding", "gzip")],
                    "not really gzip </body>",
                )
            }),
        )
        .route(
            "/who",
            get(|headers: AxumHeaders| async move {
                let value = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned()
                };
                format!(
                    "host={} xff={} enc={}",
                    value("host"),
                    value("x-forwarded-for"),
                    value("accept-encoding")
                )
                .into_response()
            }),
        )
        .websocket("/echo", echo)
        .websocket(RELOAD_PATH, vite);
    let server = app.listen_on("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending::<()>()));
    addr
}

struct Dev {
    addr: SocketAddr,
    hub: Arc<Hub>,
    upstream: watch::Sender<Upstream>,
}

/// A proxy on a free port, in front of whatever `upstream` says.
async fn start_proxy(initial: Upstream, hold: Duration, channel_port: Option<u16>) -> (Dev, Proxy) {
    let hub = Arc::new(Hub::new());
    let (upstream, rx) = watch::channel(initial);
    let channel = Channel {
        path: RELOAD_PATH.to_owned(),
        port: channel_port,
    };
    let proxy = Proxy::new(rx, Arc::clone(&hub), channel, hold);
    let (listener, addr) = listen::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(listen::serve(listener, proxy.clone()));
    (
        Dev {
            addr,
            hub,
            upstream,
        },
        proxy,
    )
}

/// A raw HTTP/1.1 GET; returns the whole response text.
async fn get_raw(addr: SocketAddr, path: &str, extra: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: app.test:3000\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("an answer in time")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

#[tokio::test]
async fn requests_reach_the_app_with_their_host_and_forwarded_for() {
    let app = start_app().await;
    let (dev, _) = start_proxy(Upstream::Ready(app), PATIENCE, None).await;
    let response = get_raw(dev.addr, "/who", "Accept-Encoding: gzip\r\n").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(body(&response), "host=app.test:3000 xff=127.0.0.1 enc=gzip");
}

#[tokio::test]
async fn pages_get_the_reload_script_and_other_bodies_do_not() {
    let app = start_app().await;
    let (dev, _) = start_proxy(Upstream::Ready(app), PATIENCE, None).await;
    let page = get_raw(
        dev.addr,
        "/page",
        "Accept: text/html\r\nAccept-Encoding: gzip\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let html = body(&page);
    assert!(
        html.starts_with("<!doctype html><html><body><p>hi</p><script data-crosswire-dev>"),
        "{html}"
    );
    assert!(html.ends_with("</script>\n</body></html>"), "{html}");
    assert!(
        html.contains(&format!(r#""id":"{}""#, dev.hub.build_id())),
        "{html}"
    );
    assert_eq!(
        header(&page, "content-length"),
        Some(html.len().to_string().as_str())
    );
    assert_eq!(header(&page, "cache-control"), Some("no-store"));

    let packed = get_raw(dev.addr, "/packed", "").await;
    assert_eq!(body(&packed), "not really gzip </body>");
    let text = get_raw(dev.addr, "/who", "").await;
    assert!(!text.contains("<script"), "{text}");
}

#[tokio::test]
async fn websocket_frames_and_close_codes_pass_through_the_tunnel() {
    let app = start_app().await;
    let (dev, _) = start_proxy(Upstream::Ready(app), PATIENCE, None).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/echo", dev.addr))
        .await
        .unwrap();
    socket.send(WsMessage::text("hello")).await.unwrap();
    let echo = tokio::time::timeout(PATIENCE, socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(echo, WsMessage::text("hello"));
    socket
        .send(WsMessage::binary(vec![0, 1, 2, 255]))
        .await
        .unwrap();
    socket.send(WsMessage::text("bye")).await.unwrap();
    let close = loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await.unwrap() {
            Some(Ok(WsMessage::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    let close = close.expect("a close code");
    assert_eq!(close.code, WsCloseCode::Restart);
    assert_eq!(close.reason, "service restart");
}

#[tokio::test]
async fn the_reload_channel_is_served_on_its_path_and_vite_hmr_goes_to_the_app() {
    let app = start_app().await;
    let (dev, _) = start_proxy(Upstream::Ready(app), PATIENCE, None).await;
    let url = format!("ws://{}{RELOAD_PATH}", dev.addr);

    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        WsHeaderValue::from_static("crosswire-reload"),
    );
    let (mut page, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "crosswire-reload"
    );
    let hello = next_json(&mut page).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["id"], dev.hub.build_id());
    dev.hub.error(
        crate::reload::Trouble::BuildFailed { serving: true },
        "error[E0308]: mismatched types",
    );
    assert_eq!(
        next_json(&mut page).await["message"],
        "error[E0308]: mismatched types"
    );
    dev.hub.reload();
    assert_eq!(next_json(&mut page).await["type"], "reload");

    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        WsHeaderValue::from_static("vite-hmr"),
    );
    let (mut vite, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "vite-hmr");
    let first = tokio::time::timeout(PATIENCE, vite.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, WsMessage::text("from the app"));
}

#[tokio::test]
async fn with_its_own_port_the_channel_leaves_the_app_port_to_the_app() {
    let app = start_app().await;
    let (hmr_listener, hmr_addr) = listen::bind("127.0.0.1:0").await.unwrap();
    let (dev, proxy) = start_proxy(Upstream::Ready(app), PATIENCE, Some(hmr_addr.port())).await;
    tokio::spawn(listen::serve(hmr_listener, proxy.reload_only()));

    let (mut page, _) = tokio_tungstenite::connect_async(format!("ws://{hmr_addr}{RELOAD_PATH}"))
        .await
        .unwrap();
    assert_eq!(next_json(&mut page).await["type"], "hello");
    // On the app's port, the same path is the app's.
    let (mut other, _) =
        tokio_tungstenite::connect_async(format!("ws://{}{RELOAD_PATH}", dev.addr))
            .await
            .unwrap();
    let first = tokio::time::timeout(PATIENCE, other.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, WsMessage::text("from the app"));
    // Pages learn the channel's port from their script.
    let html = get_raw(dev.addr, "/page", "Accept: text/html\r\n").await;
    assert!(
        html.contains(&format!(r#""port":{}"#, hmr_addr.port())),
        "{html}"
    );
    let stray = get_raw(hmr_addr, "/page", "").await;
    assert!(stray.starts_with("HTTP/1.1 404"), "{stray}");
}

#[tokio::test]
async fn a_request_during_a_restart_waits_for_the_new_app() {
    let (dev, _) = start_proxy(Upstream::Starting, PATIENCE, None).await;
    let request = tokio::spawn(get_raw(dev.addr, "/who", ""));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!request.is_finished(), "answered while no app was up");
    let app = start_app().await;
    dev.upstream.send_replace(Upstream::Ready(app));
    let response = request.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn a_refused_connection_waits_for_the_next_app() {
    // A port with nothing behind it: the old app just went away.
    let gone = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (dev, _) = start_proxy(Upstream::Ready(gone), PATIENCE, None).await;
    let request = tokio::spawn(get_raw(dev.addr, "/who", ""));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let app = start_app().await;
    dev.upstream.send_replace(Upstream::Ready(app));
    let response = request.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn the_wait_is_bounded_and_ends_in_a_503_that_says_why() {
    let (dev, _) = start_proxy(Upstream::Starting, Duration::from_millis(300), None).await;
    let response = get_raw(dev.addr, "/who", "").await;
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(
        body(&response).contains("still building or starting"),
        "{response}"
    );
    assert_eq!(header(&response, "retry-after"), Some("1"));

    dev.upstream
        .send_replace(Upstream::Down("the build failed".into()));
    let page = get_raw(dev.addr, "/", "Accept: text/html\r\n").await;
    assert!(page.starts_with("HTTP/1.1 503"), "{page}");
    assert!(page.contains("the build failed"), "{page}");
    assert!(page.contains("<script data-crosswire-dev>"), "{page}");
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(client: &mut Client) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .unwrap();
        if let WsMessage::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}
