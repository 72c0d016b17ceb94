//! `conns`: idle connections, and what each costs the server in memory.
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

pub(crate) async fn run(run: ConnsRun) -> Result<Report, String> {
    let x = 1 + (std::process::id() % 250) as u8;
    let sources: Vec<IpAddr> = (2..=9)
        .map(|d| IpAddr::V4(Ipv4Addr::new(127, x, 0, d)))
        .collect();
    let before = rss_kib(run.pid)?;
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
    let connect_time = started.elapsed();
    // Let the server settle (lazily freed buffers, allocator trimming).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(run.pid)?;
    let open = streams
        .iter()
        .filter(|s| {
            let mut probe = [0u8; 1];
            matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    let per_conn_kb = after.saturating_sub(before) as f64 / streams.len().max(1) as f64;
    let handshakes = streams.len() as f64 / connect_time.as_secs_f64().max(1e-9);
    let mut report = Report::new(&run.name)
        .field("connections", streams.len())
        .field("deflate", run.deflate)
        .field("failed", failures)
        .field("still_open", open)
        .field("rss_before_kib", before)
        .field("rss_after_kib", after)
        .field("kb_per_connection", (per_conn_kb * 100.0).round() / 100.0)
        .field("handshakes_per_sec", handshakes.round())
        .human(format!(
            "{:.2} KB RSS per idle connection ({} open of {}, {} handshakes/s)",
            per_conn_kb,
            open,
            run.count,
            rate(handshakes)
        ));
    if let Some(error) = first_error {
        report = report.field("first_error", error);
    }
    Ok(report)
}
