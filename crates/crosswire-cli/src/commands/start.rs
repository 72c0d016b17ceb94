//! `crosswire start`: the app in release mode, in its own folder (where its
//! `crosswire.toml` and `public/` are), with the caller's environment
//! (`PORT`, `CROSSWIRE_*`, `RUST_LOG`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::app::AppDir;

/// Run the app in release mode.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app's folder, or any folder inside it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Arguments for the app itself, after `--`.
    #[arg(last = true)]
    app_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let app = AppDir::find(&args.dir)?;
    let mut command = app.cargo(&["run", "--release", "--"]);
    command.args(&args.app_args);
    app.run(command)
}
