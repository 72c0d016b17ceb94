//! The errors that stop the dev server before or while it starts.
//!
//! Everything that goes wrong later (a failed build, an app that crashes, a
//! bad `crosswire.toml` saved while running) is reported in the terminal and
//! in the page instead: the dev server keeps running so the next save can fix
//! it.

use std::path::PathBuf;

/// Why the dev server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// The folder has no `Cargo.toml`: it is not an app.
    #[error("{}: not an app folder (no Cargo.toml); run `crosswire new <dir>` to create one", .0.display())]
    NotAnApp(PathBuf),
    /// `crosswire.toml` (or a `CROSSWIRE_*` variable) is invalid.
    #[error(transparent)]
    Config(#[from] crosswire::ConfigError),
    /// A `[dev.hmr]` setting cannot work; the message says which and why.
    #[error("[dev.hmr] {0}")]
    Hmr(String),
    /// A port could not be bound, usually because something else uses it.
    #[error(
        "cannot listen on {addr}: {reason}; is another server (or another `crosswire dev`) using it? Pick another port with PORT or [server] port in crosswire.toml"
    )]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the operating system said.
        reason: std::io::Error,
    },
    /// The file watcher could not be set up.
    #[error("cannot watch {}: {reason}", path.display())]
    Watch {
        /// The folder or file to watch.
        path: PathBuf,
        /// What the watcher said.
        reason: notify::Error,
    },
    /// Cargo could not be started.
    #[error("cannot run cargo: {0}; is the Rust toolchain installed and on PATH?")]
    Cargo(std::io::Error),
}
