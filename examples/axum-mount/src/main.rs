//! `cargo run -p axum-mount` serves the app on `127.0.0.1:$PORT` (default
//! 3000) with `axum::serve`; Crosswire is mounted in it, not in charge of it.
//! Settings come from `crosswire.toml` and `CROSSWIRE_*` as usual.

use std::net::SocketAddr;
use std::process::ExitCode;

use crosswire::{Config, Crosswire};

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(error) = crosswire::logging::init("info") {
        eprintln!("axum-mount: {error}");
        return ExitCode::from(2);
    }
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("axum-mount: {error}");
            return ExitCode::from(2);
        }
    };
    let addr = config.listen_addr();
    let crosswire = match Crosswire::new(config) {
        Ok(crosswire) => crosswire,
        Err(error) => {
            eprintln!("axum-mount: {error}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("axum-mount: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(local) = listener.local_addr() {
        eprintln!("axum-mount: open http://{local}/");
    }
    let app = axum_mount::app(&crosswire);
    // Peers get their close frame and event streams end before axum waits
    // for the last responses.
    let drain = crosswire.clone();
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        crosswire::shutdown_signal().await;
        drain.shutdown().await;
    })
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum-mount: {error}");
            ExitCode::FAILURE
        }
    }
}
