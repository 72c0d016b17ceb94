//! The server-wide budget for send queues (`[server] max_queued_bytes`):
//! two thousand peers that subscribe to a busy topic and never read are
//! closed with 1008 once it is spent, what the queues hold stays near the
//! budget instead of growing to peers × queue size, and the peers that read
//! get every message, in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crosswire::config::Config;
use crosswire::prelude::*;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::support::*;

const SILENT: usize = 2000;
const READERS: usize = 3;
const MESSAGES: usize = 3000;
const BUDGET: usize = 32 << 20;
/// Messages per round: the budget must hold what one round queues for every
/// peer before their writers run (2000 × 10 × 600 bytes), or it would be
/// spent by a burst rather than by peers that stopped reading.
const ROUND: usize = 10;
const REASON: &[u8] = b"server send budget exceeded";

/// A peer that upgrades and then does not read. Its receive buffer is set
/// well above the loopback MSS (64 KiB): with a window smaller than one
/// segment the kernel falls back to zero-window probes, whose backoff would
/// make the stream crawl once the client reads again.
async fn silent_peer(server: &TestServer) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(256 << 10).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    upgrade_stream(stream, server.addr, "/", "").await.0
}

/// Bytes of every message the publisher sends, as framed to a peer, after
/// the `ready` greeting.
fn all_messages_len() -> usize {
    let greeting = 2 + "ready".len();
    greeting + MESSAGES * (4 + 600)
}

/// How a silent peer's stream ended once it read again.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// What was on its way, then the budget's close frame, then the end.
    ClosedWith1008,
    /// The kernel's buffers had taken every message: never behind.
    GotEverything,
    /// Anything else: a bug.
    Other(usize),
}

async fn read_ending(mut stream: TcpStream) -> Ending {
    let mut close = vec![0x88, 2 + REASON.len() as u8, 0x03, 0xf0];
    close.extend_from_slice(REASON);
    let mut bytes = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::time::timeout(PATIENCE * 2, stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => bytes.extend_from_slice(&buffer[..n]),
            Ok(Err(_)) | Err(_) => break,
        }
        if bytes.len() == all_messages_len() {
            return Ending::GotEverything;
        }
    }
    if bytes.ends_with(&close) {
        Ending::ClosedWith1008
    } else {
        Ending::Other(bytes.len())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_queue_budget_closes_the_peers_furthest_behind() {
    let mut config = Config::default();
    config.server.max_queued_bytes = BUDGET;
    // The silent peers read only at the end; their close must wait for them.
    config.websocket.close_timeout = Duration::from_secs(120);
    config.websocket.send_queue_bytes = 1 << 20;
    let handler = hooks()
        .open(|peer: Peer| async move {
            peer.subscribe("busy");
            peer.send("ready");
        })
        .message(|peer: Peer, message: Message| async move {
            peer.publish("busy", message.text());
        });
    let server = start(App::with_config(config).websocket("/", handler)).await;

    let mut silent = Vec::with_capacity(SILENT);
    for _ in 0..SILENT {
        silent.push(silent_peer(&server).await);
    }
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let mut reader = connect(&server, "/").await;
        assert_eq!(next_text(&mut reader).await, "ready");
        readers.push(reader);
    }
    let mut publisher = connect(&server, "/").await;
    assert_eq!(next_text(&mut publisher).await, "ready");
    while server.handle.subscriber_count("busy") < SILENT + READERS + 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Readers take every message as it comes, checking the order.
    let progress: Vec<_> = (0..READERS)
        .map(|_| Arc::new(AtomicUsize::new(0)))
        .collect();
    let reading: Vec<_> = readers
        .into_iter()
        .zip(progress.clone())
        .enumerate()
        .map(|(index, (mut reader, progress))| {
            tokio::spawn(async move {
                for expected in 0..MESSAGES {
                    let text = next_text(&mut reader).await;
                    let seq: usize = text[..6].parse().unwrap();
                    assert_eq!(seq, expected, "reader {index} got {seq}");
                    progress.store(expected + 1, Ordering::Relaxed);
                }
                reader
            })
        })
        .collect();

    // Small messages, which every queue copies: 600 bytes each, in rounds
    // the readers keep up with (this test machine is also running them).
    let mut most_held = 0;
    for seq in 0..MESSAGES {
        send_text(&mut publisher, &format!("{seq:06}{}", "m".repeat(594))).await;
        if seq % ROUND == ROUND - 1 {
            most_held = most_held.max(server.handle.send_queue_stats().held_bytes);
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while progress.iter().any(|p| p.load(Ordering::Relaxed) <= seq) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the readers stalled"
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    let mut readers = Vec::new();
    for task in reading {
        readers.push(task.await.unwrap());
    }
    let stats = server.handle.send_queue_stats();
    most_held = most_held.max(stats.held_bytes);

    // Unbounded, the silent peers' queues would reach 2000 × 1.8 MB. Each
    // peer kept holds at most its share (in buffers up to twice the data),
    // plus the writers' pooled buffers.
    assert!(
        most_held <= 3 * BUDGET + (16 << 20),
        "the queues held {most_held} bytes against a {BUDGET}-byte budget"
    );
    assert!(
        stats.closed as usize >= SILENT * 9 / 10,
        "only {} of {SILENT} silent peers were closed",
        stats.closed
    );

    // Each closed silent peer gets what was already on its way, then 1008;
    // the others had everything taken by the kernel.
    let endings: Vec<_> = silent
        .into_iter()
        .map(|stream| tokio::spawn(read_ending(stream)))
        .collect();
    let mut closed_with_1008 = 0;
    for ending in endings {
        match ending.await.unwrap() {
            Ending::ClosedWith1008 => closed_with_1008 += 1,
            Ending::GotEverything => {}
            Ending::Other(len) => {
                panic!("a silent peer's stream ended after {len} bytes without the close frame")
            }
        }
    }
    assert_eq!(closed_with_1008 as u64, stats.closed);

    // The server still serves the readers and new clients.
    send_text(&mut publisher, "999999 after").await;
    for reader in &mut readers {
        assert_eq!(next_text(reader).await, "999999 after");
    }
    let mut late = connect(&server, "/").await;
    assert_eq!(next_text(&mut late).await, "ready");
}
