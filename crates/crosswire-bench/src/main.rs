//! `crosswire-bench`: a load generator for real-time servers that implement
//! the benchmark protocol (`/ws/chat`, `/ws/echo`, `/sse`).
//!
//! Every scenario is bounded in time and count, stops by itself, refuses
//! non-loopback targets, and prints one JSON line and one human line.
//!
//! ```text
//! crosswire-bench chat   --url ws://127.0.0.1:4000/ws/chat --clients 32
//! crosswire-bench fanout --url ws://127.0.0.1:4000/ws/chat --clients 1000
//! crosswire-bench echo   --url ws://127.0.0.1:4000/ws/echo --connections 64 --depth 1
//! crosswire-bench sse    --url http://127.0.0.1:4000/sse --clients 64 --count 1000
//! crosswire-bench conns  --url ws://127.0.0.1:4000/ws/chat --count 10000 --pid 1234
//! crosswire-bench fanout --url ws://127.0.0.1:4000/ws/chat --clients 1000 --deflate
//! crosswire-bench cluster --url ws://127.0.0.1:4000/ws/chat --url ws://127.0.0.1:4001/ws/chat
//! crosswire-bench plot target/bench/results.jsonl --out BENCHMARKS.svg   # feature `plot`
//! ```
//!
//! `--deflate` (chat, fan-out, conns) makes every client offer
//! permessage-deflate as a browser does, and fails the run if the server
//! declines it.

mod client;
mod cpu;
#[cfg(feature = "plot")]
mod plot;
mod report;
mod scenario;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::client::parse_url;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Load generator for real-time WebSocket and SSE servers (loopback only)"
)]
struct Cli {
    /// Threads that drive the clients. One (the default) runs a
    /// current-thread runtime, the cheapest way to drive sockets: on a
    /// machine whose cores the server shares, a second thread mostly takes
    /// time from the server.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand, Debug)]
enum Scenario {
    /// N clients in one room; every client publishes; delivered messages/s.
    Chat {
        #[arg(long, default_value = "ws://127.0.0.1:4000/ws/chat")]
        url: String,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Messages each client sends per round.
        #[arg(long, default_value_t = 1600)]
        per_round: usize,
        /// Every message's text is exactly this many bytes (default: 3 to 28,
        /// like a chat line).
        #[arg(long)]
        size: Option<usize>,
        /// Every client negotiates permessage-deflate.
        #[arg(long)]
        deflate: bool,
        #[command(flatten)]
        timing: Timing,
    },
    /// One publisher, N subscribers; delivered messages/s.
    Fanout {
        #[arg(long, default_value = "ws://127.0.0.1:4000/ws/chat")]
        url: String,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Messages the publisher sends per round.
        #[arg(long, default_value_t = 100)]
        per_round: usize,
        /// Every message's text is exactly this many bytes (default: 3 to 28,
        /// like a chat line).
        #[arg(long)]
        size: Option<usize>,
        /// Every client negotiates permessage-deflate.
        #[arg(long)]
        deflate: bool,
        #[command(flatten)]
        timing: Timing,
    },
    /// Closed-loop echo: replies/s and latency percentiles.
    Echo {
        #[arg(long, default_value = "ws://127.0.0.1:4000/ws/echo")]
        url: String,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Messages in flight per connection.
        #[arg(long, default_value_t = 1)]
        depth: usize,
        #[command(flatten)]
        timing: Timing,
    },
    /// Clients reading `/sse?count=N` streams to their end and reconnecting.
    Sse {
        #[arg(long, default_value = "http://127.0.0.1:4000/sse")]
        url: String,
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Events per stream.
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[command(flatten)]
        timing: Timing,
    },
    /// Two or more servers on one broker: clients split across them, all
    /// publishing; delivered messages/s, then cross-node latency at a fixed
    /// publish rate.
    Cluster {
        /// A server's chat URL; give it once per server (at least two).
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Messages each client sends per round.
        #[arg(long, default_value_t = 1600)]
        per_round: usize,
        /// Publishes per second in the latency phase.
        #[arg(long, default_value_t = 10_000)]
        rate: u32,
        #[command(flatten)]
        timing: Timing,
    },
    /// N clients reconnect at once, each `behind` messages behind, to a
    /// topic with history; recovered clients/s and the latency of the first
    /// live message.
    Recover {
        #[arg(long, default_value = "ws://127.0.0.1:4000/ws/feed")]
        url: String,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Messages each client misses.
        #[arg(long, default_value_t = 50)]
        behind: usize,
    },
    /// N idle connections; server RSS per connection.
    Conns {
        #[arg(long, default_value = "ws://127.0.0.1:4000/ws/chat")]
        url: String,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// PID of the server process (its VmRSS is sampled).
        #[arg(long)]
        pid: u32,
        /// Connections opened at once.
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
        /// Every connection negotiates permessage-deflate.
        #[arg(long)]
        deflate: bool,
        /// Open the connections, drop them all, and again: RSS with none
        /// open is sampled after each round (memory that does not come back).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// With one round: also sample RSS (and the server CPU spent
        /// meanwhile) this many seconds after the first sample, once the
        /// idle connections have settled (a server that parks them deeper
        /// after a while shows it here).
        #[arg(long, default_value_t = 0)]
        settle: u64,
    },
    /// Draws a results file (JSON lines from scripts/bench) as an SVG bar
    /// chart: delivered msg/s per scenario and server, and memory per
    /// connection. Runs no load; needs the `plot` feature.
    Plot {
        /// The results, one JSON object per line.
        input: PathBuf,
        /// The SVG to write.
        #[arg(long, default_value = "BENCHMARKS.svg")]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug, Clone, Copy)]
struct Timing {
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// PID of the server process: reports its CPU time per delivered message
    /// over the measured window (chat and fan-out).
    #[arg(long)]
    server_pid: Option<u32>,
}

/// `chat-32`, or `chat-32-deflate` when clients negotiate compression.
fn scenario_name(kind: &str, count: usize, deflate: bool) -> String {
    if deflate {
        format!("{kind}-{count}-deflate")
    } else {
        format!("{kind}-{count}")
    }
}

/// `fanout-1000` with `--size 1024` is `fanout-1000-1024b`.
fn sized(name: String, size: Option<usize>) -> String {
    match size {
        Some(size) => format!("{name}-{size}b"),
        None => name,
    }
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value.clamp(0.0, 3600.0))
}

/// One thread runs a current-thread runtime, as cheap as a load generator
/// gets; more run tokio's multi-threaded one, so clients spread over them.
fn build_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Scenario::Plot { input, out } = &cli.scenario {
        return plot(input, out);
    }
    let runtime = match build_runtime(cli.threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crosswire-bench: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.scenario)) {
        Ok(report) => {
            report.print();
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("crosswire-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "plot")]
fn plot(input: &std::path::Path, out: &std::path::Path) -> ExitCode {
    match plot::plot_file(input, out) {
        Ok(()) => {
            eprintln!("crosswire-bench: wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("crosswire-bench: {}: {error}", input.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "plot"))]
fn plot(_input: &std::path::Path, _out: &std::path::Path) -> ExitCode {
    eprintln!(
        "crosswire-bench: built without plotting; run `cargo run --release -p crosswire-bench --features plot -- plot ...`"
    );
    ExitCode::from(2)
}

/// How a chat-room run is shaped: `senders` of the `clients` send
/// `per_round` messages a round.
struct Room {
    clients: usize,
    senders: usize,
    per_round: usize,
    size: Option<usize>,
    deflate: bool,
}

/// Runs a chat room.
async fn room(
    name: String,
    url: &str,
    shape: Room,
    timing: Timing,
) -> Result<report::Report, String> {
    let Room {
        clients,
        senders,
        per_round,
        size,
        deflate,
    } = shape;
    let (target, path) = parse_url(url)?;
    scenario::chat::run(scenario::chat::ChatRun {
        name,
        targets: vec![target],
        path,
        clients,
        senders,
        per_round,
        size,
        warmup: seconds(timing.warmup),
        duration: seconds(timing.duration),
        round_timeout: Duration::from_secs(30),
        server_pid: timing.server_pid,
        deflate,
    })
    .await
}

async fn run(scenario: Scenario) -> Result<report::Report, String> {
    match scenario {
        Scenario::Chat {
            url,
            clients,
            per_round,
            size,
            deflate,
            timing,
        } => {
            let shape = Room {
                clients,
                senders: clients,
                per_round,
                size,
                deflate,
            };
            room(
                sized(scenario_name("chat", clients, deflate), size),
                &url,
                shape,
                timing,
            )
            .await
        }
        Scenario::Fanout {
            url,
            clients,
            per_round,
            size,
            deflate,
            timing,
        } => {
            let shape = Room {
                clients,
                senders: 1,
                per_round,
                size,
                deflate,
            };
            room(
                sized(scenario_name("fanout", clients, deflate), size),
                &url,
                shape,
                timing,
            )
            .await
        }
        Scenario::Echo {
            url,
            connections,
            depth,
            timing,
        } => {
            let (target, path) = parse_url(&url)?;
            let name = if depth == 1 {
                "echo".to_owned()
            } else {
                format!("echo-p{depth}")
            };
            scenario::echo::run(scenario::echo::EchoRun {
                name,
                target,
                path,
                connections,
                depth: depth.max(1),
                warmup: seconds(timing.warmup),
                duration: seconds(timing.duration),
            })
            .await
        }
        Scenario::Sse {
            url,
            clients,
            count,
            timing,
        } => {
            let (target, path) = parse_url(&url)?;
            scenario::sse::run(scenario::sse::SseRun {
                name: format!("sse-{clients}"),
                target,
                path,
                clients,
                count,
                warmup: seconds(timing.warmup),
                duration: seconds(timing.duration),
            })
            .await
        }
        Scenario::Cluster {
            urls,
            clients,
            per_round,
            rate,
            timing,
        } => {
            let mut targets = Vec::with_capacity(urls.len());
            let mut path = String::new();
            for url in &urls {
                let (target, url_path) = parse_url(url)?;
                targets.push(target);
                path = url_path;
            }
            scenario::cluster::run(scenario::cluster::ClusterRun {
                name: format!("cluster-{clients}"),
                targets,
                path,
                clients,
                per_round,
                rate,
                warmup: seconds(timing.warmup),
                duration: seconds(timing.duration),
            })
            .await
        }
        Scenario::Conns {
            url,
            count,
            pid,
            concurrency,
            deflate,
            rounds,
            settle,
        } => {
            let (target, path) = parse_url(&url)?;
            scenario::conns::run(scenario::conns::ConnsRun {
                name: scenario_name("conns", count, deflate),
                deflate,
                target,
                path,
                count,
                pid,
                concurrency: concurrency.max(1),
                rounds,
                settle: Duration::from_secs(settle),
            })
            .await
        }
        Scenario::Recover {
            url,
            clients,
            behind,
        } => {
            let (target, path) = parse_url(&url)?;
            scenario::recover::run(scenario::recover::RecoverRun {
                name: format!("recover-{clients}"),
                target,
                path,
                clients: clients.max(1),
                behind,
            })
            .await
        }
        // `main` answers it before any runtime starts.
        Scenario::Plot { .. } => Err("plot draws results and runs no load".to_owned()),
    }
}
