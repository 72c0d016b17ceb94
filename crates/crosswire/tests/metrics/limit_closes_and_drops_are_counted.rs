use crosswire::OverflowPolicy;
use crosswire::config::Config;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::scrape::scrape_until;
use crate::support::*;

fn rate_limited(policy: OverflowPolicy) -> Config {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.websocket.max_messages_per_second = 10;
    config.websocket.message_burst = 10;
    config.websocket.on_message_rate = policy;
    config
}

#[tokio::test]
async fn a_rate_limit_close_counts_as_a_1008_for_its_setting() {
    let server = start(echo_app(rate_limited(OverflowPolicy::Close))).await;
    let mut client = connect(&server, "/").await;
    for n in 0..50 {
        send_text(&mut client, &n.to_string()).await;
    }
    let close = loop {
        match next(&mut client).await {
            WsMessage::Text(_) => {}
            WsMessage::Close(close) => break close,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1008));
    // Hang up rather than wait out the closing handshake.
    drop(client);
    let exposition = scrape_until(server.addr, "/metrics", "the 1008 counted", |e| {
        e.get("crosswire_ws_closes_total", &[("code", "1008")]) == 1.0
    })
    .await;
    assert_eq!(
        exposition.get(
            "crosswire_ws_limit_closes_total",
            &[("limit", "max_messages_per_second")]
        ),
        1.0
    );
    assert_eq!(exposition.get("crosswire_ws_limit_closes_total", &[]), 1.0);
}

#[tokio::test]
async fn messages_dropped_over_the_rate_are_counted() {
    let server = start(echo_app(rate_limited(OverflowPolicy::DropMessage))).await;
    let mut client = connect(&server, "/").await;
    for n in 0..50 {
        send_text(&mut client, &n.to_string()).await;
    }
    send_text(&mut client, "later").await;
    let dropped = server.handle.rate_limit_stats().messages_dropped;
    let exposition = scrape_until(server.addr, "/metrics", "the drops counted", |e| {
        e.get(
            "crosswire_ws_dropped_messages_total",
            &[("reason", "message_rate")],
        ) > 0.0
    })
    .await;
    let counted = exposition.get(
        "crosswire_ws_dropped_messages_total",
        &[("reason", "message_rate")],
    );
    // What the metrics say is what the server's own counter says.
    let now = server.handle.rate_limit_stats().messages_dropped;
    assert!(
        (dropped as f64..=now as f64).contains(&counted) && counted > 0.0,
        "{counted} dropped"
    );
    assert_eq!(
        exposition.get(
            "crosswire_ws_dropped_messages_total",
            &[("reason", "send_queue_full")]
        ),
        0.0
    );
}
