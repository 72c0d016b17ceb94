//! `crosswire build`: the app's release build.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::AppDir;

/// Build the app for release.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app's folder, or any folder inside it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// More arguments for `cargo build`, after `--`.
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let app = AppDir::find(&args.dir)?;
    let mut command = app.cargo(&["build", "--release"]);
    command.args(&args.cargo_args);
    app.run(command)
}
