//! What the commands that work on an existing app share: finding it, and
//! running cargo in it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

/// A Crosswire app on disk: a folder with a `Cargo.toml`.
#[derive(Debug, Clone)]
pub(crate) struct AppDir {
    root: PathBuf,
}

impl AppDir {
    /// The app at `dir`, or the nearest folder above it with a `Cargo.toml`
    /// (so commands work from anywhere inside the app).
    pub(crate) fn find(dir: &Path) -> anyhow::Result<Self> {
        // Resolved (`..`, symlinks): cargo names the package's manifest by
        // its real path, which the dev server compares with this one.
        let start = std::fs::canonicalize(dir)
            .with_context(|| format!("{}: no such folder", dir.display()))?;
        if !start.is_dir() {
            bail!("{}: no such folder", dir.display());
        }
        let root = start
            .ancestors()
            .find(|d| d.join("Cargo.toml").is_file())
            .with_context(|| {
                format!(
                    "{}: not inside a Crosswire app (no Cargo.toml here or above); run `crosswire new <dir>` to create one, or pass --dir",
                    dir.display()
                )
            })?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The folder holding `Cargo.toml`.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A cargo command run in the app's folder, inheriting the environment
    /// and the terminal.
    pub(crate) fn cargo(&self, args: &[&str]) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut command = Command::new(cargo);
        command.args(args).current_dir(&self.root);
        command
    }

    /// Runs `command` to completion and returns its exit code.
    pub(crate) fn run(&self, mut command: Command) -> anyhow::Result<ExitCode> {
        let status = command
            .status()
            .context("cannot run cargo; is the Rust toolchain installed and on PATH?")?;
        Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            // Ended by a signal (Ctrl-C): report failure without a message.
            None => ExitCode::FAILURE,
        })
    }
}
