use crosswire::config::Config;

use crate::scrape::get;
use crate::support::*;

#[tokio::test]
async fn without_the_setting_metrics_is_an_unknown_path() {
    let server = start(echo_app(Config::default())).await;
    assert_serves(&server).await;
    let answer = get(server.addr, "/metrics").await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(!answer.body.contains("crosswire_"), "{}", answer.body);
    assert!(server.handle.metrics_text().is_none());
}

#[tokio::test]
async fn the_path_setting_moves_the_metrics() {
    let mut config = Config::default();
    config.metrics.enabled = true;
    config.metrics.path = "/_ops/metrics".to_owned();
    let server = start(echo_app(config)).await;
    assert_eq!(get(server.addr, "/metrics").await.status, 404);
    let exposition = crate::scrape::scrape(server.addr, "/_ops/metrics").await;
    assert!(
        exposition
            .families
            .contains_key("crosswire_ws_connections_open")
    );
}
