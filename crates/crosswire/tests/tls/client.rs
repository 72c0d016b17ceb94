//! TLS test helpers: certificates made here with rcgen, a server started with
//! `[server.tls]` pointing at them, and real rustls clients (HTTP/1.1 and
//! HTTP/2 through hyper's client, WebSocket through tokio-tungstenite over
//! the TLS stream).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use crosswire::{App, Config};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

/// A self-signed certificate for `localhost` and its key, written to PEM
/// files in a directory of its own.
pub struct TestCert {
    pub dir: tempfile::TempDir,
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCert {
    pub fn new() -> Self {
        let made = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = Self {
            dir,
            der: made.cert.der().clone(),
            cert_pem: made.cert.pem(),
            key_pem: made.signing_key.serialize_pem(),
        };
        std::fs::write(cert.cert_path(), &cert.cert_pem).unwrap();
        std::fs::write(cert.key_path(), &cert.key_pem).unwrap();
        cert
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// Puts `other`'s certificate and key in this one's files.
    pub fn overwrite_with(&self, other: &TestCert) {
        std::fs::write(self.cert_path(), &other.cert_pem).unwrap();
        std::fs::write(self.key_path(), &other.key_pem).unwrap();
    }
}

/// A config serving TLS with `cert` and `key` on one worker, plus `extra`
/// TOML lines for `[server.tls]`.
pub fn tls_config(cert: &Path, key: &Path, extra: &str) -> Config {
    tls_config_with(cert, key, "workers = 1\n", extra)
}

/// A config serving TLS with `cert` and `key`, with `server` lines for
/// `[server]` and `tls` lines for `[server.tls]`.
pub fn tls_config_with(cert: &Path, key: &Path, server: &str, tls: &str) -> Config {
    let text = format!(
        "[server]\n{server}[server.tls]\ncert = {:?}\nkey = {:?}\n{tls}",
        cert.display().to_string(),
        key.display().to_string(),
    );
    Config::from_toml(&text, "test.toml").unwrap()
}

/// An app whose config serves TLS with `cert` (one worker).
pub fn tls_app(cert: &TestCert) -> App {
    App::with_config(tls_config(&cert.cert_path(), &cert.key_path(), ""))
}

/// A client that trusts exactly `certs`.
pub fn connector(certs: &[&TestCert], alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert.der.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

/// A finished TLS handshake with the server, as `localhost`.
pub async fn tls_connect(
    server: &TestServer,
    certs: &[&TestCert],
    alpn: &[&[u8]],
) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(PATIENCE, connector(certs, alpn).connect(name, tcp))
        .await
        .expect("TLS handshake timed out")
        .unwrap()
}

/// The certificate the server presented on `stream`.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// An HTTP/1.1 client connection over TLS.
pub async fn https1(
    server: &TestServer,
    cert: &TestCert,
) -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let stream = tls_connect(server, &[cert], &[b"http/1.1"]).await;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// An HTTP/2 client connection over TLS (ALPN `h2` only).
pub async fn https2(
    server: &TestServer,
    cert: &TestCert,
) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let stream = tls_connect(server, &[cert], &[b"h2"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// A GET request for `path` on `localhost`.
pub fn request(path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(path)
        .header(http::header::HOST, "localhost")
        .body(Empty::new())
        .unwrap()
}

/// A GET request for `path` with an absolute URI, as HTTP/2 wants it.
pub fn request2(path: &str) -> http::Request<Empty<Bytes>> {
    http::Request::get(format!("https://localhost{path}"))
        .body(Empty::new())
        .unwrap()
}

/// The whole body of `response`, as text.
pub async fn body_text(response: http::Response<Incoming>) -> String {
    let body = tokio::time::timeout(PATIENCE, response.into_body().collect())
        .await
        .expect("body not received in time")
        .unwrap()
        .to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// Reads an event-stream body until it holds `count` `data:` lines; returns
/// their values.
pub async fn next_data_lines(body: &mut Incoming, seen: &mut String, count: usize) -> Vec<String> {
    loop {
        let data: Vec<String> = seen
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(str::to_owned)
            .collect();
        if data.len() >= count {
            return data;
        }
        let frame = tokio::time::timeout(PATIENCE, body.frame())
            .await
            .expect("no event in time")
            .expect("event stream ended")
            .unwrap();
        if let Ok(chunk) = frame.into_data() {
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

pub type WssClient = WebSocketStream<TlsStream<TcpStream>>;

/// A WebSocket client over TLS (`wss://`), on its own HTTP/1.1 connection.
pub async fn wss_connect(server: &TestServer, cert: &TestCert, path: &str) -> WssClient {
    let stream = tls_connect(server, &[cert], &[b"http/1.1"]).await;
    let url = format!("wss://localhost:{}{path}", server.addr.port());
    let (client, _response) =
        tokio::time::timeout(PATIENCE, tokio_tungstenite::client_async(url, stream))
            .await
            .expect("WebSocket handshake timed out")
            .unwrap();
    client
}

pub async fn wss_send(client: &mut WssClient, text: &str) {
    client.send(WsMessage::text(text)).await.unwrap();
}

/// The next text message (pings and pongs skipped).
pub async fn wss_next_text(client: &mut WssClient) -> String {
    loop {
        let message = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("no message in time")
            .expect("stream ended")
            .expect("read error");
        match message {
            WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            WsMessage::Text(text) => return text.to_string(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}
