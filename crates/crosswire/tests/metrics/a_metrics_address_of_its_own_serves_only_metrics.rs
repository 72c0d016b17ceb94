use crosswire::config::Config;

use crate::scrape::{get, scrape};
use crate::support::*;

#[tokio::test]
async fn listen_serves_metrics_on_its_own_address_and_not_on_the_app_port() {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.metrics.listen = Some("127.0.0.1:0".to_owned());
    let server = echo_app(config).listen_on("127.0.0.1:0").await.unwrap();
    let app = server.local_addr();
    let metrics = server.metrics_addr().expect("a metrics address");
    assert_ne!(app, metrics);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async {
        let _ = stopped.await;
    }));

    let mut client = tokio_tungstenite::connect_async(format!("ws://{app}/"))
        .await
        .unwrap()
        .0;
    send_text(&mut client, "hello").await;
    assert_eq!(next_text(&mut client).await, "hello");

    let exposition = scrape(metrics, "/metrics").await;
    assert_eq!(exposition.get("crosswire_ws_connections_open", &[]), 1.0);
    assert_eq!(
        exposition.get("crosswire_ws_upgrades_total", &[("status", "101")]),
        1.0
    );
    // The app's port does not serve them, and the metrics address serves
    // nothing of the app's.
    assert_eq!(get(app, "/metrics").await.status, 404);
    assert_eq!(get(metrics, "/").await.status, 404);
    let upgrade = raw_http(metrics, &upgrade_request(metrics, "/", "")).await;
    assert!(upgrade.starts_with("HTTP/1.1 404"), "{upgrade}");

    drop(client);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_metrics_address_that_cannot_be_bound_fails_the_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.metrics.listen = Some(taken.local_addr().unwrap().to_string());
    let error = echo_app(config)
        .listen_on("127.0.0.1:0")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&taken.local_addr().unwrap().to_string()),
        "{error}"
    );
}
