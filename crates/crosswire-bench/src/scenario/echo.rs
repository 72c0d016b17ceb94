//! `echo`: closed-loop request/reply latency and throughput.
//!
//! Each connection writes `depth` 32-byte text messages at once, waits for all
//! their replies, and starts over; every reply's latency is measured from the
//! write of its batch.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{FrameCounter, connect, next_random, push_frame, random_text};
use crate::report::{Report, quantile, rate};

#[derive(Debug, Clone)]
pub(crate) struct EchoRun {
    pub(crate) name: String,
    pub(crate) target: SocketAddr,
    pub(crate) path: String,
    pub(crate) connections: usize,
    pub(crate) depth: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

pub(crate) async fn run(run: EchoRun) -> Result<Report, String> {
    let start = Instant::now();
    let measure_from = start + run.warmup;
    let stop_at = measure_from + run.duration;
    let mut tasks = Vec::new();
    for index in 0..run.connections {
        let mut seed = 0xA076_1D64_78BD_642Fu64 ^ (index as u64 + 1);
        let (stream, leftover) = connect(run.target, &run.path, None, &mut seed, false)
            .await
            .map_err(|e| format!("connection {index}: {e}"))?;
        if !leftover.is_empty() {
            return Err("the echo endpoint sent data before any request".into());
        }
        let depth = run.depth;
        tasks.push(tokio::spawn(async move {
            let (mut reader, mut writer) = stream.into_split();
            let mut batch = Vec::new();
            for _ in 0..depth {
                let text = random_text(&mut seed, 32);
                let mask = (next_random(&mut seed) as u32).to_le_bytes();
                push_frame(&mut batch, 0x1, &text, mask);
            }
            let mut counter = FrameCounter::default();
            let mut buf = vec![0u8; 16 * 1024];
            let mut latencies: Vec<u32> = Vec::new();
            let mut replies = 0u64;
            loop {
                let sent_at = Instant::now();
                if sent_at >= stop_at {
                    break;
                }
                writer.write_all(&batch).await.map_err(|e| e.to_string())?;
                let mut got = 0u64;
                while got < depth as u64 {
                    let n = reader.read(&mut buf).await.map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err("connection closed".to_owned());
                    }
                    let seen = counter.feed(&buf[..n]);
                    if seen.messages > 0 && sent_at >= measure_from {
                        let micros = sent_at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        latencies.extend(std::iter::repeat_n(micros, seen.messages as usize));
                        replies += seen.messages;
                    }
                    got += seen.messages;
                }
            }
            Ok::<_, String>((replies, latencies))
        }));
    }
    let mut replies = 0u64;
    let mut latencies = Vec::new();
    for task in tasks {
        let (r, l) = task.await.map_err(|e| e.to_string())??;
        replies += r;
        latencies.extend(l);
    }
    latencies.sort_unstable();
    let per_second = replies as f64 / run.duration.as_secs_f64();
    let (p50, p90, p99, p999) = (
        quantile(&latencies, 0.50),
        quantile(&latencies, 0.90),
        quantile(&latencies, 0.99),
        quantile(&latencies, 0.999),
    );
    Ok(Report::new(&run.name)
        .field("connections", run.connections)
        .field("depth", run.depth)
        .field("replies", replies)
        .field("replies_per_sec", per_second.round())
        .field("p50_us", p50)
        .field("p90_us", p90)
        .field("p99_us", p99)
        .field("p999_us", p999)
        .human(format!(
            "{} replies/s, latency p50 {p50} µs, p90 {p90} µs, p99 {p99} µs, p99.9 {p999} µs",
            rate(per_second)
        )))
}
