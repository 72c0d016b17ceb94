use std::time::Duration;

use crosswire::prelude::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

/// Each text command exercises one `Peer` method and reports the result.
fn commands() -> impl WebSocketHandler {
    hooks()
        .upgrade(|req: UpgradeRequest| async move {
            let who = req.query().unwrap_or("anonymous").to_owned();
            Ok(Accept::new().context(who))
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text().into_owned();
            let (command, arg) = text.split_once(' ').unwrap_or((text.as_str(), ""));
            match command {
                "id" => peer.send(peer.id().to_string()),
                "sub" => {
                    peer.subscribe(arg);
                    peer.send(json!(peer.topics()));
                }
                "unsub" => {
                    peer.unsubscribe(arg);
                    peer.send(json!(peer.topics()));
                }
                "peers" => {
                    let ids: Vec<String> = peer.peers().iter().map(ToString::to_string).collect();
                    peer.send(json!(ids));
                }
                "request" => peer.send(json!({
                    "url": peer.request().url(),
                    "agent": peer.request().header("x-agent"),
                    "ip": peer.remote_address().ip().to_string(),
                })),
                "context" => peer.send(peer.context::<String>().cloned().unwrap_or_default()),
                "close" => {
                    let bad_code = peer.close(1005, "").unwrap_err().to_string();
                    let long = peer.close(1000, &"r".repeat(124)).unwrap_err().to_string();
                    peer.send(json!([bad_code, long]));
                    peer.close(4001, arg).unwrap();
                    peer.send("after close is dropped");
                }
                "terminate" => peer.terminate(),
                "drain" => {
                    for _ in 0..100 {
                        peer.send("x".repeat(1000));
                    }
                    peer.wait_for_drain().await;
                    peer.send(format!("buffered {}", peer.buffered_amount()));
                }
                "display" => peer.send(format!("{peer}")),
                _ => peer.send("unknown"),
            }
        })
}

#[tokio::test]
async fn id_is_a_uuid_v4_and_display_prints_it() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "id").await;
    let id = next_text(&mut client).await;
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(parsed.get_version_num(), 4);
    send_text(&mut client, "display").await;
    assert_eq!(next_text(&mut client).await, id);
}

#[tokio::test]
async fn subscribe_unsubscribe_and_topics() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "sub b").await;
    assert_eq!(next_json(&mut client).await, json!(["b"]));
    send_text(&mut client, "sub a").await;
    assert_eq!(next_json(&mut client).await, json!(["b", "a"]));
    send_text(&mut client, "sub b").await;
    assert_eq!(next_json(&mut client).await, json!(["b", "a"]));
    send_text(&mut client, "unsub b").await;
    assert_eq!(next_json(&mut client).await, json!(["a"]));
}

#[tokio::test]
async fn peers_lists_everyone_in_connection_order() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let mut client = connect(&server, "/").await;
        send_text(&mut client, "id").await;
        ids.push(next_text(&mut client).await);
        clients.push(client);
    }
    for client in &mut clients {
        send_text(client, "peers").await;
        assert_eq!(next_json(client).await, json!(ids));
    }
    let listed: Vec<String> = server
        .handle
        .peers()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(listed, ids);
}

#[tokio::test]
async fn request_and_remote_address_describe_the_connection() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = start(App::new().websocket("/room", commands())).await;
    let mut request = server.url("/room?x=1").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-agent", "test-suite".parse().unwrap());
    let (mut client, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send_text(&mut client, "request").await;
    assert_eq!(
        next_json(&mut client).await,
        json!({
            "url": format!("http://{}/room?x=1", server.addr),
            "agent": "test-suite",
            "ip": "127.0.0.1",
        })
    );
}

#[tokio::test]
async fn context_set_by_upgrade_is_seen_by_later_hooks() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/?alice").await;
    send_text(&mut client, "context").await;
    assert_eq!(next_text(&mut client).await, "alice");
}

#[tokio::test]
async fn close_checks_its_arguments_then_closes() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "close going").await;
    let errors = next_json(&mut client).await;
    assert!(errors[0].as_str().unwrap().contains("1005"), "{errors}");
    assert!(
        errors[1].as_str().unwrap().contains("124 bytes"),
        "{errors}"
    );
    // Nothing sent after the close frame is delivered.
    let frame = next_close(&mut client).await.unwrap();
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4001, "going")
    );
}

#[tokio::test]
async fn terminate_drops_the_connection_without_a_close_frame() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "terminate").await;
    let end = tokio::time::timeout(PATIENCE, client.next()).await.unwrap();
    match end {
        None | Some(Err(_)) => {}
        Some(Ok(WsMessage::Close(_))) => panic!("terminate sent a close frame"),
        Some(Ok(other)) => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn wait_for_drain_returns_once_the_queue_is_written() {
    let server = start(App::new().websocket("/", commands())).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "drain").await;
    for _ in 0..100 {
        assert_eq!(next_text(&mut client).await.len(), 1000);
    }
    assert_eq!(next_text(&mut client).await, "buffered 0");
    assert_silent(&mut client, Duration::from_millis(50)).await;
}
