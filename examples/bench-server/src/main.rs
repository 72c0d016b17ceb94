//! The benchmark protocol (`shared/peers/PROTOCOL.md`) served by Crosswire:
//! a chat room at `/ws/chat`, an echo at `/ws/echo`, an event stream at `/sse`.
//!
//! `PORT=4000 cargo run --release -p bench-server`. Crosswire runs one worker
//! thread per CPU the process may run on (`[server] workers`, or
//! `CROSSWIRE_SERVER_WORKERS`): pinned to one core (`taskset -c 0`) it is
//! single-threaded, like the servers it is compared with. The runtime built
//! here only accepts connections and hands them to the workers.
//!
//! With `CROSSWIRE_BROKER_URL=redis://…` (or `nats://…`) several bench
//! servers share their chat room: the `cluster` scenario.
//!
//! With `CROSSWIRE_METRICS_ENABLED=true` it counts and serves Prometheus
//! metrics at `GET /metrics` on its port (`scripts/bench`'s
//! `crosswire-metrics` server), to measure what the counters cost.
//! `/ws/feed` serves the `recover` scenario: the `feed` topic keeps history
//! (the default rule here), each message carries its position as `id`, and a
//! client that connects with `?since=<id>` is replayed what it missed, then
//! told `{"recovered":…,"replayed":…}`. `CROSSWIRE_HISTORY_TOPICS=chat,feed`
//! gives the chat room history too: chat-32 with history on.
//!
//! With `CROSSWIRE_MOUNTED=1` the same routes are mounted in an axum
//! `Router` served by `axum::serve` on this (single-threaded) runtime: the
//! `crosswire-mounted` server of `scripts/bench`, which measures what
//! mounted mode costs against the own accept loop.

use std::process::ExitCode;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use crosswire::HistoryConfig;
use crosswire::history::StreamPosition;
use crosswire::prelude::*;
use serde::Serialize;

mod broker;

/// A chat message as the protocol frames it.
#[derive(Serialize)]
struct Chat<'a> {
    user: &'a str,
    message: &'a str,
}

fn chat() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            let welcome = format!("Welcome {peer}!");
            peer.send_json(&Chat {
                user: "server",
                message: &welcome,
            })?;
            peer.subscribe("chat");
            Ok::<(), crosswire::SendError>(())
        })
        .message(|peer: Peer, message: Message| async move {
            let user = peer.to_string();
            let text = message.text();
            // Serialized and framed once; the same bytes go to the sender and
            // to every other subscriber.
            let payload = Payload::json(&Chat {
                user: &user,
                message: &text,
            })?;
            peer.send(payload.clone());
            peer.publish("chat", payload);
            Ok::<(), serde_json::Error>(())
        })
}

/// `GET /sse[?count=N]`: `id: n` / `data: {"n":n,...}` events as fast as the
/// connection takes them (waiting for the queue to drain past 64 KiB), ending
/// after `count` events or when the client leaves.
async fn sse(request: Request) -> Response {
    let count: Option<u64> = request.uri().query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("count="))
            .and_then(|n| n.parse().ok())
    });
    let stream = create_event_stream(&request);
    let producer = stream.clone();
    tokio::spawn(async move {
        let mut n = 0u64;
        while count.is_none_or(|count| n < count) && !producer.is_closed() {
            let data = format!(r#"{{"n":{n},"text":"Hello from the server"}}"#);
            producer.push(SseEvent::new().id(n.to_string()).data(data));
            n += 1;
            if producer.buffered_amount() > 64 * 1024 {
                producer.wait_for_drain().await;
            }
        }
        producer.close();
    });
    stream.send()
}

/// `/ws/feed`: subscribe with recovery from `?since=<epoch>:<offset>`,
/// report it, and publish each message with its position.
fn feed() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            let since: Option<StreamPosition> = peer
                .request()
                .query()
                .and_then(|query| query.split('&').find_map(|p| p.strip_prefix("since=")))
                .and_then(|position| position.parse().ok());
            let recovery = peer.subscribe_with_recovery("feed", since.as_ref()).await;
            peer.send(json!({
                "recovered": recovery.recovered(),
                "replayed": recovery.replayed(),
            }));
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text();
            peer.publish_with("feed", |id| json!({ "id": id, "message": text }));
        })
}

fn echo() -> impl WebSocketHandler {
    hooks().message(|peer: Peer, message: Message| async move { peer.send(message) })
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> ExitCode {
    // Levels from RUST_LOG (warn by default), JSON lines with
    // CROSSWIRE_LOG_FORMAT=json.
    if let Err(error) = crosswire::logging::init("warn") {
        eprintln!("bench-server: {error}");
        return ExitCode::from(2);
    }
    let mut defaults = Config::default();
    defaults.server.port = 4000;
    // A chat round queues up to ~4 MB per client; the protocol forbids
    // dropping messages for a slow client, so allow far more than that.
    defaults.websocket.send_queue_bytes = 64 << 20;
    // Idle connections must survive at least 120 s.
    defaults.websocket.idle_timeout = Duration::from_secs(300);
    // The conns scenario opens 10 000 connections, and reopens them between
    // rounds before the server has seen every close; by-hand soaks go past
    // 30 000. The open-file limit is what bounds them here.
    defaults.server.max_connections = 100_000;
    // The recover scenario's topic; CROSSWIRE_HISTORY_TOPICS replaces it.
    defaults.history = vec![HistoryConfig::for_topics(["feed"]).size(1000)];
    let config = match Config::load_with_defaults(defaults) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::from(2);
        }
    };
    let broker = match broker::from_config(&config.broker).await {
        Ok(broker) => broker,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::from(2);
        }
    };
    if mounted() {
        return serve_mounted(config, broker).await;
    }
    let mut app = App::with_config(config);
    if let Some(broker) = broker {
        app = app.broker(broker);
    }
    let app = app
        .websocket("/ws/chat", chat())
        .websocket("/ws/echo", echo())
        .websocket("/ws/feed", feed())
        .route("/sse", get(sse));
    let server = match app.listen().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "bench-server: listening on {} with {} worker(s)",
        server.local_addr(),
        server.workers()
    );
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `CROSSWIRE_MOUNTED` asks for mounted mode.
fn mounted() -> bool {
    std::env::var("CROSSWIRE_MOUNTED").is_ok_and(|value| matches!(value.as_str(), "1" | "true"))
}

/// The same routes, mounted in an axum app that `axum::serve` serves.
async fn serve_mounted(
    config: Config,
    broker: Option<Box<dyn crosswire::broker::Broker>>,
) -> ExitCode {
    let addr = config.listen_addr();
    let mut builder = Crosswire::builder(config);
    if let Some(broker) = broker {
        builder = builder.broker(broker);
    }
    let crosswire = match builder.build() {
        Ok(crosswire) => crosswire,
        Err(error) => {
            eprintln!("bench-server: {error}");
            return ExitCode::from(2);
        }
    };
    let app = axum::Router::new()
        .route("/ws/chat", crosswire.websocket(chat()))
        .route("/ws/echo", crosswire.websocket(echo()))
        .route("/ws/feed", crosswire.websocket(feed()))
        .route("/sse", get(sse))
        .layer(crosswire.layer());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("bench-server: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("bench-server: listening on {addr}, mounted in axum::serve");
    let drain = crosswire.clone();
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        crosswire::shutdown_signal().await;
        drain.shutdown().await;
    })
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}
