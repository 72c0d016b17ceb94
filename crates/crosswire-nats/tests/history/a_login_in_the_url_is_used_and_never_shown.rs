//! `[broker] url` may carry a login (`nats://user:password@host:port`):
//! the node logs in with it, and an error about the URL shows the user but
//! never the password.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_in_the_url_is_used_and_never_shown() {
    let nats = Nats::start_with_users().await;
    let mut config = crosswire::BrokerConfig::default();
    config.url = Some(nats.url_as("node"));
    crosswire_nats::connect(&config)
        .await
        .expect("the login in the URL is accepted");

    config.url = Some(format!(
        "nats://node:not-the-password@127.0.0.1:{}",
        nats.port
    ));
    let error = crosswire_nats::connect(&config)
        .await
        .expect_err("a wrong password is refused");
    let message = error.to_string();
    assert!(message.contains("nats://node:***@127.0.0.1"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
}
