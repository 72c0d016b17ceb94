use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::client::SseClient;
use crate::exposition::Exposition;
use crate::scrape::{scrape, scrape_until};
use crate::support::*;

/// A chat room with an event stream beside it, metrics on, small message
/// limit so an oversized message closes with 1009.
fn chat(workers: usize) -> App {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.websocket.max_message_size = 1024;
    config.server.workers =
        crosswire::config::Workers::Count(std::num::NonZeroUsize::new(workers).unwrap());
    let room = hooks()
        .open(|peer: Peer| async move { peer.subscribe("room") })
        .message(|peer: Peer, message: Message| async move {
            if message.text() == "fail" {
                return Err("refused");
            }
            peer.send(message.text());
            peer.publish("room", message.text());
            Ok(())
        });
    App::with_config(config).websocket("/ws", room).route(
        "/events",
        axum::routing::get(|stream: EventStream| async move {
            stream.subscribe("room");
            stream.push("hello");
            stream
        }),
    )
}

fn ws(exposition: &Exposition, name: &str) -> f64 {
    exposition.get(name, &[])
}

async fn traffic_moves_every_counter(workers: usize) {
    let server = start(chat(workers)).await;
    let addr = server.addr;
    let before = scrape(addr, "/metrics").await;
    assert_eq!(ws(&before, "crosswire_ws_connections_open"), 0.0);
    assert_eq!(ws(&before, "crosswire_ws_messages_received_total"), 0.0);
    assert_eq!(ws(&before, "crosswire_sse_streams_open"), 0.0);

    let mut alice = connect(&server, "/ws").await;
    let mut bob = connect(&server, "/ws").await;
    let mut events = SseClient::get(addr, "/events", "").await;
    assert_eq!(events.next_data().await, "data: hello\n\n");
    let open = scrape_until(addr, "/metrics", "two peers and a stream open", |e| {
        ws(e, "crosswire_ws_connections_open") == 2.0 && ws(e, "crosswire_sse_streams_open") == 1.0
    })
    .await;
    assert_eq!(
        open.get(
            "crosswire_ws_upgrades_total",
            &[("status", "101"), ("result", "101")]
        ),
        2.0
    );
    assert!(open.get("crosswire_connections_open", &[]) >= 3.0);

    // Wait for both subscriptions before chatting.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("room") < 3 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for i in 0..10 {
        send_text(&mut alice, &format!("message {i}")).await;
        assert_eq!(next_text(&mut alice).await, format!("message {i}"));
        assert_eq!(next_text(&mut bob).await, format!("message {i}"));
        assert_eq!(events.next_data().await, format!("data: message {i}\n\n"));
    }
    send_text(&mut bob, "fail").await;

    let moved = scrape_until(addr, "/metrics", "the chat counted", |e| {
        ws(e, "crosswire_ws_messages_received_total") >= 11.0
            && ws(e, "crosswire_ws_messages_sent_total") >= 20.0
            && e.get(
                "crosswire_hook_failures_total",
                &[("hook", "message"), ("kind", "error")],
            ) == 1.0
    })
    .await;
    assert_eq!(ws(&moved, "crosswire_ws_messages_received_total"), 11.0);
    // Ten echoes to alice, ten publishes to bob.
    assert_eq!(ws(&moved, "crosswire_ws_messages_sent_total"), 20.0);
    assert!(ws(&moved, "crosswire_ws_received_bytes_total") >= 10.0 * "message 0".len() as f64);
    assert!(ws(&moved, "crosswire_ws_sent_bytes_total") >= 20.0 * "message 0".len() as f64);
    assert_eq!(
        moved.get("crosswire_publishes_total", &[("origin", "local")]),
        10.0
    );
    // Each publish reached bob and the event stream.
    assert_eq!(ws(&moved, "crosswire_deliveries_total"), 20.0);
    assert!(
        ws(&moved, "crosswire_sse_sent_bytes_total")
            >= 11.0 * "data: message 0\n\n".len() as f64 - 10.0
    );

    // A normal close (1000) and an oversized message (1009).
    alice
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    bob.send(WsMessage::text("x".repeat(2000))).await.unwrap();
    assert_eq!(u16::from(next_close(&mut bob).await.unwrap().code), 1009);
    drop(events);

    let closed = scrape_until(addr, "/metrics", "both closes counted, all gone", |e| {
        e.get("crosswire_ws_closes_total", &[("code", "1000")]) == 1.0
            && e.get("crosswire_ws_closes_total", &[("code", "1009")]) == 1.0
            && ws(e, "crosswire_ws_connections_open") == 0.0
            && ws(e, "crosswire_sse_streams_open") == 0.0
    })
    .await;
    assert_eq!(
        closed.get(
            "crosswire_ws_limit_closes_total",
            &[("limit", "max_message_size")]
        ),
        1.0
    );
    assert_eq!(
        closed.get(
            "crosswire_ws_limit_closes_total",
            &[("limit", "send_queue_bytes")]
        ),
        0.0
    );

    // A page from another site: 403 before any hook, counted as such.
    let (_socket, head) = upgrade_answer(
        tokio::net::TcpStream::connect(addr).await.unwrap(),
        addr,
        "/ws",
        "Origin: https://evil.example\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    // A bad handshake (version 12): 426.
    let bad = raw_http(
        addr,
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n",
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 426"), "{bad}");
    let refused = scrape_until(addr, "/metrics", "refused upgrades counted", |e| {
        e.get("crosswire_ws_upgrades_total", &[("status", "403")]) == 1.0
    })
    .await;
    assert_eq!(
        refused.get(
            "crosswire_ws_upgrades_total",
            &[("status", "403"), ("result", "4xx")]
        ),
        1.0
    );
    assert_eq!(
        refused.get("crosswire_ws_upgrades_total", &[("result", "4xx")]),
        2.0
    );
    assert_eq!(
        refused.get("crosswire_ws_upgrades_total", &[("status", "101")]),
        2.0
    );
    // A family is exported whether or not it moved.
    for family in [
        "crosswire_send_queue_bytes",
        "crosswire_send_queue_high_water_bytes",
        "crosswire_send_queue_budget_closes_total",
        "crosswire_ws_dropped_messages_total",
        "crosswire_connections_refused_total",
    ] {
        assert!(refused.families.contains_key(family), "{family} missing");
    }
    assert!(
        !refused.families.contains_key("crosswire_broker_connected"),
        "no broker, no broker metrics"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn traffic_moves_every_counter_with_one_worker() {
    traffic_moves_every_counter(1).await;
}

#[tokio::test]
async fn traffic_moves_every_counter_with_two_workers() {
    traffic_moves_every_counter(2).await;
}
