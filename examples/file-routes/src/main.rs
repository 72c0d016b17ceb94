//! Every shape of file route in one app: the files under `src/server/routes`
//! are its routes, found by `build.rs` and registered by `routes`.
//!
//! `cargo run -p file-routes` serves them on `127.0.0.1:$PORT` (default 3000);
//! `crosswire routes` (run here) lists them.

use std::process::ExitCode;

use crosswire::prelude::*;

crosswire::include_routes!();

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("file-routes: {error}");
            return ExitCode::from(2);
        }
    };
    let server = match routes(App::with_config(config)).listen().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("file-routes: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Under `crosswire dev` this port is internal: the dev server prints the
    // address to open.
    if !crosswire::under_dev_server() {
        eprintln!("file-routes: listening on http://{}/", server.local_addr());
    }
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("file-routes: {error}");
            ExitCode::FAILURE
        }
    }
}
