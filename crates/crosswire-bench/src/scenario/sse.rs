//! `sse`: clients that read event streams to their end and reconnect, as
//! `EventSource` does.
//!
//! Each client opens `/sse?count=N` on a new TCP connection, reads the
//! response (chunked or close-delimited) to its end counting events, and
//! starts again. Setup time is TCP connect plus request until the response
//! head; first-event time is until the first complete event.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::report::{Report, quantile, rate};

#[derive(Debug, Clone)]
pub(crate) struct SseRun {
    pub(crate) name: String,
    pub(crate) target: SocketAddr,
    pub(crate) path: String,
    pub(crate) clients: usize,
    pub(crate) count: u64,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

/// Decodes `Transfer-Encoding: chunked` incrementally.
#[derive(Debug, Default)]
struct Chunked {
    /// Bytes of the current chunk still to read.
    remaining: usize,
    /// The size line being read.
    line: Vec<u8>,
    /// Skip the CRLF after a chunk's data.
    skip_crlf: usize,
    done: bool,
}

impl Chunked {
    /// Feeds raw body bytes; calls `data` with decoded bytes.
    fn feed(&mut self, mut raw: &[u8], data: &mut impl FnMut(&[u8])) -> Result<(), String> {
        while !raw.is_empty() && !self.done {
            if self.skip_crlf > 0 {
                let n = self.skip_crlf.min(raw.len());
                self.skip_crlf -= n;
                raw = &raw[n..];
            } else if self.remaining > 0 {
                let n = self.remaining.min(raw.len());
                data(&raw[..n]);
                self.remaining -= n;
                raw = &raw[n..];
                if self.remaining == 0 {
                    self.skip_crlf = 2;
                }
            } else {
                let Some(end) = raw.iter().position(|&b| b == b'\n') else {
                    self.line.extend_from_slice(raw);
                    return Ok(());
                };
                self.line.extend_from_slice(&raw[..end]);
                raw = &raw[end + 1..];
                let line = String::from_utf8_lossy(&self.line).trim().to_owned();
                self.line.clear();
                let size_text = line.split(';').next().unwrap_or("");
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| format!("bad chunk size line {line:?}"))?;
                if size == 0 {
                    self.done = true;
                } else {
                    self.remaining = size;
                }
            }
        }
        Ok(())
    }
}

/// Counts events (blank-line terminated) in decoded bytes across any splits.
#[derive(Debug, Default)]
struct EventCounter {
    last: u8,
    events: u64,
}

impl EventCounter {
    fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == b'\n' && self.last == b'\n' {
                self.events += 1;
            }
            if b != b'\r' {
                self.last = b;
            }
        }
    }
}

struct StreamResult {
    events: u64,
    setup: Duration,
    first_event: Option<Duration>,
}

async fn read_one(target: SocketAddr, path: &str) -> Result<StreamResult, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(target)
        .await
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let (body_start, chunked) = loop {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the response head".into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            if !text.starts_with("http/1.1 200") {
                return Err(format!(
                    "unexpected response: {}",
                    text.lines().next().unwrap_or("")
                ));
            }
            break (end + 4, text.contains("transfer-encoding: chunked"));
        }
    };
    let setup = started.elapsed();
    let mut counter = EventCounter::default();
    let mut decoder = Chunked::default();
    let mut first_event = None;
    let consume = |raw: &[u8], counter: &mut EventCounter, decoder: &mut Chunked| {
        if chunked {
            decoder.feed(raw, &mut |data| counter.feed(data))
        } else {
            counter.feed(raw);
            Ok(())
        }
    };
    let rest = head[body_start..].to_vec();
    consume(&rest, &mut counter, &mut decoder)?;
    loop {
        if first_event.is_none() && counter.events > 0 {
            first_event = Some(started.elapsed());
        }
        if chunked && decoder.done {
            break;
        }
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        consume(&buf[..n], &mut counter, &mut decoder)?;
    }
    Ok(StreamResult {
        events: counter.events,
        setup,
        first_event,
    })
}

pub(crate) async fn run(run: SseRun) -> Result<Report, String> {
    let start = Instant::now();
    let measure_from = start + run.warmup;
    let stop_at = measure_from + run.duration;
    let path = if run.path.contains('?') {
        format!("{}&count={}", run.path, run.count)
    } else {
        format!("{}?count={}", run.path, run.count)
    };
    let mut tasks = Vec::new();
    for _ in 0..run.clients {
        let path = path.clone();
        let target = run.target;
        let expected = run.count;
        tasks.push(tokio::spawn(async move {
            let mut events = 0u64;
            let mut streams = 0u64;
            let mut setups = Vec::new();
            let mut firsts = Vec::new();
            while Instant::now() < stop_at {
                let began = Instant::now();
                let result = read_one(target, &path).await?;
                if result.events != expected {
                    return Err(format!(
                        "a stream ended after {} of {expected} events",
                        result.events
                    ));
                }
                if began >= measure_from {
                    events += result.events;
                    streams += 1;
                    setups.push(result.setup.as_micros() as u32);
                    if let Some(first) = result.first_event {
                        firsts.push(first.as_micros() as u32);
                    }
                }
            }
            Ok::<_, String>((events, streams, setups, firsts))
        }));
    }
    let (mut events, mut streams, mut setups, mut firsts) = (0u64, 0u64, Vec::new(), Vec::new());
    for task in tasks {
        let (e, s, su, f) = task.await.map_err(|e| e.to_string())??;
        events += e;
        streams += s;
        setups.extend(su);
        firsts.extend(f);
    }
    let elapsed = start
        .elapsed()
        .saturating_sub(run.warmup)
        .as_secs_f64()
        .max(1e-9);
    setups.sort_unstable();
    firsts.sort_unstable();
    let per_second = events as f64 / elapsed;
    let (s50, s99) = (quantile(&setups, 0.5), quantile(&setups, 0.99));
    let (f50, f99) = (quantile(&firsts, 0.5), quantile(&firsts, 0.99));
    Ok(Report::new(&run.name)
        .field("clients", run.clients)
        .field("events_per_stream", run.count)
        .field("events", events)
        .field("streams", streams)
        .field("events_per_sec", per_second.round())
        .field("streams_per_sec", (streams as f64 / elapsed).round())
        .field("setup_p50_us", s50)
        .field("setup_p99_us", s99)
        .field("first_event_p50_us", f50)
        .field("first_event_p99_us", f99)
        .human(format!(
            "{} events/s, {} streams/s, setup p50 {s50} µs p99 {s99} µs, first event p50 {f50} µs",
            rate(per_second),
            rate(streams as f64 / elapsed)
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_across_any_split_and_events_are_counted() {
        let body = b"10\r\nid: 0\ndata: ab\n\n\r\n7\r\nid: 1\nd\r\n9\r\nata: cd\n\n\r\n0\r\n\r\n";
        for split in 1..body.len() {
            let mut decoder = Chunked::default();
            let mut counter = EventCounter::default();
            for piece in body.chunks(split) {
                decoder.feed(piece, &mut |d| counter.feed(d)).unwrap();
            }
            assert!(decoder.done, "split {split}");
            assert_eq!(counter.events, 2, "split {split}");
        }
    }
}
