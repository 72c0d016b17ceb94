//! The `101` response is held back until the `open` hook's first frames are
//! queued, and leaves with them: whatever the hook does, the client reads
//! the response first, complete, then the frames, in order, once each.

use std::time::Duration;

use axum::routing::get;
use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn app(config: Config) -> App {
    App::with_config(config)
        .websocket(
            "/welcome",
            hooks().open(|peer: Peer| async move {
                peer.send("welcome");
                peer.send("second");
            }),
        )
        .websocket(
            "/terminate",
            hooks().open(|peer: Peer| async move { peer.terminate() }),
        )
        .websocket(
            "/close",
            hooks().open(|peer: Peer| async move {
                let _ = peer.close(4000, "not today");
            }),
        )
        .websocket(
            "/flood",
            hooks().open(|peer: Peer| async move {
                for _ in 0..64 {
                    peer.send("x".repeat(1000));
                }
            }),
        )
        .websocket(
            "/large",
            hooks().open(|peer: Peer| async move { peer.send("y".repeat(20_000)) }),
        )
        .websocket(
            "/echo",
            hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
        )
        .route("/hello", get(|| async { "hello" }))
}

/// Everything the server sends until it closes the connection.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all))
        .await
        .expect("the server did not end the connection")
        .unwrap();
    all
}

/// An unmasked server text frame.
fn text_frame(text: &str) -> Vec<u8> {
    let mut frame = vec![0x81];
    match text.len() {
        len @ 0..=125 => frame.push(len as u8),
        len => {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// Reads exactly `len` more bytes.
async fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut bytes))
        .await
        .expect("not sent in time")
        .unwrap();
    bytes
}

#[tokio::test]
async fn the_open_hooks_frames_follow_the_101_in_order() {
    let server = start(app(Config::default())).await;
    let (mut stream, head) = raw_upgrade_with(server.addr, "/welcome", "").await;
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    let expected = [text_frame("welcome"), text_frame("second")].concat();
    assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);
    // And nothing else: the connection stays open and quiet.
    let mut more = [0u8; 1];
    let quiet = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut more)).await;
    assert!(
        quiet.is_err(),
        "unexpected bytes after the open hook's frames"
    );
}

#[tokio::test]
async fn a_peer_terminated_in_open_still_gets_its_101_then_the_end() {
    let server = start(app(Config::default())).await;
    let (mut stream, _) = raw_upgrade_with(server.addr, "/terminate", "").await;
    assert_eq!(
        read_to_end(&mut stream).await,
        b"",
        "no frame after the 101"
    );
    assert_serves_welcome(&server).await;
}

#[tokio::test]
async fn a_peer_closed_in_open_gets_its_101_then_the_close_frame() {
    let server = start(app(Config::default())).await;
    let (mut stream, _) = raw_upgrade_with(server.addr, "/close", "").await;
    assert_eq!(raw_read_close(&mut stream).await, Some(4000));
}

#[tokio::test]
async fn a_queue_overflowed_in_open_sends_the_101_then_1008() {
    let mut config = Config::default();
    config.websocket.send_queue_bytes = 16 * 1024;
    let server = start(app(config)).await;
    let (mut stream, _) = raw_upgrade_with(server.addr, "/flood", "").await;
    assert_eq!(raw_read_close(&mut stream).await, Some(1008));
    assert_serves_welcome(&server).await;
}

#[tokio::test]
async fn a_frame_larger_than_the_queue_limit_still_goes_out_from_open() {
    let mut config = Config::default();
    config.websocket.send_queue_bytes = 16 * 1024;
    let server = start(app(config)).await;
    let (mut stream, _) = raw_upgrade_with(server.addr, "/large", "").await;
    let expected = text_frame(&"y".repeat(20_000));
    assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);
}

#[tokio::test]
async fn a_request_pipelined_before_the_upgrade_is_answered_first() {
    let server = start(app(Config::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let both = format!(
        "GET /hello HTTP/1.1\r\nHost: {}\r\n\r\n{}",
        server.addr,
        upgrade_request(server.addr, "/welcome", "")
    );
    stream.write_all(both.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let expected_frames = [text_frame("welcome"), text_frame("second")].concat();
    let mut buf = [0u8; 4096];
    while !received.ends_with(&expected_frames) {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("not everything arrived")
            .unwrap();
        assert!(
            n > 0,
            "closed early: {}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&received);
    let ok = text.find("HTTP/1.1 200").expect("the first answer");
    let hello = text.find("\r\n\r\nhello").expect("its body");
    let switching = text.find("HTTP/1.1 101").expect("the upgrade");
    assert!(ok < hello && hello < switching, "{text}");
    // Everything before the frames is ASCII, so text and bytes line up.
    let head_end = switching + text[switching..].find("\r\n\r\n").unwrap() + 4;
    assert_eq!(
        &received[head_end..],
        &expected_frames[..],
        "the frames come right after the 101's head, once"
    );
}

/// Sends `bytes` in pieces of at most `piece` bytes, pausing between them.
async fn send_in_pieces(stream: &mut TcpStream, bytes: &[u8], piece: usize) {
    for chunk in bytes.chunks(piece) {
        stream.write_all(chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the response head, and checks it is a `101`.
async fn read_101(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut byte))
            .await
            .expect("no response head")
            .unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

#[tokio::test]
async fn a_head_that_arrives_in_pieces_or_is_long_is_upgraded_the_same_way() {
    let server = start(app(Config::default())).await;
    let cookie = format!("Cookie: session={}\r\n", "c".repeat(6000));
    for (extra, piece) in [("", 40), (cookie.as_str(), usize::MAX)] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = upgrade_request(server.addr, "/welcome", extra);
        send_in_pieces(&mut stream, request.as_bytes(), piece).await;
        read_101(&mut stream).await;
        let expected = [text_frame("welcome"), text_frame("second")].concat();
        assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);
    }
}

#[tokio::test]
async fn a_frame_sent_with_the_request_is_read_after_the_upgrade() {
    let server = start(app(Config::default())).await;
    // In the same write as the head, then with the head in pieces.
    for piece in [usize::MAX, 50] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let mut bytes = upgrade_request(server.addr, "/echo", "").into_bytes();
        bytes.extend_from_slice(&client_frame(0x81, b"early"));
        send_in_pieces(&mut stream, &bytes, piece).await;
        read_101(&mut stream).await;
        let expected = text_frame("early");
        assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);
    }
}

/// A new client of `/welcome` is served: the server went on.
async fn assert_serves_welcome(server: &TestServer) {
    let (mut stream, _) = raw_upgrade_with(server.addr, "/welcome", "").await;
    let expected = text_frame("welcome");
    assert_eq!(read_exactly(&mut stream, expected.len()).await, expected);
}
