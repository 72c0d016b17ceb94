//! The app's file routes over real sockets: methods, `index`, groups, dots,
//! priority (static, then parameter, then catch-all), parameters in hooks and
//! handlers (dashed names too), `.dev` / `.prod` files, WebSocket and HTTP on
//! one path, 426, 404 and 501.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crosswire::prelude::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

crosswire::include_routes!();

const PATIENCE: Duration = Duration::from_secs(5);

/// Serves the app's routes on a free port until the test ends.
async fn serve(config: Config) -> std::net::SocketAddr {
    let server = routes(App::with_config(config))
        .listen_on("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending::<()>()));
    addr
}

async fn start() -> std::net::SocketAddr {
    serve(Config::default()).await
}

/// Sends one HTTP/1.1 request and returns the status and the body.
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect(addr: std::net::SocketAddr, path: &str) -> Client {
    let (client, _) = tokio_tungstenite::connect_async(format!("ws://{addr}{path}"))
        .await
        .unwrap();
    client
}

async fn next_text(client: &mut Client) -> String {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("message in time")
            .expect("stream open")
            .unwrap();
        match message {
            WsMessage::Text(text) => return text.to_string(),
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn file_names_pick_paths_and_methods() {
    let addr = start().await;
    assert_eq!(http(addr, "GET", "/", "").await, (200, "index".into()));
    assert_eq!(http(addr, "GET", "/hello", "").await, (200, "hello".into()));
    assert_eq!(http(addr, "POST", "/hello", "").await.0, 405);
    assert_eq!(
        http(addr, "GET", "/rss.xml", "").await,
        (200, "<rss/>".into())
    );
    assert_eq!(
        http(addr, "GET", "/dashboard", "").await,
        (200, "dashboard".into())
    );
}

#[tokio::test]
async fn method_files_share_a_route_with_a_method_less_fallback() {
    let addr = start().await;
    assert_eq!(
        http(addr, "GET", "/items", "").await,
        (200, "list items".into())
    );
    assert_eq!(
        http(addr, "POST", "/items", "pen").await,
        (200, "created pen".into())
    );
    assert_eq!(
        http(addr, "DELETE", "/items", "").await,
        (200, "DELETE items".into())
    );
}

#[tokio::test]
async fn static_beats_parameter_beats_catch_all() {
    let addr = start().await;
    assert_eq!(http(addr, "GET", "/users/me", "").await, (200, "me".into()));
    assert_eq!(
        http(addr, "GET", "/users/42", "").await,
        (200, "user 42".into())
    );
    assert_eq!(
        http(addr, "GET", "/users/42/posts", "").await,
        (200, "users rest 42/posts".into())
    );
    assert_eq!(
        http(addr, "GET", "/files/docs/a.txt", "").await,
        (200, "file docs/a.txt".into())
    );
    assert_eq!(
        http(addr, "GET", "/nowhere/at/all", "").await,
        (404, "nothing at /nowhere/at/all".into())
    );
}

#[tokio::test]
async fn a_websocket_only_route_answers_plain_http_with_426() {
    let addr = start().await;
    assert_eq!(http(addr, "GET", "/ws/echo", "").await.0, 426);
    let mut client = connect(addr, "/ws/echo").await;
    client.send(WsMessage::text("echo me")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "echo me");
}

#[tokio::test]
async fn hooks_and_handler_share_a_path_and_read_its_parameter() {
    let addr = start().await;
    assert_eq!(
        http(addr, "GET", "/users/7", "").await,
        (200, "user 7".into())
    );

    let (mut client, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/users/7"))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-user"], "7");
    assert_eq!(next_text(&mut client).await, "hello user 7");
    client.send(WsMessage::text("hi")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "7: hi");
}

#[tokio::test]
async fn a_dashed_parameter_name_reaches_handler_and_hooks() {
    let addr = start().await;
    assert_eq!(
        http(addr, "GET", "/api/param/x1", "").await,
        (200, "test-id x1".into())
    );
    let mut client = connect(addr, "/api/param/x2").await;
    assert_eq!(next_text(&mut client).await, "test-id x2");
}

#[tokio::test]
async fn env_files_serve_only_in_their_environment() {
    let addr = start().await;
    // Tests run in a debug build unless `--release`; the dev server also
    // counts as dev.
    let dev = cfg!(debug_assertions) || crosswire::under_dev_server();
    if dev {
        assert_eq!(http(addr, "GET", "/env", "").await, (200, "dev".into()));
        assert_eq!(http(addr, "POST", "/env", "").await, (200, "dev".into()));
    } else {
        assert_eq!(http(addr, "GET", "/env", "").await, (200, "prod".into()));
        assert_eq!(http(addr, "POST", "/env", "").await.0, 405);
    }
    // Neither file is served under its literal name.
    for path in ["/env/index.dev", "/env/index.get.prod", "/env.dev"] {
        assert_eq!(http(addr, "GET", path, "").await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn room_parameters_scope_publishes() {
    let addr = start().await;
    let mut a1 = connect(addr, "/rooms/a").await;
    let mut a2 = connect(addr, "/rooms/a").await;
    let mut b = connect(addr, "/rooms/b").await;
    for client in [&mut a1, &mut a2, &mut b] {
        assert_eq!(next_text(client).await, "joined");
    }
    a1.send(WsMessage::text("in a")).await.unwrap();
    assert_eq!(next_text(&mut a2).await, "in a");
    b.send(WsMessage::text("in b")).await.unwrap();
    // Had a's message leaked into room b, it would arrive before this one.
    a2.send(WsMessage::text("a again")).await.unwrap();
    assert_eq!(next_text(&mut a1).await, "a again");
    let quiet = tokio::time::timeout(Duration::from_millis(200), b.next()).await;
    assert!(quiet.is_err(), "room b got {quiet:?}");
}

#[tokio::test]
async fn upgrades_to_a_path_without_hooks_get_404() {
    let addr = start().await;
    let error = tokio_tungstenite::connect_async(format!("ws://{addr}/hello"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
}

#[tokio::test]
async fn disabled_websockets_answer_501_naming_the_setting_and_http_still_works() {
    let config = Config::from_toml("[websocket]\nenabled = false\n", "crosswire.toml").unwrap();
    let addr = serve(config).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await
        .unwrap();
    let mut response = vec![0; 1024];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut response))
        .await
        .unwrap()
        .unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 501"), "{response}");
    assert!(
        response.contains("[websocket] enabled = false"),
        "{response}"
    );
    assert_eq!(http(addr, "GET", "/hello", "").await, (200, "hello".into()));
}
