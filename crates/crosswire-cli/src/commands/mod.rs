//! The subcommands, one module each. A command gets its parsed arguments and
//! the writer for its normal output, and returns the process's exit code
//! (`start` passes on the app's).

mod build;
mod dev;
mod new;
mod routes;
mod start;

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

/// A `crosswire` subcommand.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new app: a WebSocket chat, an SSE clock and a page, ready to run.
    New(new::Args),
    /// Print the route table of src/server/routes: method, path, kind, file.
    Routes(routes::Args),
    /// Build the app for release (cargo build --release).
    Build(build::Args),
    /// Run the app in release mode (cargo run --release).
    Start(start::Args),
    /// Develop the app: rebuild on save, restart, and reload open pages.
    Dev(dev::Args),
}

/// Runs one command.
pub(crate) fn run(command: Command, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    match command {
        Command::New(args) => new::run(args, out),
        Command::Routes(args) => routes::run(args, out),
        Command::Build(args) => build::run(args),
        Command::Start(args) => start::run(args),
        Command::Dev(args) => dev::run(args),
    }
}
