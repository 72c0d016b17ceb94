//! The test bodies, each run against every engine.

use std::time::Duration;

use crosswire::broker::BrokerStage;
use serde_json::json;

use crate::certificates::Authority;
use crate::engine::{Engine, Kind, ServerProcess};
use crate::node::{Got, NodeOptions, PATIENCE, route};
use crate::silencing_proxy::SilencingProxy;

/// A publish reaches the other node's WebSocket and SSE subscribers and the
/// publisher's own node's subscribers, each exactly once and in order; the
/// sender gets neither its own message nor an echo from the broker.
pub async fn a_publish_reaches_every_node_once_and_not_the_sender(engine: Engine) {
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut local = a.client().await;
    let mut remote = b.client().await;
    sender.subscribe("chat").await;
    local.subscribe("chat").await;
    remote.subscribe("chat").await;
    let mut stream = b.sse("chat").await;
    route(&mut local, &mut remote, "chat").await;

    for n in 0..20 {
        sender.publish("chat", &format!("message {n}")).await;
    }
    for n in 0..20 {
        let expected = format!("message {n}");
        assert_eq!(local.next_text().await, expected);
        assert_eq!(remote.next_text().await, expected);
        assert_eq!(stream.next_data().await, expected);
    }
    // Ordered delivery makes "end" the next message everywhere, so nothing
    // was duplicated, and the sender's first message is someone else's.
    local.publish("chat", "end").await;
    assert_eq!(remote.next_text().await, "end");
    assert_eq!(stream.next_data().await, "end");
    assert_eq!(sender.next_text().await, "end");
    // A server-side publish on the other node reaches everyone, once.
    assert_eq!(b.handle.publish("chat", "from the server"), 2);
    for client in [&mut sender, &mut local, &mut remote] {
        assert_eq!(client.next_text().await, "from the server");
    }
    assert_eq!(stream.next_data().await, "from the server");
    assert_eq!(remote.maybe_next(Duration::from_millis(200)).await, None);
    assert_eq!(sender.maybe_next(Duration::from_millis(10)).await, None);
}

/// Text stays text, JSON is a text frame, binary stays binary, bytes intact.
pub async fn text_json_and_binary_keep_their_kind(engine: Engine) {
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut remote = b.client().await;
    remote.subscribe("kinds").await;
    route(&mut sender, &mut remote, "kinds").await;

    let bytes: Vec<u8> = (0..=255).collect();
    sender.publish_binary("kinds", &bytes).await;
    sender.publish_json("kinds", json!({ "a": [1, 2] })).await;
    sender.publish("kinds", "héllo").await;
    assert_eq!(remote.next().await, Got::Binary(bytes));
    assert_eq!(remote.next().await, Got::Text("{\"a\":[1,2]}".to_owned()));
    assert_eq!(remote.next().await, Got::Text("héllo".to_owned()));
    a.handle.publish("kinds", vec![0u8, 0xff]);
    assert_eq!(remote.next().await, Got::Binary(vec![0, 0xff]));
}

/// A node holds one broker subscription per topic, whatever its number of
/// local subscribers; unsubscribing the last one drops it, and a new
/// subscriber brings remote delivery back.
pub async fn subscribe_and_unsubscribe_follow_local_interest(engine: Engine) {
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut first = b.client().await;
    let mut second = b.client().await;
    first.subscribe("room").await;
    second.subscribe("room").await;
    route(&mut sender, &mut first, "room").await;
    assert!(second.saw_probe(PATIENCE).await);
    if let Some(count) = engine.broker_subscribers("cwtest", "room").await {
        assert_eq!(
            count, 1,
            "one subscription for the node, not one per subscriber"
        );
    }
    first.unsubscribe("room").await;
    second.unsubscribe("room").await;
    b.wait_subscribers("room", 0).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while let Some(count) = engine.broker_subscribers("cwtest", "room").await
        && count != 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker still has {count} subscriptions"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    second.subscribe("room").await;
    route(&mut sender, &mut second, "room").await;
    sender.publish("room", "back").await;
    assert_eq!(second.next_text().await, "back");
    assert_eq!(first.maybe_next(Duration::from_millis(100)).await, None);
}

/// Topic names with spaces, unicode and a kilobyte of characters.
pub async fn odd_topic_names_work_across_nodes(engine: Engine) {
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut remote = b.client().await;
    let long = "x".repeat(1024);
    // Longer than a NATS control line holds once spelled out; then a short
    // one, which must still work on the same connections.
    let very_long = "y".repeat(6000);
    let topics = [
        "with spaces",
        "ünïcödé 日本語 🎉",
        "a.b*c>d",
        "",
        &long,
        &very_long,
        "after",
    ];
    for topic in topics {
        remote.subscribe(topic).await;
        route(&mut sender, &mut remote, topic).await;
        sender
            .publish(topic, &format!("on {} bytes", topic.len()))
            .await;
        assert_eq!(
            remote.next_text().await,
            format!("on {} bytes", topic.len())
        );
    }
}

/// Two apps with different prefixes on one broker do not hear each other.
pub async fn prefixes_keep_apps_apart(engine: Engine) {
    let options = |prefix: &str| NodeOptions {
        prefix: prefix.to_owned(),
        ..NodeOptions::default()
    };
    let a = engine.node_with(options("one")).await;
    let same = engine.node_with(options("one")).await;
    let other = engine.node_with(options("two")).await;
    let mut sender = a.client().await;
    let mut listener = same.client().await;
    let mut stranger = other.client().await;
    listener.subscribe("chat").await;
    stranger.subscribe("chat").await;
    route(&mut sender, &mut listener, "chat").await;
    sender.publish("chat", "for app one").await;
    assert_eq!(listener.next_text().await, "for app one");
    assert!(!stranger.saw_probe(Duration::from_millis(300)).await);
    assert_eq!(stranger.maybe_next(Duration::from_millis(10)).await, None);
}

/// Bytes on a topic's channel that are not an envelope are dropped and
/// reported at the decode stage; delivery goes on.
pub async fn malformed_envelopes_are_dropped_and_reported(engine: Engine) {
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut remote = b.client().await;
    remote.subscribe("chat").await;
    route(&mut sender, &mut remote, "chat").await;
    if !engine
        .inject("cwtest", "chat", b"hello from something else")
        .await
    {
        return;
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while b.errors_at(BrokerStage::Decode) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no decode error reported"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sender.publish("chat", "after").await;
    assert_eq!(remote.next_text().await, "after");
}

/// `kill -9` of the broker mid-traffic, then a restart on the same port:
/// every node reconnects and resubscribes, delivery resumes soon after the
/// restart, with no duplicates and no reordering.
pub async fn a_killed_broker_comes_back_without_duplicates_or_reordering(engine: Engine) {
    let Some(process) = engine.process() else {
        return;
    };
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut remote = b.client().await;
    remote.subscribe("seq").await;
    route(&mut sender, &mut remote, "seq").await;

    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(got) = remote.maybe_next(Duration::from_secs(3)).await {
            let Got::Text(text) = got else {
                panic!("binary")
            };
            if text == "done" {
                break;
            }
            seen.push((
                text.parse::<u64>().expect("a number"),
                tokio::time::Instant::now(),
            ));
        }
        seen
    });
    let mut n = 0u64;
    let mut publish_for = async |sender: &mut crate::node::Client, duration: Duration| {
        let until = tokio::time::Instant::now() + duration;
        while tokio::time::Instant::now() < until {
            sender.publish("seq", &n.to_string()).await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    publish_for(&mut sender, Duration::from_millis(300)).await;
    process.kill9();
    publish_for(&mut sender, Duration::from_millis(400)).await;
    process.restart().await;
    let restarted = tokio::time::Instant::now();
    publish_for(&mut sender, Duration::from_millis(2500)).await;
    sender.publish("seq", "done").await;
    let seen = reader.await.expect("reader");

    assert!(!seen.is_empty());
    for pair in seen.windows(2) {
        assert!(
            pair[0].0 < pair[1].0,
            "{} then {}: duplicate or reordered",
            pair[0].0,
            pair[1].0
        );
    }
    let resumed = seen
        .iter()
        .find(|(_, at)| *at > restarted)
        .map(|(_, at)| *at - restarted)
        .expect("delivery resumed after the restart");
    eprintln!("delivery resumed {resumed:?} after the restart");
    // The design target is within a second of the restart; allow a loaded
    // CI machine more.
    assert!(
        resumed < Duration::from_secs(5),
        "delivery resumed {resumed:?} after the restart"
    );
    assert!(
        a.errors_at(BrokerStage::Connect) + a.errors_at(BrokerStage::Publish) > 0,
        "the outage was reported"
    );
}

/// `kill -STOP` of the broker: local delivery goes on, publishes for other
/// nodes fill a bounded buffer and then are dropped and counted; after
/// `kill -CONT` delivery resumes.
pub async fn a_stopped_broker_bounds_the_buffer_and_keeps_local_delivery(engine: Engine) {
    let Some(process) = engine.process() else {
        return;
    };
    let budget = 64 << 10;
    let a = engine
        .node_with(NodeOptions {
            buffer_bytes: budget,
            ..NodeOptions::default()
        })
        .await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut local = a.client().await;
    let mut remote = b.client().await;
    local.subscribe("load").await;
    remote.subscribe("load").await;
    route(&mut sender, &mut remote, "load").await;

    process.stop();
    // Publish until the buffer overflows: the sockets' own buffers take an
    // amount that depends on the kernel, so no fixed count is enough. Read
    // the local copies as they come, as a live client would.
    let filler = "f".repeat(200);
    let mut n = 0u64;
    while a.handle.broker_stats().dropped == 0 {
        assert!(
            n < 200_000,
            "nothing dropped after {n} publishes: {:?}",
            a.handle.broker_stats()
        );
        for _ in 0..1000 {
            sender.publish("load", &format!("{n} {filler}")).await;
            n += 1;
        }
        for m in n - 1000..n {
            assert_eq!(
                local.next_text().await,
                format!("{m} {filler}"),
                "local delivery"
            );
        }
    }
    let stats = a.handle.broker_stats();
    assert!(stats.dropped > 0, "{stats:?}");
    assert!(stats.buffered_bytes <= budget, "{stats:?}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while a.errors_at(BrokerStage::Publish) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the overflow was not reported"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    process.cont();

    // What reached the other node is in order, without duplicates.
    let mut last = None;
    route(&mut sender, &mut remote, "load").await;
    while let Some(Got::Text(text)) = remote.maybe_next(Duration::from_millis(10)).await {
        let n: u64 = text
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("numbered");
        assert!(last < Some(n), "{last:?} then {n}");
        last = Some(n);
    }
    sender.publish("load", "after").await;
    assert_eq!(remote.next_text().await, "after");
}

/// A node whose connections to the broker go silent without closing (the
/// far end vanished without a word) notices by its pings, reconnects and
/// resubscribes: delivery from the other nodes resumes.
pub async fn a_connection_that_goes_silent_is_replaced(engine: Engine) {
    let Some(process) = engine.process() else {
        return;
    };
    let proxy = SilencingProxy::start(process.port()).await;
    let a = engine
        .node_with(NodeOptions {
            port: Some(proxy.port),
            ..NodeOptions::default()
        })
        .await;
    let b = engine.node().await;
    let mut listener = a.client().await;
    let mut sender = b.client().await;
    listener.subscribe("room").await;
    route(&mut sender, &mut listener, "room").await;

    proxy.silence();
    // Pings go unanswered for a few seconds; then a new connection
    // through the proxy carries the subscription again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut n = 0u64;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing arrived over a new connection"
        );
        n += 1;
        sender.publish("room", &format!("after {n}")).await;
        if let Some(Got::Text(text)) = listener.maybe_next(Duration::from_millis(500)).await
            && text.starts_with("after ")
        {
            break;
        }
    }
    // The report may come from another task than the delivery.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while a.errors_at(BrokerStage::Connect) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lost connection was not reported"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An unreachable broker at startup is an error naming `broker.url`, unless
/// `wait_at_startup` is set: then `connect` waits for the broker to answer.
pub async fn an_unreachable_broker_fails_startup_unless_told_to_wait(kind: Kind) {
    let process = ServerProcess::reserve(kind);
    let mut config = crosswire::BrokerConfig::default();
    config.url = Some(process.url());

    // A prefix that could spell another app's channel is refused first,
    // in a config built in code as in one read from a file.
    for bad in ["app:x", "app.x", ""] {
        let mut bad_config = config.clone();
        bad_config.prefix = bad.to_owned();
        let error = match kind {
            Kind::Redis => crosswire_redis::connect(&bad_config)
                .await
                .err()
                .map(|e| e.to_string()),
            Kind::Nats => crosswire_nats::connect(&bad_config)
                .await
                .err()
                .map(|e| e.to_string()),
        }
        .expect("a bad prefix is refused");
        assert!(error.starts_with("broker.prefix: "), "{bad}: {error}");
    }

    let error = match kind {
        Kind::Redis => crosswire_redis::connect(&config)
            .await
            .err()
            .map(|e| e.to_string()),
        Kind::Nats => crosswire_nats::connect(&config)
            .await
            .err()
            .map(|e| e.to_string()),
    }
    .expect("nothing listens yet");
    assert!(error.starts_with("broker.url: "), "{error}");
    assert!(error.contains("wait_at_startup"), "{error}");

    config.wait_at_startup = true;
    let waiting = tokio::spawn(async move {
        match kind {
            Kind::Redis => crosswire_redis::connect(&config).await.map(|_| ()),
            Kind::Nats => crosswire_nats::connect(&config).await.map(|_| ()),
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "connect returned before the broker started"
    );
    process.restart().await;
    tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("connect returns once the broker answers")
        .expect("task")
        .expect("connected");
}

/// A URL of the wrong scheme is refused by the engine, naming the key.
pub async fn a_url_of_another_scheme_is_refused(kind: Kind) {
    let mut config = crosswire::BrokerConfig::default();
    config.url = Some("amqp://127.0.0.1:5672".to_owned());
    let error = match kind {
        Kind::Redis => crosswire_redis::connect(&config)
            .await
            .err()
            .map(|e| e.to_string()),
        Kind::Nats => crosswire_nats::connect(&config)
            .await
            .err()
            .map(|e| e.to_string()),
    }
    .expect("refused");
    assert!(error.starts_with("broker.url: "), "{error}");
}

/// The broker's state shows in the node's metrics: connected, then not
/// while the broker is down (with the connect error counted), then
/// connected again once it is back and the node resubscribed.
pub async fn broker_state_shows_in_the_metrics(engine: Engine) {
    let Some(process) = engine.process() else {
        return;
    };
    let a = engine.node().await;
    let b = engine.node().await;
    let mut sender = a.client().await;
    let mut remote = b.client().await;
    remote.subscribe("state").await;
    route(&mut sender, &mut remote, "state").await;
    a.wait_metric("crosswire_broker_connected", 1.0).await;

    process.kill9();
    b.wait_metric("crosswire_broker_connected", 0.0).await;
    let text = b.handle.metrics_text().expect("metrics are on");
    assert!(
        text.lines().any(|line| line
            .starts_with("crosswire_broker_errors_total{stage=\"connect\"}")
            && !line.ends_with(" 0")),
        "no connect error counted:\n{text}"
    );
    process.restart().await;
    b.wait_metric("crosswire_broker_connected", 1.0).await;
    route(&mut sender, &mut remote, "state").await;
}

/// A server that stops closes its connections to the broker, even while
/// something (here, its handle) keeps its state alive.
pub async fn a_stopped_server_closes_its_broker_connections(engine: Engine) {
    let mut node = engine.node().await;
    let mut client = node.client().await;
    client.subscribe("t").await;
    node.wait_subscribers("t", 1).await;
    let Some(open) = engine.broker_connections().await else {
        return;
    };
    assert!(open > 0);
    // Gone first: the server's shutdown waits for its clients to close.
    drop(client);
    node.stop();
    engine.wait_no_broker_connections().await;
    drop(node);
}

/// The message of the error `connect` gives `kind`'s broker for `config`,
/// within [`PATIENCE`]; `None` if it connected.
async fn connect_error(kind: Kind, config: &crosswire::BrokerConfig) -> Option<String> {
    let attempt = async {
        match kind {
            Kind::Redis => crosswire_redis::connect(config)
                .await
                .err()
                .map(|e| e.to_string()),
            Kind::Nats => crosswire_nats::connect(config)
                .await
                .err()
                .map(|e| e.to_string()),
        }
    };
    tokio::time::timeout(PATIENCE, attempt)
        .await
        .expect("connect answers in time")
}

/// Over TLS, the broker's certificate is checked: a node that does not
/// trust it (the system's roots, or an authority that did not sign it) is
/// refused at startup with an error naming `broker.url`; a `ca_file` that
/// cannot be read or holds no certificate is named before any connection.
/// The node that trusts it connects (on NATS with a `nats://` URL too).
pub async fn the_broker_certificate_is_checked(engine: Engine, kind: Kind) {
    let trusted = engine.broker_config(&NodeOptions::default());
    assert!(trusted.ca_file.is_some(), "a TLS engine");
    assert_eq!(connect_error(kind, &trusted).await, None);
    if kind == Kind::Nats {
        // A nats:// URL gets TLS too when the server requires it.
        let mut plain_scheme = trusted.clone();
        plain_scheme.url = trusted
            .url
            .as_ref()
            .map(|url| url.replace("tls://", "nats://"));
        assert_eq!(connect_error(kind, &plain_scheme).await, None);
    }

    let mut system_roots = trusted.clone();
    system_roots.ca_file = None;
    let error = connect_error(kind, &system_roots)
        .await
        .expect("a certificate no system root signed is refused");
    assert!(error.starts_with("broker.url: "), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.pem");
    std::fs::write(&other, Authority::new().pem()).unwrap();
    let mut other_authority = trusted.clone();
    other_authority.ca_file = Some(other);
    let error = connect_error(kind, &other_authority)
        .await
        .expect("a certificate another authority signed is refused");
    assert!(error.starts_with("broker.url: "), "{error}");

    for contents in [None, Some("no certificate here\n")] {
        let path = dir.path().join("bad.pem");
        let _ = std::fs::remove_file(&path);
        if let Some(contents) = contents {
            std::fs::write(&path, contents).unwrap();
        }
        let mut bad = trusted.clone();
        bad.ca_file = Some(path);
        let error = connect_error(kind, &bad)
            .await
            .expect("a bad ca_file is refused");
        assert!(error.starts_with("broker.ca_file: "), "{error}");
    }
}

/// A broker that asks for a client certificate gets the one of
/// `cert_file` and `key_file`, and messages flow between the nodes that
/// show it; a node that shows none, or one another authority signed, is
/// refused at startup naming `broker.url`.
pub async fn a_client_certificate_is_shown_when_asked_for(engine: Engine, kind: Kind) {
    let with_certificate = engine.broker_config(&NodeOptions::default());
    assert!(
        with_certificate.cert_file.is_some(),
        "a server that verifies clients"
    );

    let mut without = with_certificate.clone();
    without.cert_file = None;
    without.key_file = None;
    let error = connect_error(kind, &without)
        .await
        .expect("a node without a client certificate is refused");
    assert!(error.starts_with("broker.url: "), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = Authority::new().sign();
    let mut stranger = with_certificate.clone();
    stranger.cert_file = Some(dir.path().join("cert.pem"));
    stranger.key_file = Some(dir.path().join("key.pem"));
    std::fs::write(stranger.cert_file.as_ref().unwrap(), cert).unwrap();
    std::fs::write(stranger.key_file.as_ref().unwrap(), key).unwrap();
    let error = connect_error(kind, &stranger)
        .await
        .expect("a client certificate another authority signed is refused");
    assert!(error.starts_with("broker.url: "), "{error}");

    a_publish_reaches_every_node_once_and_not_the_sender(engine).await;
}
