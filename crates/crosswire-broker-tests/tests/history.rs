//! History across nodes: the same tests against every engine that keeps
//! history (Redis, and NATS with JetStream, servers started by the tests on
//! free ports).

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "conformance/certificates.rs"]
mod certificates;
#[allow(dead_code)]
#[path = "conformance/engine.rs"]
mod engine;
#[path = "history/feed.rs"]
mod feed;
#[allow(dead_code)]
#[path = "conformance/node.rs"]
mod node;
#[path = "history/suite.rs"]
mod suite;

mod redis {
    use crate::engine::Engine;
    use crate::suite;

    #[tokio::test]
    async fn reconnecting_clients_get_exactly_what_they_missed() {
        suite::reconnecting_clients_get_exactly_what_they_missed(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_gap_longer_than_the_history_is_reported() {
        suite::a_gap_longer_than_the_history_is_reported(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_lost_history_starts_a_new_epoch() {
        suite::a_lost_history_starts_a_new_epoch(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_recovered_client_gets_the_next_epoch_from_its_start() {
        suite::a_recovered_client_gets_the_next_epoch_from_its_start(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_stopped_node_closes_every_broker_connection() {
        suite::a_stopped_node_closes_every_broker_connection(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_stream_subscribed_outside_a_runtime_is_told_and_goes_live() {
        suite::a_stream_subscribed_outside_a_runtime_is_told_and_goes_live(Engine::redis().await)
            .await;
    }
    #[tokio::test]
    async fn publishes_survive_the_broker_forgetting_its_script() {
        suite::publishes_survive_the_broker_forgetting_its_script(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_recovery_the_broker_did_not_confirm_is_not_promised() {
        suite::a_recovery_the_broker_did_not_confirm_is_not_promised(Engine::redis().await).await;
    }
}

mod nats {
    use crate::engine::Engine;
    use crate::suite;

    #[tokio::test]
    async fn reconnecting_clients_get_exactly_what_they_missed() {
        suite::reconnecting_clients_get_exactly_what_they_missed(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_gap_longer_than_the_history_is_reported() {
        suite::a_gap_longer_than_the_history_is_reported(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_lost_history_starts_a_new_epoch() {
        suite::a_lost_history_starts_a_new_epoch(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_recovered_client_gets_the_next_epoch_from_its_start() {
        suite::a_recovered_client_gets_the_next_epoch_from_its_start(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_stopped_node_closes_every_broker_connection() {
        suite::a_stopped_node_closes_every_broker_connection(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_stream_subscribed_outside_a_runtime_is_told_and_goes_live() {
        suite::a_stream_subscribed_outside_a_runtime_is_told_and_goes_live(Engine::nats().await)
            .await;
    }
}
