//! A client that floods the server is closed at the limit that bounds it,
//! with its close code, and the server goes on serving others: a message in
//! more than `max_fragments` frames (1009, even as a hundred thousand empty
//! continuations), more than `max_control_frames_per_second` pings (1008),
//! and more than `max_messages_per_second` messages (1008, or dropped and
//! counted under `on_message_rate = "drop_message"`).

use std::time::{Duration, Instant};

use crosswire::OverflowPolicy;
use crosswire::config::Config;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

const TEXT: u8 = 0x1;
const CONTINUATION: u8 = 0x0;
const PING: u8 = 0x9;
const FIN: u8 = 0x80;

#[tokio::test]
async fn a_message_in_too_many_frames_closes_1009() {
    let server = start(echo_app(Config::default())).await;
    // At the limit: 1 024 frames make one message.
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut bytes = client_frame(TEXT, b"a");
    for _ in 0..1022 {
        bytes.extend(client_frame(CONTINUATION, b""));
    }
    bytes.extend(client_frame(FIN | CONTINUATION, b"z"));
    raw.write_all(&bytes).await.unwrap();
    raw.write_all(&client_frame(FIN | 0x8, &1000u16.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1000));

    // A hundred thousand empty continuations: closed at the 1 025th frame.
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut bytes = client_frame(TEXT, b"");
    let empty = client_frame(CONTINUATION, b"");
    for _ in 0..100_000 {
        bytes.extend_from_slice(&empty);
    }
    // The server may close before it has read everything.
    let _ = raw.write_all(&bytes).await;
    assert_eq!(raw_read_close(&mut raw).await, Some(1009));
    assert_serves(&server).await;
}

#[tokio::test]
async fn a_ping_flood_closes_1008() {
    let server = start(echo_app(Config::default())).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut bytes = Vec::new();
    for _ in 0..300 {
        bytes.extend(client_frame(FIN | PING, b"p"));
    }
    let _ = raw.write_all(&bytes).await;
    assert_eq!(raw_read_close(&mut raw).await, Some(1008));
    assert_eq!(
        server.handle.rate_limit_stats().closed_for_control_frames,
        1
    );
    assert_serves(&server).await;

    // A client that pings within the limit is answered and stays.
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut bytes = Vec::new();
    for _ in 0..50 {
        bytes.extend(client_frame(FIN | PING, b"p"));
    }
    raw.write_all(&bytes).await.unwrap();
    raw.write_all(&client_frame(FIN | TEXT, b"still here"))
        .await
        .unwrap();
    raw.write_all(&client_frame(FIN | 0x8, &1000u16.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1000));
    assert_eq!(
        server.handle.rate_limit_stats().closed_for_control_frames,
        1
    );
}

/// Tokens the 10-a-second bucket can have regained since `start` (rounded
/// up, plus one for the edges): a slow machine sends the burst more slowly.
fn refilled_while(start: Instant) -> u64 {
    (start.elapsed().as_secs_f64() * 10.0).ceil() as u64 + 1
}

fn rate_limited(policy: OverflowPolicy) -> Config {
    let mut config = Config::default();
    config.websocket.max_messages_per_second = 10;
    config.websocket.message_burst = 10;
    config.websocket.on_message_rate = policy;
    config
}

#[tokio::test]
async fn messages_over_the_rate_close_1008() {
    let server = start(echo_app(rate_limited(OverflowPolicy::Close))).await;
    let mut client = connect(&server, "/").await;
    let sending = Instant::now();
    for n in 0..50 {
        send_text(&mut client, &n.to_string()).await;
    }
    let refilled = refilled_while(sending);
    let mut echoed = 0;
    let close = loop {
        match next(&mut client).await {
            WsMessage::Text(_) => echoed += 1,
            WsMessage::Close(close) => break close,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1008));
    assert!(
        (10..=10 + refilled).contains(&echoed),
        "{echoed} echoed before the close"
    );
    assert_eq!(server.handle.rate_limit_stats().closed_for_messages, 1);
    assert_serves(&server).await;
}

#[tokio::test]
async fn messages_over_the_rate_are_dropped_and_counted() {
    let server = start(echo_app(rate_limited(OverflowPolicy::DropMessage))).await;
    let mut client = connect(&server, "/").await;
    let sending = Instant::now();
    for n in 0..50 {
        send_text(&mut client, &n.to_string()).await;
    }
    let refilled = refilled_while(sending);
    // The burst is echoed in order; the rest was dropped.
    for n in 0..10 {
        assert_eq!(next_text(&mut client).await, n.to_string());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_text(&mut client, "later").await;
    let mut got = next_text(&mut client).await;
    // A message or two of the burst's tail may have found a token.
    while got != "later" {
        got = next_text(&mut client).await;
    }
    let dropped = server.handle.rate_limit_stats().messages_dropped;
    assert!(
        (40 - refilled.min(40)..=40).contains(&dropped),
        "{dropped} dropped"
    );
}
