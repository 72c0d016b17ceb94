//! The fixture's behaviour, item by item, over real sockets: the same
//! expectations crossws's own suite has of its demo server.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crosswire::Config;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(5);

async fn serve() -> SocketAddr {
    serve_with(Config::default()).await
}

/// Serves the fixture on a free port: mounted in an axum app served by
/// `axum::serve` when `CROSSWIRE_MOUNTED=1` (`scripts/test` runs the suite
/// both ways), else on Crosswire's own server.
async fn serve_with(config: Config) -> SocketAddr {
    if crossws_fixture::mounted() {
        return serve_mounted(config).await;
    }
    let server = crossws_fixture::app(config)
        .listen_on("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run_until(std::future::pending()));
    addr
}

async fn serve_mounted(config: Config) -> SocketAddr {
    let crosswire = crosswire::Crosswire::new(config).unwrap();
    let app = crossws_fixture::router(&crosswire);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

fn url(addr: SocketAddr, rest: &str) -> String {
    format!("ws://localhost:{}/{rest}", addr.port())
}

async fn connect_with(
    addr: SocketAddr,
    rest: &str,
    headers: &[(&str, &str)],
) -> (Client, http_head::Head) {
    let mut request = url(addr, rest).into_client_request().unwrap();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let (client, response) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .unwrap()
            .unwrap();
    let head = http_head::Head::from(&response);
    (client, head)
}

/// Performs the handshake by hand (with extra header lines) and returns a
/// client on the upgraded socket.
async fn raw_connect(addr: SocketAddr, rest: &str, extra: &str) -> Client {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /{rest} HTTP/1.1\r\nHost: localhost:{}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n",
        addr.port()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    WebSocketStream::from_raw_socket(
        MaybeTlsStream::Plain(stream),
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await
}

/// Connects and consumes the welcome message.
async fn connect(addr: SocketAddr) -> Client {
    let (mut client, _) = connect_with(addr, "", &[]).await;
    let welcome = next(&mut client).await;
    assert!(
        welcome
            .to_text()
            .unwrap()
            .starts_with("Welcome to the server ")
    );
    client
}

async fn next(client: &mut Client) -> Message {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("no message in time")
            .unwrap()
            .unwrap();
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

async fn next_text(client: &mut Client) -> String {
    next(client).await.into_text().unwrap().to_string()
}

async fn next_json(client: &mut Client) -> Value {
    serde_json::from_str(&next_text(client).await).unwrap()
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    response
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

mod http_head {
    use std::collections::HashMap;

    /// The status and lower-cased headers of the handshake response.
    pub struct Head {
        pub headers: HashMap<String, String>,
    }

    impl From<&tokio_tungstenite::tungstenite::handshake::client::Response> for Head {
        fn from(response: &tokio_tungstenite::tungstenite::handshake::client::Response) -> Self {
            Self {
                headers: response
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                    .collect(),
            }
        }
    }
}

#[tokio::test]
async fn http_index_answers_200() {
    let addr = serve().await;
    assert!(http_get(addr, "/").await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn welcome_names_the_peer_and_namespace() {
    let addr = serve().await;
    let (mut client, _) = connect_with(addr, "", &[]).await;
    let welcome = next_text(&mut client).await;
    let id = welcome
        .strip_prefix("Welcome to the server ")
        .and_then(|rest| rest.strip_suffix(" (namespace: /)!"))
        .unwrap_or_else(|| panic!("{welcome}"));
    assert_eq!(id.len(), 36);
}

#[tokio::test]
async fn ping_gets_pong() {
    let addr = serve().await;
    let mut client = connect(addr).await;
    client.send(Message::text("ping")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "pong");
}

#[tokio::test]
async fn messages_are_echoed_and_published_to_the_room() {
    let addr = serve().await;
    let mut one = connect(addr).await;
    let mut two = connect(addr).await;
    assert!(next_text(&mut one).await.ends_with(" joined!"));
    one.send(Message::text("hello from 1")).await.unwrap();
    assert_eq!(next_text(&mut one).await, "hello from 1");
    assert_eq!(next_text(&mut two).await, "hello from 1");
    two.send(Message::text("hello from 2")).await.unwrap();
    assert_eq!(next_text(&mut one).await, "hello from 2");
    assert_eq!(next_text(&mut two).await, "hello from 2");
}

#[tokio::test]
async fn binary_gets_a_binary_frame() {
    let addr = serve().await;
    let mut client = connect(addr).await;
    client.send(Message::binary(&b"binary"[..])).await.unwrap();
    assert_eq!(
        next(&mut client).await,
        Message::binary(&b"binary message works!"[..])
    );
}

#[tokio::test]
async fn upgrade_response_carries_the_fixture_headers() {
    let addr = serve().await;
    let (_client, head) = connect_with(addr, "", &[]).await;
    assert!(head.headers["connection"].eq_ignore_ascii_case("upgrade"));
    assert!(head.headers.contains_key("sec-websocket-accept"));
    assert_eq!(
        head.headers["set-cookie"],
        "cross-ws=1; SameSite=None; Secure"
    );
    assert_eq!(head.headers["x-powered-by"], "cross-ws");
}

#[tokio::test]
async fn supported_subprotocol_is_selected_and_others_are_not() {
    let addr = serve().await;
    let (_c, head) = connect_with(addr, "", &[("sec-websocket-protocol", "supported")]).await;
    assert_eq!(head.headers["sec-websocket-protocol"], "supported");
    // tungstenite fails a handshake that ignores its offer, so speak raw HTTP.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Protocol: unsupported\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 1024];
    let n = stream.read(&mut head).await.unwrap();
    let head = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("sec-websocket-protocol"), "{head}");
}

#[tokio::test]
async fn debug_reports_request_remote_address_and_context() {
    let addr = serve().await;
    let (mut client, _) = connect_with(addr, "?foo=bar", &[("x-test", "1")]).await;
    let _welcome = next(&mut client).await;
    client.send(Message::text("debug")).await.unwrap();
    let debug = next_json(&mut client).await;
    assert!(
        debug["request"]["headers"]["connection"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("upgrade")
    );
    assert_eq!(debug["request"]["headers"]["x-test"], "1");
    assert_eq!(
        debug["request"]["url"],
        format!("http://localhost:{}/?foo=bar", addr.port())
    );
    assert_eq!(debug["remoteAddress"], "127.0.0.1");
    assert_eq!(debug["context"], json!({ "test": "1" }));
    assert!(debug["bufferedAmount"].as_u64().is_some());
}

#[tokio::test]
async fn debug_reports_the_websocket_as_offered() {
    // The offer below includes permessage-deflate, which tokio-tungstenite
    // cannot speak: keep the server from accepting it.
    let mut config = Config::default();
    config.websocket.compression = crosswire::Compression::Off;
    let addr = serve_with(config).await;
    // Strict clients refuse a handshake that ignores their subprotocol
    // offer; browsers and undici do not, so speak the handshake by hand.
    let mut client = raw_connect(
        addr,
        "?foo=bar",
        "Sec-WebSocket-Protocol: crossws\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    )
    .await;
    let _welcome = next(&mut client).await;
    client.send(Message::text("debug")).await.unwrap();
    let websocket = next_json(&mut client).await["websocket"].clone();
    assert_eq!(websocket["readyState"], 1);
    assert_eq!(websocket["protocol"], "crossws");
    assert_eq!(
        websocket["extensions"],
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(websocket["url"], url(addr, "?foo=bar"));
}

#[tokio::test]
async fn wait_for_drain_answers_drained() {
    let addr = serve().await;
    let mut client = connect(addr).await;
    client.send(Message::text("waitForDrain")).await.unwrap();
    assert_eq!(next_text(&mut client).await, "drained");
}

#[tokio::test]
async fn unauthorized_upgrades_get_the_fixtures_401() {
    let addr = serve().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = "GET /?unauthorized HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0u8; 2048];
    let n = stream.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]).into_owned();
    assert!(
        response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{response}"
    );
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: text/plain;charset=utf-8"),
        "{response}"
    );
    assert!(lower.contains("x-error: unauthorized"), "{response}");
    assert!(
        lower.contains("www-authenticate: bearer realm=\"crossws\""),
        "{response}"
    );
    assert!(response.ends_with("unauthorized"), "{response}");
}

#[tokio::test]
async fn peers_are_listed_over_http_and_to_each_peer_in_one_order() {
    let addr = serve().await;
    let mut one = connect(addr).await;
    let mut two = connect(addr).await;
    let _joined = next(&mut one).await;
    let listed: Value = serde_json::from_str(body(&http_get(addr, "/peers").await)).unwrap();
    let listed = listed["peers"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    one.send(Message::text("peers")).await.unwrap();
    two.send(Message::text("peers")).await.unwrap();
    let from_one = next_json(&mut one).await["peers"].clone();
    let from_two = next_json(&mut two).await["peers"].clone();
    assert_eq!(from_one, from_two);
    let ids: Vec<String> = listed
        .iter()
        .map(|p| p.as_str().unwrap().strip_prefix("/:").unwrap().to_owned())
        .collect();
    assert_eq!(from_one, json!(ids));
}

#[tokio::test]
async fn publish_over_http_reaches_every_peer() {
    let addr = serve().await;
    let mut one = connect(addr).await;
    let mut two = connect(addr).await;
    let _joined = next(&mut one).await;
    let response = http_get(addr, "/publish?topic=chat&message=ping").await;
    assert_eq!(body(&response), "published");
    assert_eq!(next_text(&mut one).await, "ping");
    assert_eq!(next_text(&mut two).await, "ping");
}

#[tokio::test]
async fn the_binary_listens_on_ipv4_and_ipv6_loopback() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_crossws-fixture"))
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let v6_available = std::net::TcpListener::bind("[::1]:0").is_ok();
    let mut targets = vec![format!("127.0.0.1:{port}")];
    if v6_available {
        targets.push(format!("[::1]:{port}"));
    }
    for target in targets {
        let mut ok = false;
        for _ in 0..100 {
            if TcpStream::connect(&target).await.is_ok() {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ok, "nothing listening on {target}");
        let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://{target}/"))
            .await
            .unwrap();
        let _welcome = next(&mut client).await;
        client.send(Message::text("debug")).await.unwrap();
        let debug = next_json(&mut client).await;
        let expected = if target.starts_with('[') {
            "::1"
        } else {
            "127.0.0.1"
        };
        assert_eq!(debug["remoteAddress"], expected);
    }
    child.kill().await.unwrap();
}
