//! `chat` and `fanout`: clients in one room, in rounds.
//!
//! In each round every sender writes `per_round` short messages; the round
//! ends when every client has received every message of the round (the
//! server echoes to the sender and publishes to everyone else, so each client
//! receives `senders × per_round`). The next round starts only then, so a
//! server cannot look fast by dropping or queueing without bound.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, watch};

use crate::client::{FrameCounter, connect, push_frame, random_text};
use crate::report::{Report, rate};

/// How a chat run is shaped.
#[derive(Debug, Clone)]
pub(crate) struct ChatRun {
    pub(crate) name: String,
    /// Servers to connect to; client `i` goes to `targets[i % len]` (one
    /// for chat and fan-out, several for a cluster).
    pub(crate) targets: Vec<SocketAddr>,
    pub(crate) path: String,
    pub(crate) clients: usize,
    /// Clients that send (all of them for chat, one for fan-out).
    pub(crate) senders: usize,
    pub(crate) per_round: usize,
    /// Length of every message's text; `None`: 3 to 28 bytes, at random.
    pub(crate) size: Option<usize>,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Longest a round may take before the run is declared broken.
    pub(crate) round_timeout: Duration,
    /// The server process, to report its CPU time per delivered message.
    pub(crate) server_pid: Option<u32>,
    /// Every client negotiates permessage-deflate.
    pub(crate) deflate: bool,
}

struct Shared {
    received: AtomicU64,
    per_client: Vec<AtomicU64>,
    /// Messages that end the current round: only the read that reaches it
    /// wakes the round loop, not every read of a thousand clients.
    round_target: AtomicU64,
    progress: Notify,
}

/// What a chat run measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub(crate) rounds: u64,
    pub(crate) delivered: u64,
    pub(crate) seconds: f64,
    pub(crate) per_second: f64,
    pub(crate) setup: Duration,
    /// Server CPU time over the measured window, when its PID was given.
    pub(crate) server_cpu: Option<Duration>,
}

pub(crate) async fn run(run: ChatRun) -> Result<Report, String> {
    let outcome = measure(&run).await?;
    let mut report = Report::new(&run.name);
    if let Some(size) = run.size {
        report = report.field("message_bytes", size);
    }
    let mut cpu_note = String::new();
    if let Some(cpu) = outcome.server_cpu {
        let ns_per_message = cpu.as_nanos() as f64 / outcome.delivered.max(1) as f64;
        report = report.field("server_cpu_s", cpu.as_secs_f64()).field(
            "server_cpu_ns_per_msg",
            (ns_per_message * 10.0).round() / 10.0,
        );
        cpu_note = format!(", server CPU {ns_per_message:.0} ns per delivered message");
    }
    Ok(report
        .field("clients", run.clients)
        .field("senders", run.senders)
        .field("per_round", run.per_round)
        .field("rounds", outcome.rounds)
        .field("delivered", outcome.delivered)
        .field("seconds", outcome.seconds)
        .field("delivered_per_sec", outcome.per_second.round())
        .field("setup_ms", outcome.setup.as_millis() as u64)
        .field("deflate", run.deflate)
        .human(format!(
            "{} delivered msg/s ({} rounds of {} clients, {} per round, per-client counts exact){cpu_note}",
            rate(outcome.per_second),
            outcome.rounds,
            run.clients,
            (run.senders * run.per_round * run.clients) as u64
        )))
}

/// Runs rounds until the measured time is over and checks every client's
/// count; see the module docs.
pub(crate) async fn measure(run: &ChatRun) -> Result<Outcome, String> {
    if run.targets.is_empty() {
        return Err("no server to connect to".to_owned());
    }
    let shared = Arc::new(Shared {
        received: AtomicU64::new(0),
        per_client: (0..run.clients).map(|_| AtomicU64::new(0)).collect(),
        round_target: AtomicU64::new(u64::MAX),
        progress: Notify::new(),
    });
    let (round_tx, round_rx) = watch::channel(0u64);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let connect_started = Instant::now();
    let mut idle_writers = Vec::new();
    for index in 0..run.clients {
        let target = run.targets[index % run.targets.len()];
        let (stream, leftover) = connect(target, &run.path, None, &mut seed, run.deflate)
            .await
            .map_err(|e| format!("client {index}: {e}"))?;
        let (mut reader, mut writer) = stream.into_split();
        // Wait for the welcome so every client is subscribed before round 1.
        let mut counter = FrameCounter::default();
        let mut welcomed = counter.feed(&leftover).messages;
        let mut buf = vec![0u8; 64 * 1024];
        while welcomed == 0 {
            let n = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut buf))
                .await
                .map_err(|_| format!("client {index}: no welcome"))?
                .map_err(|e| format!("client {index}: {e}"))?;
            if n == 0 {
                return Err(format!("client {index}: closed before the welcome"));
            }
            welcomed += counter.feed(&buf[..n]).messages;
        }
        let shared_reader = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let seen = counter.feed(&buf[..n]);
                if seen.messages > 0 {
                    shared_reader.per_client[index].fetch_add(seen.messages, Ordering::Relaxed);
                    let total = shared_reader
                        .received
                        .fetch_add(seen.messages, Ordering::AcqRel)
                        + seen.messages;
                    if total >= shared_reader.round_target.load(Ordering::Acquire) {
                        shared_reader.progress.notify_one();
                    }
                }
            }
        });
        if index >= run.senders {
            // Dropping a write half sends FIN, which a server rightly takes
            // as the client leaving: keep listeners' write halves open.
            idle_writers.push(writer);
            continue;
        }
        {
            // Every round sends the same pre-built batch: building frames is
            // the load generator's cost, not the server's.
            let mut batch = Vec::new();
            for _ in 0..run.per_round {
                let random_len = 3 + (crate::client::next_random(&mut seed) % 26) as usize;
                let len = run.size.unwrap_or(random_len);
                let text = random_text(&mut seed, len);
                let mask = (crate::client::next_random(&mut seed) as u32).to_le_bytes();
                push_frame(&mut batch, 0x1, &text, mask);
            }
            let mut rounds = round_rx.clone();
            tokio::spawn(async move {
                while rounds.changed().await.is_ok() {
                    if writer.write_all(&batch).await.is_err() {
                        return;
                    }
                }
            });
        }
    }
    let setup = connect_started.elapsed();

    let per_client_round = (run.senders * run.per_round) as u64;
    let per_round_total = per_client_round * run.clients as u64;
    let mut round = 0u64;
    let mut measured_rounds = 0u64;
    let mut measured_messages = 0u64;
    let warmup_end = Instant::now() + run.warmup;
    let mut measure_start: Option<Instant> = None;
    let mut cpu_start = None;
    loop {
        let now = Instant::now();
        if measure_start.is_none() && now >= warmup_end {
            measure_start = Some(now);
            cpu_start = run.server_pid.map(crate::cpu::cpu_time).transpose()?;
        }
        if let Some(start) = measure_start
            && now.duration_since(start) >= run.duration
        {
            break;
        }
        round += 1;
        let target = round * per_round_total;
        // Set before the round starts, so the read that completes it sees it.
        shared.round_target.store(target, Ordering::Release);
        let _ = round_tx.send(round);
        let deadline = tokio::time::Instant::now() + run.round_timeout;
        while shared.received.load(Ordering::Acquire) < target {
            if tokio::time::timeout_at(deadline, shared.progress.notified())
                .await
                .is_err()
            {
                return Err(incomplete(&shared, round, per_client_round));
            }
        }
        if measure_start.is_some() {
            measured_rounds += 1;
            measured_messages += per_round_total;
        }
    }
    let elapsed = measure_start.map_or(Duration::ZERO, |s| s.elapsed());
    let server_cpu = match (run.server_pid, cpu_start) {
        (Some(pid), Some(start)) => Some(crate::cpu::cpu_time(pid)?.saturating_sub(start)),
        _ => None,
    };
    // Every client must have received exactly its share: nothing dropped,
    // nothing doubled.
    let expected = round * per_client_round;
    for (index, count) in shared.per_client.iter().enumerate() {
        let got = count.load(Ordering::Relaxed);
        if got != expected {
            return Err(format!(
                "client {index} received {got} messages, expected {expected}"
            ));
        }
    }
    let per_second = measured_messages as f64 / elapsed.as_secs_f64().max(1e-9);
    Ok(Outcome {
        rounds: measured_rounds,
        delivered: measured_messages,
        seconds: elapsed.as_secs_f64(),
        per_second,
        setup,
        server_cpu,
    })
}

fn incomplete(shared: &Shared, round: u64, per_client_round: u64) -> String {
    let expected = round * per_client_round;
    let short = shared
        .per_client
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c.load(Ordering::Relaxed)))
        .find(|(_, got)| *got < expected);
    match short {
        Some((i, got)) => format!("round {round} incomplete: client {i} has {got} of {expected}"),
        None => format!("round {round} incomplete"),
    }
}
