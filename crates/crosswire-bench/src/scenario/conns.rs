//! `conns`: idle connections, and what each costs the server in memory, and
//! in CPU time to open (its handshake, `open` hook and first frames).
//!
//! With `--rounds N` the connections are opened, measured and all dropped
//! N times, and the server's RSS is sampled with none open after each round:
//! memory a server keeps after its peers left (allocator retention, pools
//! that never shrink, state that outlives its peer) shows up as an empty
//! figure that grows from round to round.
//!
//! Connections come from eight source addresses (127.X.0.2–.9, X chosen per
//! run) so that tens of thousands fit in the ephemeral port range and a run
//! does not collide with the TIME_WAIT sockets of the one before.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::client::{FrameCounter, connect};
use crate::report::{Report, rate};

#[derive(Debug, Clone)]
pub(crate) struct ConnsRun {
    pub(crate) name: String,
    pub(crate) target: SocketAddr,
    pub(crate) path: String,
    pub(crate) count: usize,
    /// The server process, for `VmRSS`.
    pub(crate) pid: u32,
    /// Connections being opened at once.
    pub(crate) concurrency: usize,
    /// Every connection negotiates permessage-deflate.
    pub(crate) deflate: bool,
    /// Times the connections are opened and all dropped again.
    pub(crate) rounds: usize,
    /// With one round: how long after the first sample a second one is
    /// taken (zero: none).
    pub(crate) settle: Duration,
}

/// What one round of opening `count` connections gave.
struct Opened {
    streams: Vec<TcpStream>,
    failures: usize,
    first_error: Option<String>,
    connect_time: Duration,
}

/// The server's resident set size in KiB.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

async fn open_one(
    target: SocketAddr,
    path: &str,
    source: IpAddr,
    seed: u64,
    deflate: bool,
) -> Result<TcpStream, String> {
    let mut seed = seed | 1;
    let (mut stream, leftover) = connect(target, path, Some(source), &mut seed, deflate)
        .await
        .map_err(|e| e.to_string())?;
    let mut counter = FrameCounter::default();
    let mut got = counter.feed(&leftover).messages;
    let mut buf = [0u8; 1024];
    while got == 0 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .map_err(|_| "no welcome".to_owned())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the welcome".into());
        }
        got += counter.feed(&buf[..n]).messages;
    }
    Ok(stream)
}

async fn open_all(run: &ConnsRun, sources: &[IpAddr]) -> Result<Opened, String> {
    let started = Instant::now();
    let mut streams = Vec::with_capacity(run.count);
    let mut failures = 0usize;
    let mut first_error = None;
    let mut index = 0usize;
    while index < run.count {
        let batch_end = (index + run.concurrency).min(run.count);
        let batch: Vec<_> = (index..batch_end)
            .map(|i| {
                let path = run.path.clone();
                let source = sources[i % sources.len()];
                let (target, deflate) = (run.target, run.deflate);
                tokio::spawn(
                    async move { open_one(target, &path, source, i as u64, deflate).await },
                )
            })
            .collect();
        for task in batch {
            match task.await.map_err(|e| e.to_string())? {
                Ok(stream) => streams.push(stream),
                Err(e) => {
                    failures += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        index = batch_end;
    }
    Ok(Opened {
        streams,
        failures,
        first_error,
        connect_time: started.elapsed(),
    })
}

/// Connections the server has not closed.
fn still_open(streams: &[TcpStream]) -> usize {
    streams
        .iter()
        .filter(|s| {
            let mut probe = [0u8; 1];
            matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count()
}

pub(crate) async fn run(run: ConnsRun) -> Result<Report, String> {
    let x = 1 + (std::process::id() % 250) as u8;
    let sources: Vec<IpAddr> = (2..=9)
        .map(|d| IpAddr::V4(Ipv4Addr::new(127, x, 0, d)))
        .collect();
    let before = rss_kib(run.pid)?;
    let rounds = run.rounds.max(1);
    let (mut open_kib, mut empty_kib) = (Vec::new(), Vec::new());
    let mut first = None;
    let mut handshake_cpu = None;
    let mut settled = None;
    for _ in 0..rounds {
        let cpu_before = crate::cpu::cpu_time(run.pid)?;
        let opened = open_all(&run, &sources).await?;
        // The first round's opening: what the server spent on handshakes
        // (upgrade, `open` hook, welcome), before any settling.
        let spent = crate::cpu::cpu_time(run.pid)?.saturating_sub(cpu_before);
        handshake_cpu.get_or_insert(spent);
        // Let the server settle (lazily freed buffers, allocator trimming).
        tokio::time::sleep(Duration::from_secs(1)).await;
        open_kib.push(rss_kib(run.pid)?);
        if rounds == 1 && !run.settle.is_zero() {
            let cpu_before = crate::cpu::cpu_time(run.pid)?;
            tokio::time::sleep(run.settle).await;
            let spent = crate::cpu::cpu_time(run.pid)?.saturating_sub(cpu_before);
            settled = Some((rss_kib(run.pid)?, spent));
        }
        let open = still_open(&opened.streams);
        let count = opened.streams.len();
        drop(opened.streams);
        if rounds > 1 {
            // The server notices the closes and frees each peer.
            let settle = Duration::from_secs(1) + Duration::from_micros(count as u64 * 50);
            tokio::time::sleep(settle).await;
            empty_kib.push(rss_kib(run.pid)?);
        }
        first.get_or_insert((
            count,
            open,
            opened.failures,
            opened.first_error,
            opened.connect_time,
        ));
    }
    let Some((connections, open, failures, first_error, connect_time)) = first else {
        return Err("no round ran".into());
    };
    let after = open_kib[0];
    let per_conn_kb = after.saturating_sub(before) as f64 / connections.max(1) as f64;
    let handshakes = connections as f64 / connect_time.as_secs_f64().max(1e-9);
    let cpu_per_handshake_us =
        handshake_cpu.unwrap_or_default().as_secs_f64() * 1e6 / connections.max(1) as f64;
    let mut report = Report::new(&run.name)
        .field("connections", connections)
        .field("deflate", run.deflate)
        .field("failed", failures)
        .field("rss_before_kib", before)
        .field("rss_after_kib", after)
        .field("kb_per_connection", (per_conn_kb * 100.0).round() / 100.0)
        .field("handshakes_per_sec", handshakes.round())
        .field(
            "server_cpu_us_per_handshake",
            (cpu_per_handshake_us * 100.0).round() / 100.0,
        );
    report = report.field("still_open", open);
    if rounds == 1 {
        let mut human = format!(
            "{:.2} KB RSS per idle connection ({} open of {}, {} handshakes/s, \
             server CPU {:.1} µs per handshake)",
            per_conn_kb,
            open,
            run.count,
            rate(handshakes),
            cpu_per_handshake_us
        );
        if let Some((kib, spent)) = settled {
            let per_conn = kib.saturating_sub(before) as f64 / connections.max(1) as f64;
            let cpu_us = spent.as_secs_f64() * 1e6 / connections.max(1) as f64;
            report = report
                .field("settle_s", run.settle.as_secs())
                .field(
                    "kb_per_connection_settled",
                    (per_conn * 100.0).round() / 100.0,
                )
                .field(
                    "server_cpu_us_per_connection_settling",
                    (cpu_us * 100.0).round() / 100.0,
                );
            human.push_str(&format!(
                "; {per_conn:.2} KB {} s later (server CPU {cpu_us:.1} µs per connection meanwhile)",
                run.settle.as_secs()
            ));
        }
        report = report.human(human);
    } else {
        let last_empty = empty_kib.last().copied().unwrap_or(before);
        let worst_open = open_kib
            .iter()
            .map(|kib| kib.saturating_sub(before) as f64 / connections.max(1) as f64)
            .fold(0.0f64, f64::max);
        report = report
            .field("rounds", rounds)
            .field("rss_open_kib", open_kib.clone())
            .field("rss_empty_kib", empty_kib.clone())
            .human(format!(
                "{rounds} rounds of {connections}: fresh {:.1} MB, {:.1} MB with none open after the last round, \
                 {:.2} KB per connection in the first round and {:.2} KB at most",
                before as f64 / 1024.0,
                last_empty as f64 / 1024.0,
                per_conn_kb,
                worst_open
            ));
    }
    if let Some(error) = first_error {
        report = report.field("first_error", error);
    }
    Ok(report)
}
