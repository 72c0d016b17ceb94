//! SIGTERM drains the server: with 2 000 WebSocket peers and 200 event
//! streams that have data queued, every WebSocket client receives all of its
//! queued frames and then the shutdown close code (none sees the connection
//! drop without one), every event-stream client receives its queued events
//! and a `retry:` line, new connections are refused with 503 while it
//! drains, and the process exits 0 within the shutdown timeout. The server
//! runs in a child process (this test binary again), so that the signal is
//! real.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Set in the child process: run the server instead of the clients.
const CHILD: &str = "CROSSWIRE_TEST_SIGTERM_CHILD";
const PEERS: usize = 2000;
const STREAMS: usize = 200;
/// Messages published to everyone just before the signal.
const QUEUED: usize = 20;
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// The child: a server whose `/ws` peers and `/events` streams all follow
/// topic `t`, and `POST /flood` publishes `QUEUED` messages of 1 KiB to it.
async fn child() {
    let mut config = Config::default();
    config.server.shutdown_timeout = SHUTDOWN_TIMEOUT;
    config.server.max_connections = 10_000;
    config.sse.queue_bytes = 1 << 20;
    let ws = hooks().open(|peer: Peer| async move {
        peer.subscribe("t");
        peer.send("ready");
    });
    let app = App::with_config(config)
        .websocket("/ws", ws)
        .route(
            "/events",
            axum::routing::get(|request: axum::extract::Request| async move {
                let stream = crosswire::create_event_stream(&request);
                stream.subscribe("t");
                stream.push("ready");
                stream.send()
            }),
        )
        .route(
            "/count",
            axum::routing::get(|server: ServerHandle| async move {
                server.subscriber_count("t").to_string()
            }),
        )
        .route(
            "/echo",
            axum::routing::post(|body: String| async move { body }),
        )
        .route(
            "/flood",
            axum::routing::post(|server: ServerHandle| async move {
                let mut reached = 0;
                for seq in 0..QUEUED {
                    reached += server.publish("t", format!("{seq:04}{}", "q".repeat(1020)));
                }
                format!("flooded {reached}")
            }),
        );
    let server = app.listen_on("127.0.0.1:0").await.unwrap();
    eprintln!("child listening on {}", server.local_addr());
    server.run().await.unwrap();
    eprintln!("child drained");
}

/// Starts the child and returns it with the address it listens on.
fn start_child() -> (Child, SocketAddr) {
    let test = format!(
        "{}::sigterm_drains_every_peer_and_stream",
        module_path!().split_once("::").unwrap().1
    );
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("TEST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(addr) = line.strip_prefix("child listening on ") {
                let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                sent = true;
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    (child, addr)
}

/// A WebSocket client's whole stream: its text messages and the close
/// code, answering the server's close frame as a client should.
async fn ws_ending(mut stream: TcpStream) -> (Vec<String>, Option<u16>) {
    let mut bytes = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut texts = Vec::new();
    let mut code = None;
    let mut parsed = 0;
    loop {
        let n = tokio::time::timeout(PATIENCE * 4, stream.read(&mut buffer))
            .await
            .expect("the server neither closed nor ended the stream")
            .unwrap_or(0);
        if n == 0 {
            return (texts, code);
        }
        bytes.extend_from_slice(&buffer[..n]);
        while let Some((opcode, payload, len)) = server_frame(&bytes[parsed..]) {
            parsed += len;
            match opcode {
                0x1 => texts.push(String::from_utf8(payload).unwrap()),
                0x8 => {
                    code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    let _ = stream.write_all(&client_frame(0x88, &payload[..2])).await;
                }
                _ => {}
            }
        }
    }
}

/// The first complete unmasked frame of `bytes`: opcode, payload, length.
fn server_frame(bytes: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (first, second) = (*bytes.first()?, *bytes.get(1)?);
    let (len, header) = match second & 0x7f {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        short => (short as usize, 2),
    };
    let payload = bytes.get(header..header + len)?;
    Some((first & 0x0f, payload.to_vec(), header + len))
}

/// An event-stream client's whole response body after its head.
async fn sse_ending(mut stream: TcpStream) -> String {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE * 4, stream.read_to_end(&mut bytes))
        .await
        .expect("the event stream never ended")
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn http(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes)).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_every_peer_and_stream() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let (mut child, addr) = start_child();

    let mut peers = Vec::with_capacity(PEERS);
    for _ in 0..PEERS {
        peers.push(raw_upgrade(addr, "/ws").await);
    }
    let mut streams = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request =
            format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        streams.push(stream);
    }
    // Every peer and stream is subscribed once the server counts them all.
    let deadline = Instant::now() + PATIENCE * 4;
    loop {
        let count = http(
            addr,
            "GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        if count.ends_with(&format!("\r\n\r\n{}", PEERS + STREAMS)) {
            break;
        }
        assert!(Instant::now() < deadline, "not all subscribed: {count}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Data queued for everyone, none of it read yet; then the signal.
    let flood = http(
        addr,
        "POST /flood HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        flood.ends_with(&format!("flooded {}", QUEUED * (PEERS + STREAMS))),
        "{flood}"
    );
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // While it drains, the server answers new upgrades with 503 (the first
    // tries may still beat the signal handler and be upgraded).
    let mut refused = None;
    let mut answers = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(upgrade_request(addr, "/ws", "").as_bytes())
            .await
            .unwrap();
        let mut head = vec![0u8; 512];
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut head))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        if head.starts_with("HTTP/1.1 503") {
            refused = Some(head);
            break;
        }
        answers.push(head.lines().next().unwrap_or_default().to_owned());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let refused =
        refused.unwrap_or_else(|| panic!("no upgrade was refused while draining: {answers:?}"));
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    // Requests that go to hyper (a body, HTTP/1.0) are still answered, on
    // their last connection.
    for round in 0..20 {
        let echo = http(
            addr,
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await;
        assert!(
            echo.starts_with("HTTP/1.1 200") && echo.ends_with("hello"),
            "round {round}: {echo:?}"
        );
        let old = http(addr, "GET /count HTTP/1.0\r\n\r\n").await;
        assert!(old.starts_with("HTTP/1.0 200"), "round {round}: {old:?}");
    }

    // Every peer gets everything queued for it, then 1001.
    let endings: Vec<_> = peers
        .into_iter()
        .map(|stream| tokio::spawn(ws_ending(stream)))
        .collect();
    let expected: Vec<String> = std::iter::once("ready".to_owned())
        .chain((0..QUEUED).map(|seq| format!("{seq:04}{}", "q".repeat(1020))))
        .collect();
    for (index, ending) in endings.into_iter().enumerate() {
        let (texts, code) = ending.await.unwrap();
        assert_eq!(code, Some(1001), "peer {index} got no close frame");
        assert!(
            texts == expected,
            "peer {index} got {} of {} messages",
            texts.len(),
            expected.len()
        );
    }
    // Every stream gets its queued events, then `retry:`, then its end.
    let endings: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(sse_ending(stream)))
        .collect();
    for (index, ending) in endings.into_iter().enumerate() {
        let body = ending.await.unwrap();
        let mut at = body
            .find("data: ready")
            .unwrap_or_else(|| panic!("stream {index}: {body}"));
        for seq in 0..QUEUED {
            let event = format!("data: {seq:04}");
            at += body[at..]
                .find(&event)
                .unwrap_or_else(|| panic!("stream {index} lacks event {seq}"));
        }
        let retry = body[at..].find("retry: ");
        assert!(retry.is_some(), "stream {index} ended without retry:");
        assert!(
            body.ends_with("0\r\n\r\n"),
            "stream {index} did not end cleanly"
        );
    }

    // The process exits 0 within the shutdown timeout.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < SHUTDOWN_TIMEOUT + Duration::from_secs(5),
            "the server did not exit within its shutdown timeout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    assert!(signalled.elapsed() < SHUTDOWN_TIMEOUT + Duration::from_secs(1));
}
