//! `cluster`: two (or more) server processes on one broker.
//!
//! Two phases against the same servers:
//!
//! 1. Throughput: a chat room whose clients are split round-robin across the
//!    servers, every client publishing, in rounds, with exact per-client
//!    counts (see `chat`). Every message a client receives from a client on
//!    another server crossed the broker.
//! 2. Cross-node latency: one publisher on the first server sends
//!    timestamped messages at a fixed rate (`--rate`, 10k/s by default);
//!    one listener on the second server records how long each took to
//!    arrive. Both clients live in this process, so one clock times both
//!    ends.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;

use super::chat::{ChatRun, measure};
use crate::client::{connect, next_random, push_frame};
use crate::report::{Report, quantile, rate};

#[derive(Debug, Clone)]
pub(crate) struct ClusterRun {
    pub(crate) name: String,
    pub(crate) targets: Vec<SocketAddr>,
    pub(crate) path: String,
    pub(crate) clients: usize,
    pub(crate) per_round: usize,
    /// Publishes per second in the latency phase.
    pub(crate) rate: u32,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

/// Marks a latency message; the rest of its text is the send time in µs.
const MARK: &[u8] = b"lat ";
/// Marks a route probe, sent until the listener's server has subscribed.
const PROBE: &[u8] = b"probe";

pub(crate) async fn run(run: ClusterRun) -> Result<Report, String> {
    if run.targets.len() < 2 {
        return Err("cluster needs at least two servers: repeat --url".to_owned());
    }
    let throughput = measure(&ChatRun {
        name: run.name.clone(),
        targets: run.targets.clone(),
        path: run.path.clone(),
        clients: run.clients,
        senders: run.clients,
        per_round: run.per_round,
        size: None,
        warmup: run.warmup,
        duration: run.duration,
        round_timeout: Duration::from_secs(30),
        server_pid: None,
        deflate: false,
    })
    .await?;
    let mut latencies = latency(&run).await?;
    latencies.sort_unstable();
    let (p50, p99) = (quantile(&latencies, 0.50), quantile(&latencies, 0.99));
    Ok(Report::new(&run.name)
        .field("servers", run.targets.len())
        .field("clients", run.clients)
        .field("per_round", run.per_round)
        .field("rounds", throughput.rounds)
        .field("delivered", throughput.delivered)
        .field("delivered_per_sec", throughput.per_second.round())
        .field("latency_rate", run.rate)
        .field("latency_samples", latencies.len())
        .field("cross_node_p50_us", p50)
        .field("cross_node_p99_us", p99)
        .human(format!(
            "{} delivered msg/s across {} servers ({} clients, per-client counts exact); \
             cross-node latency at {}/s: p50 {p50} µs, p99 {p99} µs",
            rate(throughput.per_second),
            run.targets.len(),
            run.clients,
            rate(f64::from(run.rate)),
        )))
}

/// Phase 2: paced publishes on the first server, timed on the second.
async fn latency(run: &ClusterRun) -> Result<Vec<u32>, String> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let (publisher, _) = connect(run.targets[0], &run.path, None, &mut seed, false)
        .await
        .map_err(|e| format!("publisher: {e}"))?;
    let (listener, leftover) = connect(run.targets[1], &run.path, None, &mut seed, false)
        .await
        .map_err(|e| format!("listener: {e}"))?;
    let (publisher_reader, mut publisher_writer) = publisher.into_split();
    // The server echoes to the sender too: read and discard it.
    let drain = tokio::spawn(discard(publisher_reader));
    let (mut listener_reader, _listener_writer) = listener.into_split();
    let clock = Instant::now();
    let mut frames = Frames::default();
    frames.buffer.extend_from_slice(&leftover);

    // Probe until a message crosses: the listener's server has subscribed.
    let deadline = Instant::now() + Duration::from_secs(10);
    'route: loop {
        if Instant::now() > deadline {
            return Err("no message crossed from the first server to the second".to_owned());
        }
        let mut probe = Vec::new();
        push_frame(&mut probe, 0x1, PROBE, mask(&mut seed));
        publisher_writer
            .write_all(&probe)
            .await
            .map_err(|e| e.to_string())?;
        let wait = tokio::time::sleep(Duration::from_millis(50));
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => continue 'route,
                read = frames.read(&mut listener_reader) => {
                    read?;
                    while let Some(text) = frames.next_text() {
                        if text.windows(PROBE.len()).any(|w| w == PROBE) {
                            break 'route;
                        }
                    }
                }
            }
        }
    }

    let per_tick = (run.rate / 1000).max(1) as usize;
    let measure_from = Instant::now() + run.warmup;
    let stop_at = measure_from + run.duration;
    let from_us = clock.elapsed() + run.warmup;
    let sender = {
        let mut seed = seed;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(1));
            let mut batch = Vec::new();
            while Instant::now() < stop_at {
                ticks.tick().await;
                batch.clear();
                for _ in 0..per_tick {
                    let mut text = MARK.to_vec();
                    text.extend_from_slice(clock.elapsed().as_micros().to_string().as_bytes());
                    push_frame(&mut batch, 0x1, &text, mask(&mut seed));
                }
                if publisher_writer.write_all(&batch).await.is_err() {
                    return;
                }
            }
            // Keep the socket open until the listener is done.
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
    };
    let mut latencies = Vec::new();
    let listen_until = stop_at + Duration::from_secs(1);
    while let Ok(read) =
        tokio::time::timeout_at(listen_until.into(), frames.read(&mut listener_reader)).await
    {
        read?;
        let now = clock.elapsed().as_micros();
        while let Some(text) = frames.next_text() {
            let Some(at) = text.windows(MARK.len()).position(|w| w == MARK) else {
                continue;
            };
            let digits: Vec<u8> = text[at + MARK.len()..]
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            let Some(sent) = std::str::from_utf8(&digits)
                .ok()
                .and_then(|d| d.parse::<u128>().ok())
            else {
                continue;
            };
            if sent >= from_us.as_micros() {
                latencies.push(now.saturating_sub(sent).min(u128::from(u32::MAX)) as u32);
            }
        }
    }
    sender.abort();
    drain.abort();
    if latencies.is_empty() {
        return Err("no timed message crossed during the latency phase".to_owned());
    }
    Ok(latencies)
}

fn mask(seed: &mut u64) -> [u8; 4] {
    (next_random(seed) as u32).to_le_bytes()
}

async fn discard(mut reader: OwnedReadHalf) {
    let mut buf = vec![0u8; 64 * 1024];
    while matches!(reader.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// Unmasked server frames, whole: enough for the short text messages of
/// this phase (control frames are skipped).
#[derive(Debug, Default)]
struct Frames {
    buffer: Vec<u8>,
}

impl Frames {
    async fn read(&mut self, reader: &mut OwnedReadHalf) -> Result<(), String> {
        let mut chunk = [0u8; 16 * 1024];
        let n = reader.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the listener's server closed the connection".to_owned());
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The payload of the next complete text frame, if one is buffered.
    fn next_text(&mut self) -> Option<Vec<u8>> {
        loop {
            let (len, header) = match *self.buffer.get(1)? & 0x7f {
                126 => (
                    usize::from(u16::from_be_bytes([
                        *self.buffer.get(2)?,
                        *self.buffer.get(3)?,
                    ])),
                    4,
                ),
                127 => {
                    let bytes: [u8; 8] = self.buffer.get(2..10)?.try_into().ok()?;
                    (usize::try_from(u64::from_be_bytes(bytes)).ok()?, 10)
                }
                n => (usize::from(n), 2),
            };
            if self.buffer.len() < header + len {
                return None;
            }
            let opcode = self.buffer[0] & 0x0f;
            let payload = self.buffer[header..header + len].to_vec();
            self.buffer.drain(..header + len);
            if opcode == 0x1 {
                return Some(payload);
            }
        }
    }
}
