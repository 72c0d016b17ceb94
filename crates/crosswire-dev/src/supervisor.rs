//! The dev loop: build, run, watch, and on each change rebuild, restart or
//! reload.
//!
//! One task owns the app process, the current build and the upstream state,
//! so the order of a restart is plain code: the proxy is told to hold
//! requests, the old app is stopped (its WebSocket peers get 1012, its event
//! streams end), the new one is started and awaited, the proxy is pointed at
//! it, and only then are pages told to reload. A failed build changes none
//! of that: the old app keeps serving and pages show the error.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::RunningApp;
use crate::build::{self, Outcome, seconds};
use crate::config::DevSettings;
use crate::error::DevError;
use crate::reload::{Hub, Trouble};
use crate::report::Reporter;
use crate::upstream::Upstream;
use crate::watch::{Changes, Watcher};

type BuildTask = JoinHandle<Result<Outcome, DevError>>;

/// Owns the app and its builds.
#[derive(Debug)]
pub(crate) struct Supervisor {
    pub(crate) root: PathBuf,
    pub(crate) bin: Option<String>,
    pub(crate) reporter: Reporter,
    pub(crate) hub: Arc<Hub>,
    pub(crate) upstream: watch::Sender<Upstream>,
    pub(crate) stop_grace: Duration,
    /// The settings the dev server started with, to notice edits it cannot
    /// apply without a restart of its own.
    pub(crate) settings: DevSettings,
    /// `--port`, which overrides the configured port.
    pub(crate) port_override: Option<u16>,
    /// What `http://…/` the developer opens, for messages.
    pub(crate) url: String,
    pub(crate) app: Option<RunningApp>,
    /// The last executable that built.
    pub(crate) executable: Option<PathBuf>,
}

impl Supervisor {
    /// Runs the loop until `shutdown` completes, then stops the app.
    pub(crate) async fn run(
        mut self,
        mut watcher: Watcher,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), DevError> {
        tokio::pin!(shutdown);
        let mut build = Some(self.start_build());
        // A change came in during a build: build again once it is done.
        let mut build_again = false;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                changes = watcher.next() => {
                    if changes.rust && build.is_some() {
                        self.reporter.dev(&format!("changed: {} (building again after this build)", changes.describe()));
                        build_again = true;
                    } else if changes.rust {
                        self.reporter.dev(&format!("changed: {}", changes.describe()));
                        build = Some(self.start_build());
                    } else {
                        // A restart waits for the old app to stop and the
                        // new one to be ready: a stop signal cuts it short.
                        tokio::select! {
                            () = self.apply(&changes) => {}
                            () = &mut shutdown => break,
                        }
                    }
                }
                outcome = finished(&mut build) => {
                    build = None;
                    match outcome {
                        Ok(Ok(outcome)) => tokio::select! {
                            () = self.built(outcome) => {}
                            () = &mut shutdown => break,
                        },
                        Ok(Err(error)) => return Err(error),
                        Err(error) => self.reporter.dev(&format!("the build task failed: {error}")),
                    }
                    if std::mem::take(&mut build_again) {
                        build = Some(self.start_build());
                    }
                }
                status = exited(&mut self.app) => self.crashed(status),
            }
        }
        if let Some(build) = build {
            build.abort();
        }
        if let Some(app) = self.app.take() {
            self.reporter.dev("stopping the app");
            app.stop(self.stop_grace).await;
        }
        Ok(())
    }

    fn start_build(&self) -> BuildTask {
        if self.executable.is_some() {
            self.reporter.dev("rebuilding…");
            self.hub.building();
        } else {
            self.reporter.dev("building the app (cargo build)…");
        }
        let (root, bin, reporter) = (self.root.clone(), self.bin.clone(), self.reporter.clone());
        tokio::spawn(async move { build::build(&root, bin.as_deref(), &reporter).await })
    }

    /// A change that needs no build: `crosswire.toml` restarts the app,
    /// `public/` reloads the pages.
    async fn apply(&mut self, changes: &Changes) {
        self.reporter
            .dev(&format!("changed: {}", changes.describe()));
        if changes.config {
            let loaded = DevSettings::load(&self.root).map(|mut settings| {
                if let Some(port) = self.port_override {
                    settings.port = port;
                }
                settings
            });
            match loaded {
                Err(error) => {
                    // The app would refuse to start with it: keep the old one.
                    self.reporter.dev(&format!("{error}\nthe app keeps running with the previous settings"));
                    self.hub.error(Trouble::BadSettings, &error.to_string());
                    return;
                }
                Ok(settings) if settings != self.settings => self.reporter.dev(
                    "[server] or [dev.hmr] changed: restart `crosswire dev` to listen there; the app restarts now",
                ),
                Ok(_) => {}
            }
            if self.executable.is_some() {
                self.hub.ok();
                self.restart().await;
            }
        } else if changes.public {
            self.reporter
                .dev(&format!("reloading {}", pages(self.hub.pages())));
            self.hub.reload();
        }
    }

    async fn built(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Built {
                executable,
                elapsed,
            } => {
                let verb = if self.executable.is_some() {
                    "rebuilt"
                } else {
                    "built"
                };
                self.reporter
                    .dev(&format!("{verb} in {}", seconds(elapsed)));
                self.executable = Some(executable);
                self.hub.ok();
                self.restart().await;
            }
            Outcome::Failed {
                errors,
                rendered,
                elapsed,
            } => {
                let count = match errors.len() {
                    1 => "1 error".to_owned(),
                    n => format!("{n} errors"),
                };
                let mut summary = format!("build failed after {} with {count}:", seconds(elapsed));
                for error in &errors {
                    summary.push_str(&format!("\n  {error}"));
                }
                if self.app.is_some() {
                    summary.push_str(
                        "\nthe app keeps running its last good build; fix and save to rebuild",
                    );
                } else {
                    summary.push_str("\nfix and save to rebuild");
                    let _ = self.upstream.send_replace(Upstream::Down(
                        "the build failed; the error is in the terminal (and on this page once the script connects)".into(),
                    ));
                }
                self.reporter.dev(&summary);
                let serving = self.app.is_some();
                self.hub.error(Trouble::BuildFailed { serving }, &rendered);
            }
        }
    }

    /// Stops the old app (if any) and starts the last good build; requests
    /// wait meanwhile, and pages reload once it is up.
    async fn restart(&mut self) {
        let Some(executable) = self.executable.clone() else {
            return;
        };
        let started = Instant::now();
        let verb = if self.app.is_some() {
            "restarted"
        } else {
            "started"
        };
        let _ = self.upstream.send_replace(Upstream::Starting);
        if let Some(old) = self.app.take() {
            self.reporter
                .dev("stopping the app (WebSocket peers get 1012, event streams end)");
            old.stop(self.stop_grace).await;
        }
        match RunningApp::start(&executable, &self.root, &self.reporter).await {
            Ok(app) => {
                let _ = self.upstream.send_replace(Upstream::Ready(app.addr()));
                self.app = Some(app);
                let listening = self.hub.pages();
                self.hub.reload();
                self.reporter.dev(&format!(
                    "app ready at {} ({verb} in {}); reloading {}",
                    self.url,
                    seconds(started.elapsed()),
                    pages(listening)
                ));
            }
            Err(error) => {
                let mut message = error.to_string();
                if let Some(tail) = error.tail() {
                    message.push_str("; it said:\n\n");
                    message.push_str(tail);
                }
                self.reporter
                    .dev(&format!("{error}; fix and save to try again"));
                let _ = self
                    .upstream
                    .send_replace(Upstream::Down(error.to_string().into()));
                self.hub.error(Trouble::NotStarted, &message);
            }
        }
    }

    fn crashed(&mut self, status: std::io::Result<ExitStatus>) {
        let Some(app) = self.app.take() else {
            return;
        };
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        let reason = format!("the app exited ({status})");
        self.reporter
            .dev(&format!("{reason}; save a change to start it again"));
        let _ = self
            .upstream
            .send_replace(Upstream::Down(reason.clone().into()));
        let tail = app.tail();
        if tail.is_empty() {
            self.hub.error(Trouble::Stopped, &reason);
        } else {
            self.hub
                .error(Trouble::Stopped, &format!("{reason}; it said:\n\n{tail}"));
        }
    }
}

/// `1 page`, `3 pages`.
fn pages(count: usize) -> String {
    match count {
        1 => "1 page".to_owned(),
        n => format!("{n} pages"),
    }
}

/// Completes with the build's outcome; never, when no build runs.
async fn finished(
    build: &mut Option<BuildTask>,
) -> Result<Result<Outcome, DevError>, tokio::task::JoinError> {
    match build {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Completes when the app exits on its own; never, when none runs.
async fn exited(app: &mut Option<RunningApp>) -> std::io::Result<ExitStatus> {
    match app {
        Some(app) => app.exited().await,
        None => std::future::pending().await,
    }
}
