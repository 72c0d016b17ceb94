use axum::Router;
use crosswire::prelude::*;
use tokio::net::TcpStream;

use crate::support::*;
use crate::{connect, mounted};

/// The value of the `crosswire_ws_upgrades` sample with `status`.
fn upgrades(text: &str, status: &str) -> Option<u64> {
    text.lines()
        .filter(|line| line.starts_with("crosswire_ws_upgrades"))
        .find(|line| line.contains(&format!("status=\"{status}\"")))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn upgrades_are_counted_by_status_and_the_text_is_served_by_a_route_of_the_app() {
    let mut config = Config::default();
    config.metrics.enabled = true;
    let (addr, crosswire) = mounted(config, |crosswire| {
        let handle = crosswire.handle();
        Router::new()
            .route("/ws", crosswire.websocket(hooks()))
            .route(
                "/internal/metrics",
                axum::routing::get(move || {
                    let handle = handle.clone();
                    async move { handle.metrics_text().unwrap_or_default() }
                }),
            )
    })
    .await;
    let _client = connect(addr, "/ws").await;
    let (_, head) = upgrade_answer(
        TcpStream::connect(addr).await.unwrap(),
        addr,
        "/ws",
        "Origin: http://evil.example\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");

    let text = crosswire.handle().metrics_text().unwrap();
    assert_eq!(upgrades(&text, "101"), Some(1), "{text}");
    assert_eq!(upgrades(&text, "403"), Some(1), "{text}");
    let served = raw_http(
        addr,
        &format!("GET /internal/metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(served.contains("crosswire_ws_upgrades"), "{served}");
}

#[tokio::test]
async fn metrics_listen_is_served_on_its_own_address_when_mounted() {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.metrics.listen = Some("127.0.0.1:0".to_owned());
    let (addr, crosswire) = mounted(config, |crosswire| {
        Router::new().route("/ws", crosswire.websocket(hooks()))
    })
    .await;
    let _client = connect(addr, "/ws").await;
    let metrics = crosswire.metrics_addr().expect("[metrics] listen is bound");
    assert_ne!(metrics.port(), addr.port());
    let served = raw_http(
        metrics,
        &format!("GET /metrics HTTP/1.1\r\nHost: {metrics}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(
        served.lines().any(
            |line| line.starts_with("crosswire_ws_upgrades") && line.contains("status=\"101\"")
        ),
        "{served}"
    );
    // The app's own port knows nothing of it: the app did not route it.
    let app = raw_http(
        addr,
        &format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(app.starts_with("HTTP/1.1 404"), "{app}");
}
