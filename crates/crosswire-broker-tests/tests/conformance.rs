//! The broker conformance suite: the same tests against the in-process bus,
//! Redis and NATS (real servers started by the tests on free ports).

#![allow(clippy::unwrap_used)]

#[path = "conformance/certificates.rs"]
mod certificates;
#[path = "conformance/engine.rs"]
mod engine;
#[path = "conformance/node.rs"]
mod node;
#[path = "conformance/silencing_proxy.rs"]
mod silencing_proxy;
#[path = "conformance/suite.rs"]
mod suite;

mod memory {
    use crate::engine::Engine;
    use crate::suite;

    #[tokio::test]
    async fn a_publish_reaches_every_node_once_and_not_the_sender() {
        suite::a_publish_reaches_every_node_once_and_not_the_sender(Engine::memory()).await;
    }
    #[tokio::test]
    async fn text_json_and_binary_keep_their_kind() {
        suite::text_json_and_binary_keep_their_kind(Engine::memory()).await;
    }
    #[tokio::test]
    async fn subscribe_and_unsubscribe_follow_local_interest() {
        suite::subscribe_and_unsubscribe_follow_local_interest(Engine::memory()).await;
    }
    #[tokio::test]
    async fn odd_topic_names_work_across_nodes() {
        suite::odd_topic_names_work_across_nodes(Engine::memory()).await;
    }
    #[tokio::test]
    async fn prefixes_keep_apps_apart() {
        suite::prefixes_keep_apps_apart(Engine::memory()).await;
    }
}

mod redis {
    use crate::engine::{Engine, Kind};
    use crate::suite;

    #[tokio::test]
    async fn a_publish_reaches_every_node_once_and_not_the_sender() {
        suite::a_publish_reaches_every_node_once_and_not_the_sender(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn text_json_and_binary_keep_their_kind() {
        suite::text_json_and_binary_keep_their_kind(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn subscribe_and_unsubscribe_follow_local_interest() {
        suite::subscribe_and_unsubscribe_follow_local_interest(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn odd_topic_names_work_across_nodes() {
        suite::odd_topic_names_work_across_nodes(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn prefixes_keep_apps_apart() {
        suite::prefixes_keep_apps_apart(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn malformed_envelopes_are_dropped_and_reported() {
        suite::malformed_envelopes_are_dropped_and_reported(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_killed_broker_comes_back_without_duplicates_or_reordering() {
        suite::a_killed_broker_comes_back_without_duplicates_or_reordering(Engine::redis().await)
            .await;
    }
    #[tokio::test]
    async fn broker_state_shows_in_the_metrics() {
        suite::broker_state_shows_in_the_metrics(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_stopped_server_closes_its_broker_connections() {
        suite::a_stopped_server_closes_its_broker_connections(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn a_stopped_broker_bounds_the_buffer_and_keeps_local_delivery() {
        suite::a_stopped_broker_bounds_the_buffer_and_keeps_local_delivery(Engine::redis().await)
            .await;
    }
    #[tokio::test]
    async fn a_connection_that_goes_silent_is_replaced() {
        suite::a_connection_that_goes_silent_is_replaced(Engine::redis().await).await;
    }
    #[tokio::test]
    async fn an_unreachable_broker_fails_startup_unless_told_to_wait() {
        suite::an_unreachable_broker_fails_startup_unless_told_to_wait(Kind::Redis).await;
    }
    #[tokio::test]
    async fn a_url_of_another_scheme_is_refused() {
        suite::a_url_of_another_scheme_is_refused(Kind::Redis).await;
    }
}

mod nats {
    use crate::engine::{Engine, Kind};
    use crate::suite;

    #[tokio::test]
    async fn a_publish_reaches_every_node_once_and_not_the_sender() {
        suite::a_publish_reaches_every_node_once_and_not_the_sender(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn text_json_and_binary_keep_their_kind() {
        suite::text_json_and_binary_keep_their_kind(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn subscribe_and_unsubscribe_follow_local_interest() {
        suite::subscribe_and_unsubscribe_follow_local_interest(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn odd_topic_names_work_across_nodes() {
        suite::odd_topic_names_work_across_nodes(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn prefixes_keep_apps_apart() {
        suite::prefixes_keep_apps_apart(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn malformed_envelopes_are_dropped_and_reported() {
        suite::malformed_envelopes_are_dropped_and_reported(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_killed_broker_comes_back_without_duplicates_or_reordering() {
        suite::a_killed_broker_comes_back_without_duplicates_or_reordering(Engine::nats().await)
            .await;
    }
    #[tokio::test]
    async fn broker_state_shows_in_the_metrics() {
        suite::broker_state_shows_in_the_metrics(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_stopped_server_closes_its_broker_connections() {
        suite::a_stopped_server_closes_its_broker_connections(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn a_stopped_broker_bounds_the_buffer_and_keeps_local_delivery() {
        suite::a_stopped_broker_bounds_the_buffer_and_keeps_local_delivery(Engine::nats().await)
            .await;
    }
    #[tokio::test]
    async fn a_connection_that_goes_silent_is_replaced() {
        suite::a_connection_that_goes_silent_is_replaced(Engine::nats().await).await;
    }
    #[tokio::test]
    async fn an_unreachable_broker_fails_startup_unless_told_to_wait() {
        suite::an_unreachable_broker_fails_startup_unless_told_to_wait(Kind::Nats).await;
    }
    #[tokio::test]
    async fn a_url_of_another_scheme_is_refused() {
        suite::a_url_of_another_scheme_is_refused(Kind::Nats).await;
    }
}

/// The same engines reached over TLS (`rediss://`, `tls://`), with
/// certificates the tests make, and servers that ask for a client
/// certificate.
mod tls {
    use crate::engine::{Engine, Kind};
    use crate::suite;

    #[tokio::test]
    async fn redis_a_publish_reaches_every_node_once_and_not_the_sender() {
        suite::a_publish_reaches_every_node_once_and_not_the_sender(Engine::redis_tls(false).await)
            .await;
    }
    #[tokio::test]
    async fn redis_text_json_and_binary_keep_their_kind() {
        suite::text_json_and_binary_keep_their_kind(Engine::redis_tls(false).await).await;
    }
    #[tokio::test]
    async fn redis_a_killed_broker_comes_back_without_duplicates_or_reordering() {
        suite::a_killed_broker_comes_back_without_duplicates_or_reordering(
            Engine::redis_tls(false).await,
        )
        .await;
    }
    #[tokio::test]
    async fn redis_the_broker_certificate_is_checked() {
        suite::the_broker_certificate_is_checked(Engine::redis_tls(false).await, Kind::Redis).await;
    }
    #[tokio::test]
    async fn redis_a_client_certificate_is_shown_when_asked_for() {
        suite::a_client_certificate_is_shown_when_asked_for(
            Engine::redis_tls(true).await,
            Kind::Redis,
        )
        .await;
    }
    #[tokio::test]
    async fn nats_a_publish_reaches_every_node_once_and_not_the_sender() {
        suite::a_publish_reaches_every_node_once_and_not_the_sender(Engine::nats_tls(false).await)
            .await;
    }
    #[tokio::test]
    async fn nats_text_json_and_binary_keep_their_kind() {
        suite::text_json_and_binary_keep_their_kind(Engine::nats_tls(false).await).await;
    }
    #[tokio::test]
    async fn nats_a_killed_broker_comes_back_without_duplicates_or_reordering() {
        suite::a_killed_broker_comes_back_without_duplicates_or_reordering(
            Engine::nats_tls(false).await,
        )
        .await;
    }
    #[tokio::test]
    async fn nats_a_client_certificate_is_shown_when_asked_for() {
        suite::a_client_certificate_is_shown_when_asked_for(
            Engine::nats_tls(true).await,
            Kind::Nats,
        )
        .await;
    }
    #[tokio::test]
    async fn nats_the_broker_certificate_is_checked() {
        suite::the_broker_certificate_is_checked(Engine::nats_tls(false).await, Kind::Nats).await;
    }
}
