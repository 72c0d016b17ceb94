use crosswire::config::Config;
use crosswire::prelude::*;

use crate::support::*;

#[tokio::test]
async fn upgrades_get_501_naming_the_setting_when_disabled() {
    let config = Config::from_toml("[websocket]\nenabled = false\n", "crosswire.toml").unwrap();
    let server = start(App::with_config(config).websocket("/ws", hooks())).await;
    let response = raw_http(server.addr, &upgrade_request(server.addr, "/ws", "")).await;
    assert!(response.starts_with("HTTP/1.1 501"), "{response}");
    assert!(
        response.contains("[websocket] enabled = false"),
        "{response}"
    );
}
