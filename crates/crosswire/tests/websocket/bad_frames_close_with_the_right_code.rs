use crosswire::prelude::*;
use tokio::io::AsyncWriteExt;

use crate::support::*;

fn echo() -> App {
    App::new().websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

async fn close_code_after(bytes: &[u8]) -> Option<u16> {
    let server = start(echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    raw.write_all(bytes).await.unwrap();
    raw_read_close(&mut raw).await
}

fn unmasked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first, payload.len() as u8];
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn an_unmasked_frame_closes_1002() {
    assert_eq!(close_code_after(&unmasked(0x81, b"hi")).await, Some(1002));
}

#[tokio::test]
async fn reserved_bits_close_1002() {
    assert_eq!(
        close_code_after(&client_frame(0x81 | 0x40, b"hi")).await,
        Some(1002)
    );
    assert_eq!(
        close_code_after(&client_frame(0x81 | 0x10, b"hi")).await,
        Some(1002)
    );
}

#[tokio::test]
async fn an_unknown_opcode_closes_1002() {
    assert_eq!(close_code_after(&client_frame(0x83, b"")).await, Some(1002));
    assert_eq!(close_code_after(&client_frame(0x8b, b"")).await, Some(1002));
}

#[tokio::test]
async fn a_fragmented_or_long_control_frame_closes_1002() {
    assert_eq!(
        close_code_after(&client_frame(0x09, b"ping")).await,
        Some(1002)
    );
    assert_eq!(
        close_code_after(&client_frame(0x89, &[0u8; 126])).await,
        Some(1002)
    );
}

#[tokio::test]
async fn continuation_without_a_start_closes_1002() {
    assert_eq!(
        close_code_after(&client_frame(0x80, b"tail")).await,
        Some(1002)
    );
}

#[tokio::test]
async fn a_new_message_inside_a_fragmented_one_closes_1002() {
    let mut bytes = client_frame(0x01, b"start");
    bytes.extend(client_frame(0x81, b"again"));
    assert_eq!(close_code_after(&bytes).await, Some(1002));
}

#[tokio::test]
async fn invalid_utf8_closes_1007() {
    assert_eq!(
        close_code_after(&client_frame(0x81, &[0xce, 0xba, 0xed, 0xa0, 0x80])).await,
        Some(1007)
    );
}

#[tokio::test]
async fn invalid_utf8_is_caught_before_the_message_ends() {
    let server = start(echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    // First fragment holds an invalid byte; the message is never finished.
    raw.write_all(&client_frame(0x01, &[b'o', b'k', 0xff]))
        .await
        .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1007));
}

#[tokio::test]
async fn bad_close_frames_close_1002() {
    assert_eq!(
        close_code_after(&client_frame(0x88, &[0x03])).await,
        Some(1002)
    );
    assert_eq!(
        close_code_after(&client_frame(0x88, &1005u16.to_be_bytes())).await,
        Some(1002)
    );
    assert_eq!(
        close_code_after(&client_frame(0x88, &999u16.to_be_bytes())).await,
        Some(1002)
    );
    let mut bad_reason = 1000u16.to_be_bytes().to_vec();
    bad_reason.extend_from_slice(&[0xff, 0xfe]);
    assert_eq!(
        close_code_after(&client_frame(0x88, &bad_reason)).await,
        Some(1002)
    );
}

#[tokio::test]
async fn a_valid_close_is_echoed() {
    let mut payload = 3001u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"fine");
    assert_eq!(
        close_code_after(&client_frame(0x88, &payload)).await,
        Some(3001)
    );
    assert_eq!(close_code_after(&client_frame(0x88, b"")).await, None);
}

#[tokio::test]
async fn the_error_hook_sees_the_protocol_error() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handler = hooks().error(move |_peer: Peer, error: WebSocketError| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(error.close_code());
        }
    });
    let server = start(App::new().websocket("/", handler)).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    raw.write_all(&client_frame(0x81, &[0xff])).await.unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1007));
    let code = tokio::time::timeout(PATIENCE, rx.recv()).await.unwrap();
    assert_eq!(code, Some(1007));
}
