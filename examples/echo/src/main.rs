//! Echoes every WebSocket message back as received (text as text, binary as
//! binary) at `/`. This is the server the Autobahn conformance suite runs
//! against, so its message limit is raised to fit the suite's 16 MiB cases.
//!
//! `cargo run --release -p echo` listens on `127.0.0.1:$PORT` (default 9001).
//! Logs follow `RUST_LOG` (default `info`); `CROSSWIRE_LOG_FORMAT=json`
//! writes them as JSON lines.

use std::process::ExitCode;

use crosswire::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    // Levels from RUST_LOG (info by default), JSON lines with
    // CROSSWIRE_LOG_FORMAT=json.
    if let Err(error) = crosswire::logging::init("info") {
        eprintln!("echo: {error}");
        return ExitCode::from(2);
    }

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
    // The server logs where it listens (`listening`, with `addr`), so with
    // CROSSWIRE_LOG_FORMAT=json every line of output is one JSON object.
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("echo: {error}");
            ExitCode::FAILURE
        }
    }
}
