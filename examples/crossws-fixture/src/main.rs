//! A port of the demo server that crossws's own test suite runs against, so
//! Crosswire can be checked against crossws's behaviour: the WebSocket demo at
//! `/`, plus `GET /peers` and `GET /publish?topic=…&message=…`.
//!
//! `cargo run --release -p crossws-fixture` listens on `127.0.0.1:$PORT` and
//! `[::1]:$PORT` (default 9002), since the suite connects to `localhost`.
//! With `CROSSWIRE_MOUNTED=1` the same routes are mounted in an axum
//! `Router` served by `axum::serve` instead of Crosswire's own server.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use crosswire::Config;
use crossws_fixture::app;

mod mounted;

#[tokio::main]
async fn main() -> ExitCode {
    // Levels from RUST_LOG (warn by default), JSON lines with
    // CROSSWIRE_LOG_FORMAT=json.
    if let Err(error) = crosswire::logging::init("warn") {
        eprintln!("crossws-fixture: {error}");
        return ExitCode::from(2);
    }
    let mut defaults = Config::default();
    defaults.server.port = 9002;
    let config = match Config::load_with_defaults(defaults) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("crossws-fixture: {error}");
            return ExitCode::from(2);
        }
    };
    let port = config.server.port;
    if crossws_fixture::mounted() {
        return mounted::serve(config, port).await;
    }
    let app = || app(config.clone());
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let server = match app().listen_on_all(&[v4, v6]).await {
        Ok(server) => server,
        // A machine without IPv6 still gets the IPv4 listener.
        Err(_) => match app().listen_on_all(&[v4]).await {
            Ok(server) => server,
            Err(error) => {
                eprintln!("crossws-fixture: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    eprintln!("crossws-fixture: listening on {:?}", server.local_addrs());
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crossws-fixture: {error}");
            ExitCode::FAILURE
        }
    }
}
