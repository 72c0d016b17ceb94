//! [`DevServer`]: binds the app's port (and the reload channel's, if it has
//! its own), then runs the dev loop.
//!
//! Binding comes first and on its own, so a port in use is an error before
//! any build starts, and a caller that asked for port 0 learns the real port
//! before anything else happens.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::DevSettings;
use crate::error::DevError;
use crate::listen;
use crate::proxy::{Channel, Proxy};
use crate::reload::Hub;
use crate::report::Reporter;
use crate::supervisor::Supervisor;
use crate::upstream::Upstream;
use crate::watch::Watcher;

/// How to run the dev server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DevOptions {
    /// The app's folder (the one with its `Cargo.toml`).
    pub app_dir: PathBuf,
    /// The binary to run when the package has several.
    pub bin: Option<String>,
    /// Listen on this port instead of the app's configured one.
    pub port: Option<u16>,
    /// How long a request waits for an app that is restarting before it
    /// gets a 503. Default 30 s: longer than a typical rebuild of a small
    /// app, short enough that a hung start does not look like a hung page.
    pub hold: Duration,
    /// How long a stopping app may take to close its connections before it
    /// is killed. Default 10 s, more than the app's own shutdown grace.
    pub stop_grace: Duration,
}

impl DevOptions {
    /// The defaults for the app in `app_dir`.
    pub fn new(app_dir: impl Into<PathBuf>) -> Self {
        Self {
            app_dir: app_dir.into(),
            bin: None,
            port: None,
            hold: Duration::from_secs(30),
            stop_grace: Duration::from_secs(10),
        }
    }

    /// Runs the binary `bin` of the package.
    #[must_use]
    pub fn bin(mut self, bin: impl Into<String>) -> Self {
        self.bin = Some(bin.into());
        self
    }

    /// Listens on `port` (0: any free port) instead of the configured one.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets how long requests wait for a restarting app.
    #[must_use]
    pub fn hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }
}

/// A bound dev server, ready to run.
#[derive(Debug)]
#[must_use = "a dev server does nothing until it is run"]
pub struct DevServer {
    root: PathBuf,
    options: DevOptions,
    settings: DevSettings,
    reporter: Reporter,
    listener: TcpListener,
    addr: SocketAddr,
    reload_listener: Option<(TcpListener, SocketAddr)>,
}

impl DevServer {
    /// Reads the app's settings and binds its port (and the reload
    /// channel's own port, when `[dev.hmr] port` is set).
    pub async fn bind(options: DevOptions, reporter: Reporter) -> Result<Self, DevError> {
        // Resolved (`..`, symlinks): cargo reports the package's manifest by
        // its real path, and the built binary is found by comparing the two.
        let root = std::fs::canonicalize(&options.app_dir)
            .map_err(|_| DevError::NotAnApp(options.app_dir.clone()))?;
        if !root.join("Cargo.toml").is_file() {
            return Err(DevError::NotAnApp(root));
        }
        let mut settings = DevSettings::load(&root)?;
        if let Some(port) = options.port {
            settings.port = port;
        }
        let (listener, addr) = listen::bind(&settings.addr(settings.port)).await?;
        let reload_listener = match settings.hmr_port {
            Some(port) => Some(listen::bind(&settings.addr(port)).await?),
            None => None,
        };
        Ok(Self {
            root,
            options,
            settings,
            reporter,
            listener,
            addr,
            reload_listener,
        })
    }

    /// Where the browser connects: the app's port.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The reload channel's own address, when it has a port of its own.
    pub fn reload_addr(&self) -> Option<SocketAddr> {
        self.reload_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// Builds and runs the app, and rebuilds, restarts and reloads on every
    /// change, until `shutdown` completes; then stops the app gracefully.
    ///
    /// # Errors
    ///
    /// When the files cannot be watched or cargo cannot be run at all. A
    /// failing build or app is not an error: it is reported, and the next
    /// save tries again.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), DevError> {
        let hub = Arc::new(Hub::new());
        let (upstream, upstream_rx) = watch::channel(Upstream::Starting);
        let channel = Channel {
            path: self.settings.hmr_path.clone(),
            port: self.reload_addr().map(|addr| addr.port()),
        };
        let proxy = Proxy::new(upstream_rx, Arc::clone(&hub), channel, self.options.hold);
        let url = format!("http://{}/", self.addr);
        let reload_url = match self.reload_addr() {
            Some(addr) => format!("ws://{addr}{}", self.settings.hmr_path),
            None => format!("{}, on the same port", self.settings.hmr_path),
        };
        let mut tasks = vec![tokio::spawn(listen::serve(self.listener, proxy.clone()))];
        if let Some((listener, _)) = self.reload_listener {
            tasks.push(tokio::spawn(listen::serve(listener, proxy.reload_only())));
        }
        let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
        let watcher = Watcher::start(&self.root, target_dir.as_deref())?;
        self.reporter.dev(&format!(
            "serving {url} (live reload: {reload_url}); watching src/, public/, crosswire.toml and Cargo.toml in {}",
            watcher.root().display()
        ));
        let supervisor = Supervisor {
            root: self.root,
            bin: self.options.bin,
            reporter: self.reporter,
            hub,
            upstream,
            stop_grace: self.options.stop_grace,
            settings: self.settings,
            port_override: self.options.port,
            url,
            app: None,
            executable: None,
        };
        let result = supervisor.run(watcher, shutdown).await;
        for task in tasks {
            task.abort();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cargo names a package's manifest by its real path; the app's root
    /// must be that path too, or the built binary is never recognised.
    #[tokio::test]
    async fn the_app_folder_is_resolved_through_dot_dot_and_symlinks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("app");
        std::fs::create_dir_all(real.join("src")).expect("app folder");
        std::fs::write(real.join("Cargo.toml"), "[package]\nname = \"app\"\n").expect("manifest");
        let linked = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &linked).expect("symlink");
        let expected = std::fs::canonicalize(&real).expect("canonical");
        for given in [real.join("src").join(".."), linked] {
            let options = DevOptions::new(&given).port(0);
            let server = DevServer::bind(options, Reporter::new(std::io::sink()))
                .await
                .expect("bound");
            assert_eq!(server.root, expected, "{}", given.display());
        }
    }
}
