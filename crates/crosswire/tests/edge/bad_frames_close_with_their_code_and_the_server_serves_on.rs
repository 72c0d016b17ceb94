//! Hostile frames over a raw socket, each answered with the close code RFC
//! 6455 gives it (1002 protocol error, 1007 bad UTF-8, 1009 too big), and
//! the server serving the next client on the same port right after.

use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn echo() -> App {
    App::new().websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

async fn assert_serves(server: &TestServer) {
    let mut client = connect(server, "/").await;
    send_text(&mut client, "next").await;
    assert_eq!(next_text(&mut client).await, "next");
}

/// Sends `bytes` on a fresh connection and returns the server's close code;
/// then checks that a new client is served.
async fn close_code_after(server: &TestServer, bytes: &[u8]) -> Option<u16> {
    let mut raw = raw_upgrade(server.addr, "/").await;
    raw.write_all(bytes).await.unwrap();
    let code = raw_read_close(&mut raw).await;
    assert_serves(server).await;
    code
}

/// A masked client frame header announcing `len` bytes, with no payload.
fn header_only(first: u8, len: u64) -> Vec<u8> {
    let mut frame = vec![first, 0x80 | 127];
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame
}

/// Reads one unfragmented, unmasked server frame: (first byte, payload).
async fn read_frame(raw: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    raw.read_exact(&mut head).await.unwrap();
    let len = match head[1] & 0x7f {
        126 => u64::from(raw.read_u16().await.unwrap()),
        127 => raw.read_u64().await.unwrap(),
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).unwrap()];
    raw.read_exact(&mut payload).await.unwrap();
    (head[0], payload)
}

#[tokio::test]
async fn an_unmasked_frame_closes_1002() {
    let server = start(echo()).await;
    let unmasked = [0x81, 0x02, b'h', b'i'];
    assert_eq!(close_code_after(&server, &unmasked).await, Some(1002));
}

#[tokio::test]
async fn reserved_bits_without_an_extension_close_1002() {
    let server = start(echo()).await;
    for rsv in [0x40, 0x20, 0x10] {
        let frame = client_frame(0x81 | rsv, b"hi");
        assert_eq!(
            close_code_after(&server, &frame).await,
            Some(1002),
            "{rsv:#x}"
        );
    }
}

#[tokio::test]
async fn reserved_opcodes_close_1002() {
    let server = start(echo()).await;
    for opcode in (3..=7).chain(11..=15) {
        let frame = client_frame(0x80 | opcode, b"");
        assert_eq!(
            close_code_after(&server, &frame).await,
            Some(1002),
            "{opcode}"
        );
    }
}

#[tokio::test]
async fn fragmentation_errors_close_1002() {
    let server = start(echo()).await;
    // A first fragment with opcode 0 (continuation of nothing).
    let frame = client_frame(0x00, b"tail");
    assert_eq!(close_code_after(&server, &frame).await, Some(1002));
    // A text or binary frame inside a fragmented message.
    for inner in [0x81, 0x82, 0x01] {
        let mut bytes = client_frame(0x01, b"start");
        bytes.extend(client_frame(inner, b"again"));
        assert_eq!(
            close_code_after(&server, &bytes).await,
            Some(1002),
            "{inner:#x}"
        );
    }
}

#[tokio::test]
async fn bad_control_frames_close_1002() {
    let server = start(echo()).await;
    // FIN=0 on a ping, RSV1 on a ping, a ping of 126 bytes.
    for frame in [
        client_frame(0x09, b"ping"),
        client_frame(0x89 | 0x40, b"ping"),
        client_frame(0x89, &[0u8; 126]),
        client_frame(0x8a, &[0u8; 126]),
    ] {
        assert_eq!(close_code_after(&server, &frame).await, Some(1002));
    }
}

#[tokio::test]
async fn a_64_bit_length_with_the_top_bit_set_closes_1002() {
    let server = start(echo()).await;
    let frame = header_only(0x82, 1 << 63);
    assert_eq!(close_code_after(&server, &frame).await, Some(1002));
}

#[tokio::test]
async fn a_declared_length_past_max_frame_size_closes_1009_before_the_payload() {
    let server = start(echo()).await;
    // 1 MiB is the default limit; no payload follows the header, so only a
    // check made before reading it can answer.
    let frame = header_only(0x82, (1 << 20) + 1);
    assert_eq!(close_code_after(&server, &frame).await, Some(1009));
}

#[tokio::test]
async fn invalid_utf8_closes_1007_whole_or_split() {
    let server = start(echo()).await;
    let frame = client_frame(0x81, &[b'o', b'k', 0xc3, 0x28]);
    assert_eq!(close_code_after(&server, &frame).await, Some(1007));
    // A two-byte sequence cut between fragments, then continued wrongly.
    let mut bytes = client_frame(0x01, &[b'a', 0xc3]);
    bytes.extend(client_frame(0x80, &[0x28]));
    assert_eq!(close_code_after(&server, &bytes).await, Some(1007));
}

#[tokio::test]
async fn a_code_point_split_across_fragments_is_one_valid_message() {
    let server = start(echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    let text = "é€😀";
    let bytes = text.as_bytes();
    let mut burst = Vec::new();
    // Cut inside each code point: 1 + 2 + 3 + the rest.
    burst.extend(client_frame(0x01, &bytes[..1]));
    burst.extend(client_frame(0x00, &bytes[1..3]));
    burst.extend(client_frame(0x00, &bytes[3..6]));
    burst.extend(client_frame(0x80, &bytes[6..]));
    raw.write_all(&burst).await.unwrap();
    let (first, payload) = tokio::time::timeout(PATIENCE, read_frame(&mut raw))
        .await
        .unwrap();
    assert_eq!(first, 0x81);
    assert_eq!(payload, bytes);
}

#[tokio::test]
async fn bad_close_frames_close_1002() {
    let server = start(echo()).await;
    let one_byte = client_frame(0x88, &[0x03]);
    assert_eq!(close_code_after(&server, &one_byte).await, Some(1002));
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
        let frame = client_frame(0x88, &code.to_be_bytes());
        assert_eq!(
            close_code_after(&server, &frame).await,
            Some(1002),
            "{code}"
        );
    }
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[b'b', b'y', 0xff]);
    let frame = client_frame(0x88, &bad_reason);
    assert_eq!(close_code_after(&server, &frame).await, Some(1002));
}

#[tokio::test]
async fn data_after_a_close_frame_is_ignored() {
    let server = start(echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut bytes = client_frame(0x88, &1000u16.to_be_bytes());
    bytes.extend(client_frame(0x81, b"after close"));
    raw.write_all(&bytes).await.unwrap();
    // The first and only frame back is the close echo: no echo of the text.
    let (first, payload) = tokio::time::timeout(PATIENCE, read_frame(&mut raw))
        .await
        .unwrap();
    assert_eq!(first, 0x88);
    assert_eq!(payload, 1000u16.to_be_bytes());
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, raw.read_to_end(&mut rest)).await;
    assert!(rest.is_empty(), "sent after the close: {rest:?}");
    assert_serves(&server).await;
}

#[tokio::test]
async fn ten_thousand_frames_in_one_segment_are_processed_in_order() {
    let server = start(echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    let mut burst = Vec::new();
    for i in 0..10_000u32 {
        burst.extend(client_frame(0x81, i.to_string().as_bytes()));
    }
    raw.write_all(&burst).await.unwrap();
    for i in 0..10_000u32 {
        let (first, payload) = tokio::time::timeout(PATIENCE, read_frame(&mut raw))
            .await
            .unwrap();
        assert_eq!(first, 0x81);
        assert_eq!(payload, i.to_string().as_bytes(), "frame {i}");
    }
    assert_serves(&server).await;
}
