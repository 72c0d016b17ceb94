//! `recover`: N clients reconnect at once, each `behind` messages behind,
//! to a topic with history (`/ws/feed` of the bench server).
//!
//! The clients connect and read one message (so each holds a position),
//! all drop their connections, a publisher sends `behind` messages (a probe
//! client that stays connected sees them all before going on), and then
//! every client reconnects at once with `?since=<its position>`. A client has
//! recovered once it holds the `behind` missed messages, contiguous and in
//! order, and the server's report says `recovered`. Measured: recovered
//! clients per second (N over the time from the first reconnect to the last
//! recovery), then the latency from one live publish to its arrival at
//! every recovered client (the first live message after the seam).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::client::{connect, next_random, push_frame};
use crate::report::{Report, quantile, rate};

/// How long any one step may take before the run is declared broken.
const STEP: Duration = Duration::from_secs(30);

/// How a recover run is shaped.
#[derive(Debug, Clone)]
pub(crate) struct RecoverRun {
    pub(crate) name: String,
    pub(crate) target: SocketAddr,
    pub(crate) path: String,
    pub(crate) clients: usize,
    /// Messages each client misses.
    pub(crate) behind: usize,
}

/// Reads whole server text messages from one connection.
struct Reader {
    half: OwnedReadHalf,
    buf: Vec<u8>,
}

impl Reader {
    fn new(half: OwnedReadHalf, leftover: Vec<u8>) -> Self {
        Self {
            half,
            buf: leftover,
        }
    }

    /// The next text message as JSON (pings and pongs skipped).
    async fn next(&mut self) -> Result<Value, String> {
        loop {
            if let Some((opcode, payload, used)) = frame(&self.buf) {
                let payload = payload.to_vec();
                self.buf.drain(..used);
                match opcode {
                    0x1 => {
                        return serde_json::from_slice(&payload)
                            .map_err(|e| format!("a message that is not JSON: {e}"));
                    }
                    0x8 => return Err("the server closed the connection".to_owned()),
                    _ => continue,
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = tokio::time::timeout(STEP, self.half.read(&mut chunk))
                .await
                .map_err(|_| "no message in time".to_owned())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".to_owned());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The offset of the next feed message (reports are skipped).
    async fn next_offset(&mut self) -> Result<u64, String> {
        loop {
            if let Some(offset) = offset(&self.next().await?) {
                return Ok(offset);
            }
        }
    }
}

/// One complete unmasked, unfragmented server frame at the start of `buf`:
/// opcode, payload, bytes used.
fn frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let first = *buf.first()?;
    let second = *buf.get(1)?;
    let (len, start) = match second & 0x7f {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes) as usize, 10)
        }
        short => (short as usize, 2),
    };
    let payload = buf.get(start..start + len)?;
    Some((first & 0x0f, payload, start + len))
}

/// The offset in a feed message's `id` (`"<epoch>:<offset>"`).
fn offset(message: &Value) -> Option<u64> {
    let id = message.get("id")?.as_str()?;
    id.rsplit_once(':')?.1.parse().ok()
}

fn id(message: &Value) -> Option<String> {
    message.get("id")?.as_str().map(str::to_owned)
}

async fn open(
    run: &RecoverRun,
    path: &str,
    seed: &mut u64,
) -> Result<(Reader, OwnedWriteHalf), String> {
    let (stream, leftover): (TcpStream, Vec<u8>) = connect(run.target, path, None, seed, false)
        .await
        .map_err(|e| format!("connect {path}: {e}"))?;
    let (read, write) = stream.into_split();
    Ok((Reader::new(read, leftover), write))
}

async fn say(writer: &mut OwnedWriteHalf, text: &str, seed: &mut u64) -> Result<(), String> {
    let mut frame = Vec::new();
    let mask = (next_random(seed) as u32).to_le_bytes();
    push_frame(&mut frame, 0x1, text.as_bytes(), mask);
    writer.write_all(&frame).await.map_err(|e| e.to_string())
}

pub(crate) async fn run(run: RecoverRun) -> Result<Report, String> {
    let mut seed = 0x5EED_0F4E_C07E_4B11u64;
    let (_, mut publisher) = open(&run, &run.path, &mut seed).await?;
    let (mut probe, _probe_writer) = open(&run, &run.path, &mut seed).await?;
    let mut clients = Vec::with_capacity(run.clients);
    for _ in 0..run.clients {
        clients.push(open(&run, &run.path, &mut seed).await?);
    }
    // The report follows the subscription: once every client (and the
    // probe) has it, all of them get the next publish.
    probe.next().await?;
    for (reader, _) in &mut clients {
        reader.next().await?;
    }
    // Every client holds one message: its position.
    say(&mut publisher, "before", &mut seed).await?;
    let mut since = String::new();
    for (reader, _) in &mut clients {
        loop {
            let message = reader.next().await?;
            if let Some(position) = id(&message) {
                since = position;
                break;
            }
        }
    }
    let held = probe.next_offset().await?;
    drop(clients);

    for n in 0..run.behind {
        say(&mut publisher, &format!("missed {n}"), &mut seed).await?;
    }
    for n in 1..=run.behind as u64 {
        let got = probe.next_offset().await?;
        if got != held + n {
            return Err(format!("the probe got offset {got}, expected {}", held + n));
        }
    }

    // Everyone back at once.
    let started = Instant::now();
    let path = format!("{}?since={since}", run.path);
    let mut tasks = Vec::with_capacity(run.clients);
    for index in 0..run.clients {
        let run = run.clone();
        let path = path.clone();
        let mut seed = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9);
        tasks.push(tokio::spawn(async move {
            let (mut reader, writer) = open(&run, &path, &mut seed).await?;
            for n in 1..=run.behind as u64 {
                let got = reader.next_offset().await?;
                if got != held + n {
                    return Err(format!(
                        "client {index}: offset {got}, expected {}",
                        held + n
                    ));
                }
            }
            let report = reader.next().await?;
            if report.get("recovered") != Some(&Value::Bool(true)) {
                return Err(format!("client {index}: {report}"));
            }
            Ok::<_, String>((reader, writer, started.elapsed()))
        }));
    }
    let mut recovered = Vec::with_capacity(run.clients);
    for task in tasks {
        recovered.push(task.await.map_err(|e| e.to_string())??);
    }
    let all_recovered = recovered
        .iter()
        .map(|(_, _, at)| *at)
        .max()
        .unwrap_or_default();

    // The first live message after the seam, to everyone.
    let live = held + run.behind as u64 + 1;
    let sent = Instant::now();
    say(&mut publisher, "live", &mut seed).await?;
    let mut latencies = Vec::with_capacity(run.clients);
    for (index, (reader, _, _)) in recovered.iter_mut().enumerate() {
        let got = reader.next_offset().await?;
        if got != live {
            return Err(format!(
                "client {index}: live offset {got}, expected {live}"
            ));
        }
        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    latencies.sort_unstable();
    let per_second = run.clients as f64 / all_recovered.as_secs_f64().max(1e-9);
    let (p50, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));
    Ok(Report::new(&run.name)
        .field("clients", run.clients)
        .field("behind", run.behind)
        .field("recover_ms", all_recovered.as_millis() as u64)
        .field("recovered_per_sec", per_second.round())
        .field("first_live_p50_us", p50)
        .field("first_live_p99_us", p99)
        .human(format!(
            "{} recovered clients/s ({} clients, {} messages behind each, all in {} ms); first live message p50 {p50} µs, p99 {p99} µs",
            rate(per_second),
            run.clients,
            run.behind,
            all_recovered.as_millis()
        )))
}
