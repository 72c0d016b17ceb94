//! The seed's example app: a chat room over WebSocket at `/api/ws/chat` and a
//! page at `/` that uses the browser's own `WebSocket`.
//!
//! `cargo run --release -p chat` serves it on `127.0.0.1:$PORT` (default 3000).

mod chat;

use std::path::PathBuf;
use std::process::ExitCode;

use crosswire::prelude::*;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info".into()),
        )
        .init();

    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("chat: {error}");
            return ExitCode::from(2);
        }
    };
    // The page lives beside this crate, wherever the binary is started from.
    let public = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("public");
    let app = App::with_config(config)
        .websocket("/api/ws/chat", chat::websocket())
        .public_dir(public);
    let server = match app.listen().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("chat: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("chat: open http://{}/", server.local_addr());
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chat: {error}");
            ExitCode::FAILURE
        }
    }
}
