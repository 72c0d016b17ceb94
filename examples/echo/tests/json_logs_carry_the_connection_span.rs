//! The echo server run as a process with `CROSSWIRE_LOG_FORMAT=json`: every
//! line it writes is one JSON object; events inside a connection carry the
//! connection's span (peer id, remote address, route, path); and at the
//! default level a connection's messages write no lines at all.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const PATIENCE: Duration = Duration::from_secs(20);

/// The echo server on a free port, its log lines arriving on a channel.
struct Echo {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Echo {
    fn start(rust_log: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_echo"));
        command
            .env("PORT", "0")
            .env("CROSSWIRE_LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .env_remove("CROSSWIRE_DEV")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let mut child = command.spawn().unwrap();
        let stderr: ChildStderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The next line, parsed: every line must be one JSON object.
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(PATIENCE)
            .expect("a log line in time");
        parse(&line)
    }

    /// Lines until one matches, each checked to be JSON on the way.
    fn until(&self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let event = self.next();
            if wanted(&event) {
                return event;
            }
        }
    }

    /// Stops the server and returns every line it had not yet read.
    fn stop(mut self) -> Vec<Value> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader thread ends at end of file, dropping the sender.
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            rest.push(parse(&line));
        }
        rest
    }
}

fn parse(line: &str) -> Value {
    let value: Value = serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("not one JSON object ({error}): {line}"));
    assert!(value.is_object(), "not an object: {line}");
    value
}

fn message(event: &Value) -> &str {
    event["fields"]["message"].as_str().unwrap_or_default()
}

/// Whether `event` is the server's startup line, `listening`.
fn is_listening(event: &Value) -> bool {
    event["target"] == "crosswire::server" && message(event) == "listening"
}

/// The URL from the server's `listening` event: `ws://127.0.0.1:port/`.
fn url(echo: &Echo) -> String {
    let listening = echo.until(is_listening);
    assert_eq!(listening["level"], "INFO");
    format!("ws://{}/", listening["fields"]["addr"].as_str().unwrap())
}

async fn talk(url: &str, messages: usize) {
    let (mut client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    for n in 0..messages {
        client.send(Message::text(format!("m{n}"))).await.unwrap();
        let echoed = tokio::time::timeout(PATIENCE, client.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echoed, Message::text(format!("m{n}")));
    }
    client
        .close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    // Read to the server's close frame and the end of the stream.
    while let Ok(Some(Ok(_))) = tokio::time::timeout(PATIENCE, client.next()).await {}
}

#[tokio::test]
async fn connection_events_carry_peer_remote_and_route() {
    let echo = Echo::start(Some("info,crosswire=debug"));
    let url = url(&echo);
    talk(&url, 3).await;

    let open = echo.until(|e| message(e) == "open");
    let close = echo.until(|e| message(e) == "close");
    for event in [&open, &close] {
        let span = &event["span"];
        assert_eq!(span["name"], "ws", "{event}");
        assert!(
            span["peer"].as_str().is_some_and(|p| !p.is_empty()),
            "{event}"
        );
        assert!(
            span["remote"]
                .as_str()
                .is_some_and(|r| r.starts_with("127.0.0.1:")),
            "{event}"
        );
        assert_eq!(span["route"], "/", "{event}");
        assert_eq!(span["path"], "/", "{event}");
        assert_eq!(event["spans"][0]["name"], "ws", "{event}");
    }
    assert_eq!(open["span"]["peer"], close["span"]["peer"]);
    assert_eq!(close["fields"]["code"], 1001, "{close}");
    assert_eq!(close["fields"]["reason"], "bye", "{close}");
    echo.stop();
}

#[tokio::test]
async fn the_default_level_writes_no_line_per_connection_or_message() {
    let echo = Echo::start(None);
    let url = url(&echo);
    talk(&url, 50).await;
    // A second connection after the first has closed: had the first logged
    // anything, it would be read before this one's lines.
    talk(&url, 1).await;
    // Only startup lines may follow the one `url` read; nothing from the
    // connections, inside their span or out.
    let rest: Vec<Value> = echo
        .stop()
        .into_iter()
        .filter(|e| !is_listening(e))
        .collect();
    assert!(rest.is_empty(), "{rest:#?}");
}
