//! Echoes every WebSocket message back as received (text as text, binary as
//! binary) at `/`. This is the server the Autobahn conformance suite runs
//! against, so its message limit is raised to fit the suite's 16 MiB cases.
//!
//! `cargo run --release -p echo` listens on `127.0.0.1:$PORT` (default 9001).

use std::process::ExitCode;

use crosswire::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let mut defaults = Config::default();
    defaults.server.port = 9001;
    // Autobahn's 9.* cases send messages up to 16 MiB.
    defaults.websocket.max_message_size = 64 << 20;
    defaults.websocket.max_frame_size = 64 << 20;
    defaults.websocket.send_queue_bytes = 64 << 20;
    // And 4 MiB messages in 64-byte fragments: 65 536 frames.
    defaults.websocket.max_fragments = 1 << 20;
    let config = match Config::load_with_defaults(defaults) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("echo: {error}");
            return ExitCode::from(2);
        }
    };

    let echo = hooks().message(|peer: Peer, message: Message| async move {
        peer.send(message);
    });
    let server = match App::with_config(config).websocket("/", echo).listen().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("echo: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("echo: listening on ws://{}/", server.local_addr());
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo: {error}");
            ExitCode::FAILURE
        }
    }
}
