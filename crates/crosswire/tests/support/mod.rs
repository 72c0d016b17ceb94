//! Shared helpers: start a server on port 0, connect clients, read frames
//! with a deadline, speak raw HTTP.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use crosswire::{App, ServerHandle};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// A running server; dropping it stops the server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Starts `app` on a free loopback port.
pub async fn start(app: App) -> TestServer {
    init_tracing();
    let server = app.listen_on("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run_until(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        addr,
        handle,
        stop: Some(stop),
        task: Some(task),
    }
}

pub async fn connect(server: &TestServer, path: &str) -> Client {
    let (client, _response) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(server.url(path)))
            .await
            .expect("connect timed out")
            .unwrap();
    client
}

/// The next data or close message (pings and pongs are skipped).
pub async fn next(client: &mut Client) -> WsMessage {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("no message in time")
            .expect("stream ended")
            .expect("read error");
        match message {
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            other => return other,
        }
    }
}

pub async fn next_text(client: &mut Client) -> String {
    match next(client).await {
        WsMessage::Text(text) => text.to_string(),
        other => panic!("expected text, got {other:?}"),
    }
}

pub async fn next_json(client: &mut Client) -> serde_json::Value {
    serde_json::from_str(&next_text(client).await).unwrap()
}

/// Reads until the server's close frame and returns it.
pub async fn next_close(client: &mut Client) -> Option<CloseFrame> {
    loop {
        match next(client).await {
            WsMessage::Close(frame) => return frame,
            _ => continue,
        }
    }
}

/// Asserts nothing but pings arrives within `wait`.
pub async fn assert_silent(client: &mut Client, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, client.next()).await {
            Err(_) => return,
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }
}

pub async fn send_text(client: &mut Client, text: &str) {
    client.send(WsMessage::text(text)).await.unwrap();
}

/// Sends a raw HTTP request and returns the whole response (headers and body)
/// as text, reading until the server closes, or pauses for half a second
/// once it has started answering (the first byte may take `PATIENCE`).
pub async fn raw_http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // The answer may be slow to start on a busy machine (a hook that
        // panics has its backtrace printed first); once it has started, a
        // pause ends it.
        let wait = if response.is_empty() {
            PATIENCE
        } else {
            Duration::from_millis(500)
        };
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => response.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

/// A valid upgrade request for `path`, with extra header lines.
pub fn upgrade_request(addr: SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Opens a raw upgraded connection and returns the socket after the 101.
pub async fn raw_upgrade(addr: SocketAddr, path: &str) -> TcpStream {
    raw_upgrade_with(addr, path, "").await.0
}

/// Opens a raw upgraded connection with `extra` header lines (each ending in
/// `\r\n`) and returns the socket after the 101, and the response head.
pub async fn raw_upgrade_with(addr: SocketAddr, path: &str, extra: &str) -> (TcpStream, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    upgrade_stream(stream, addr, path, extra).await
}

/// Upgrades an already connected `stream` (a socket set up by the test).
pub async fn upgrade_stream(
    stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    extra: &str,
) -> (TcpStream, String) {
    let (stream, head) = upgrade_answer(stream, addr, path, extra).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    (stream, head)
}

/// Sends an upgrade request on `stream` and returns the answer's head,
/// whatever its status.
pub async fn upgrade_answer(
    mut stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    extra: &str,
) -> (TcpStream, String) {
    stream
        .write_all(upgrade_request(addr, path, extra).as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

/// An app whose `/` route echoes every message.
pub fn echo_app(config: crosswire::config::Config) -> App {
    use crosswire::prelude::*;
    App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

/// Checks that a new client of `server`'s echo route is served.
pub async fn assert_serves(server: &TestServer) {
    let mut client = connect(server, "/").await;
    send_text(&mut client, "next").await;
    assert_eq!(next_text(&mut client).await, "next");
}

/// A masked client frame.
pub fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![first_byte];
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= 0xffff {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads server frames from a raw socket until a close frame; returns its code
/// (None for an empty close payload), or panics if the socket ends first.
pub async fn raw_read_close(stream: &mut TcpStream) -> Option<u16> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Parse complete frames from the front of `data`.
        while data.len() >= 2 {
            let opcode = data[0] & 0x0f;
            let (len, header) = match data[1] & 0x7f {
                126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as usize, 4),
                127 if data.len() >= 10 => (
                    u64::from_be_bytes(data[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                126 | 127 => break,
                n => (n as usize, 2),
            };
            if data.len() < header + len {
                break;
            }
            if opcode == 0x8 {
                let payload = &data[header..header + len];
                return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
            }
            data.drain(..header + len);
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("no close frame in time")
            .unwrap();
        assert!(n > 0, "connection ended without a close frame");
        data.extend_from_slice(&buf[..n]);
    }
}
