use crosswire::config::Config;
use crosswire::prelude::*;
use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

fn limited_echo() -> App {
    let mut config = Config::default();
    config.websocket.max_message_size = 1024;
    config.websocket.max_frame_size = 1024;
    App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

#[tokio::test]
async fn a_message_over_the_limit_closes_1009_and_others_keep_going() {
    let server = start(limited_echo()).await;
    let mut bystander = connect(&server, "/").await;
    let mut offender = connect(&server, "/").await;
    offender
        .send(WsMessage::text("x".repeat(2000)))
        .await
        .unwrap();
    let frame = next_close(&mut offender).await.unwrap();
    assert_eq!(u16::from(frame.code), 1009);

    send_text(&mut bystander, "still here").await;
    assert_eq!(next_text(&mut bystander).await, "still here");
    let exact = "y".repeat(1024);
    send_text(&mut bystander, &exact).await;
    assert_eq!(next_text(&mut bystander).await, exact);
}

#[tokio::test]
async fn fragments_adding_up_past_the_limit_close_1009() {
    let server = start(limited_echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    // Three 500-byte fragments: each frame fits, the message does not.
    raw.write_all(&client_frame(0x01, &[b'a'; 500]))
        .await
        .unwrap();
    raw.write_all(&client_frame(0x00, &[b'a'; 500]))
        .await
        .unwrap();
    raw.write_all(&client_frame(0x80, &[b'a'; 500]))
        .await
        .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1009));
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_payload() {
    let server = start(limited_echo()).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    // Header of a 1 GiB frame, and no payload at all: the server must not wait for it.
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    raw.write_all(&header).await.unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1009));
}
