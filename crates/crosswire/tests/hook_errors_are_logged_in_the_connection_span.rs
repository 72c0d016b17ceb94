//! At the default `info` level, a hook's error and a hook's panic are logged
//! inside the connection's span, so the log line carries the peer id, the
//! remote address, the route pattern and the path.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crosswire::prelude::*;
use futures_util::SinkExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Everything the subscriber wrote, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every line so far, each parsed as one JSON object.
    fn events(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Waits for the event whose message is `message`.
    async fn wait_for(&self, message: &str) -> Value {
        let deadline = tokio::time::Instant::now() + support::PATIENCE;
        loop {
            if let Some(event) = self
                .events()
                .into_iter()
                .find(|e| e["fields"]["message"] == message)
            {
                return event;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no `{message}` in {:#?}",
                self.events()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn hook_errors_and_panics_carry_the_connection_span_at_the_default_level() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The global subscriber: the server's worker threads log too.
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_env_filter("info")
        .with_writer(move || writer.clone())
        .init();

    let handler = hooks().message(|_peer: Peer, message: Message| async move {
        if message.text() == "panic" {
            panic!("asked to panic");
        }
        Err::<(), String>(format!("refused {}", message.text()))
    });
    let server = support::start(App::new().websocket("/rooms/{room}", handler)).await;
    let (mut client, _) = tokio_tungstenite::connect_async(server.url("/rooms/blue"))
        .await
        .unwrap();
    client.send(WsMessage::text("hello")).await.unwrap();
    client.send(WsMessage::text("panic")).await.unwrap();

    let failed = captured.wait_for("hook returned an error").await;
    let panicked = captured.wait_for("hook panicked").await;
    assert_eq!(failed["fields"]["error"], "refused hello", "{failed}");
    assert_eq!(panicked["fields"]["panic"], "asked to panic", "{panicked}");
    for event in [&failed, &panicked] {
        assert_eq!(event["level"], "ERROR", "{event}");
        assert_eq!(event["target"], "crosswire::hook", "{event}");
        let span = &event["span"];
        assert_eq!(span["name"], "ws", "{event}");
        assert_eq!(span["route"], "/rooms/{room}", "{event}");
        assert_eq!(span["path"], "/rooms/blue", "{event}");
        assert_eq!(span["peer"], event["fields"]["peer"], "{event}");
        assert!(
            span["remote"]
                .as_str()
                .is_some_and(|r| r.starts_with("127.0.0.1:")),
            "{event}"
        );
    }
    // Nothing else at the default level: no line per message or connection.
    let others: Vec<Value> = captured
        .events()
        .into_iter()
        .filter(|e| e["target"] != "crosswire::hook" && e["target"] != "crosswire::server")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    drop(client);
    server.shutdown().await;
}
