//! The `[websocket]` limits hold in mounted mode as under `App`.

#![allow(clippy::unwrap_used)]

mod support;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crosswire::Config;
use support::*;

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let mut config = Config::default();
    config.websocket.max_message_size = 1024;
    config.websocket.max_frame_size = 1024;
    let (addr, _crosswire) = serve_with(config, axum_mount::app).await;
    let mut bystander = connect(addr, "/api/ws/chat").await;
    welcome(&mut bystander).await;
    let mut offender = connect(addr, "/api/ws/chat").await;
    welcome(&mut offender).await;

    offender
        .send(Message::text("x".repeat(2000)))
        .await
        .unwrap();
    let code = tokio::time::timeout(PATIENCE, async {
        loop {
            match offender.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(code, 1009);

    bystander.send(Message::text("still here")).await.unwrap();
    until_message(&mut bystander, "still here").await;
}
