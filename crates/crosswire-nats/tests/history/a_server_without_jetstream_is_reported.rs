//! A NATS server without JetStream cannot keep history: a publish on a
//! history topic is reported (stage `history`) with what to do about it.

use std::time::Duration;

use crosswire::broker::BrokerStage;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_jetstream_is_reported() {
    let nats = Nats::start_with(false).await;
    let a = Node::start(&nats, 100).await;

    a.publish(1);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let messages = loop {
        let messages = a.error_messages(BrokerStage::History);
        if !messages.is_empty() {
            break messages;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing reported");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        messages[0].contains("JetStream is not enabled") && messages[0].contains("-js"),
        "{messages:?}"
    );
}
