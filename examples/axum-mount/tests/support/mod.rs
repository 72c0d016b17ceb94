//! Serving the example on a free port with `axum::serve`, as its `main` does,
//! and the clients the tests use.

// Each test file uses its own part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use crosswire::{Config, Crosswire};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const PATIENCE: Duration = Duration::from_secs(5);

/// Serves `app` (made from a fresh `Crosswire` with `config`) on a free port.
pub async fn serve_with(
    config: Config,
    app: impl FnOnce(&Crosswire) -> Router,
) -> (SocketAddr, Crosswire) {
    let crosswire = Crosswire::new(config).unwrap();
    let router = app(&crosswire);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, crosswire)
}

/// The example app as its `main` serves it.
pub async fn serve() -> (SocketAddr, Crosswire) {
    serve_with(Config::default(), axum_mount::app).await
}

pub async fn connect(addr: SocketAddr, path: &str) -> Client {
    let url = format!("ws://{addr}{path}");
    let (client, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap();
    client
}

/// The next text message, as JSON.
pub async fn next_json(client: &mut Client) -> Value {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("a message in time")
            .expect("the connection open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Reads until a message whose `"message"` field is `wanted`.
pub async fn until_message(client: &mut Client, wanted: &str) -> Value {
    loop {
        let value = next_json(client).await;
        if value["message"] == wanted {
            return value;
        }
    }
}

/// The peer id from the chat's welcome.
pub async fn welcome(client: &mut Client) -> String {
    let value = next_json(client).await;
    let text = value["message"].as_str().unwrap().to_owned();
    text.strip_prefix("Welcome ")
        .and_then(|rest| rest.strip_suffix('!'))
        .unwrap()
        .to_owned()
}

/// A plain HTTP/1.1 request over a fresh socket; the whole answer as text.
pub async fn http(addr: SocketAddr, head: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}
