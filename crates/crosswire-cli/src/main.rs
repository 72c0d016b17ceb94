//! `crosswire`: the command that scaffolds, inspects, builds and runs
//! Crosswire apps.
//!
//! ```text
//! crosswire new my-app      # a working app: chat over WebSocket, an SSE clock, a page
//! crosswire routes          # the route table of src/server/routes
//! crosswire build           # cargo build --release
//! crosswire start           # cargo run --release
//! crosswire dev             # rebuild, restart and live reload on every save
//! ```
//!
//! One module per command under `commands/`, each with its clap `Args` and a
//! `run`; what several commands share (finding the app, running cargo) is in
//! `app.rs`. Errors print as one line per problem, naming the file or key.

mod app;
mod commands;
mod scaffold;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::commands::Command;

/// Scaffold, inspect, build and run Crosswire apps.
#[derive(Debug, Parser)]
#[command(name = "crosswire", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    match commands::run(cli.command, &mut stdout) {
        Ok(code) => code,
        Err(error) => {
            let _ = stdout.flush();
            // anyhow's alternate form puts the causes on the same line.
            for line in format!("{error:#}").lines() {
                eprintln!("crosswire: error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
