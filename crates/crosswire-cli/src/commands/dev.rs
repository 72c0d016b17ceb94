//! `crosswire dev`: build the app, run it behind a proxy on its own port,
//! and on every save rebuild, restart and reload the open pages. The work is
//! done by `crosswire-dev`; this command finds the app, starts a runtime and
//! stops on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use crosswire_dev::{DevOptions, DevServer, Reporter};

use crate::app::AppDir;

/// Develop the app: rebuild on save, restart, and reload open pages.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The app's folder, or any folder inside it.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Listen on this port [default: [server] port of crosswire.toml, or PORT, or 3000].
    #[arg(long)]
    port: Option<u16>,
    /// The binary to run, when the package has several.
    #[arg(long)]
    bin: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let app = AppDir::find(&args.dir)?;
    let mut options = DevOptions::new(app.root());
    if let Some(port) = args.port {
        options = options.port(port);
    }
    if let Some(bin) = args.bin {
        options = options.bin(bin);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Progress goes to stderr, like cargo's. (Stdout is locked by `main`
        // for the command's normal output, and the dev server reports from
        // its worker threads.)
        let server = DevServer::bind(options, Reporter::stderr()).await?;
        server.run_until(crosswire::shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}
