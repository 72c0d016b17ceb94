//! The app as a child process on an internal port.
//!
//! The dev server owns the app's public port, so the app gets a free
//! loopback port of its own through `PORT` and `CROSSWIRE_SERVER_PORT`, and
//! `CROSSWIRE_DEV=1`, which makes it close its WebSocket peers with 1012
//! (service restart) when it stops, so clients know to reconnect, and keeps
//! it from printing its internal address (`crosswire::under_dev_server`):
//! the one to open is the dev server's. Its output
//! goes to the terminal, line by line, and its last lines are kept: when it
//! crashes, they are what the page's overlay shows.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncRead;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::lines::Lines;
use crate::report::{Reporter, Source};

/// How long a new app may take to listen before it counts as failed.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How many of the app's last output lines are kept for the overlay.
const TAIL_LINES: usize = 40;

/// Why an app did not come up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    /// The executable could not be run at all.
    #[error("cannot run {path}: {source}")]
    Spawn {
        path: String,
        source: std::io::Error,
    },
    /// It exited before listening; `tail` is what it printed last.
    #[error("the app exited before listening ({status})")]
    Exited { status: ExitStatus, tail: String },
    /// It kept running without listening on its port.
    #[error("the app did not listen on {addr} within {} s; does it read PORT (or use crosswire::Config)?", READY_TIMEOUT.as_secs())]
    NotListening { addr: SocketAddr },
    /// No free port could be found.
    #[error("no free port for the app: {0}")]
    NoPort(std::io::Error),
}

impl StartError {
    /// The app's last output lines, when it printed any.
    pub(crate) fn tail(&self) -> Option<&str> {
        match self {
            StartError::Exited { tail, .. } if !tail.is_empty() => Some(tail),
            _ => None,
        }
    }
}

/// A running app.
#[derive(Debug)]
pub(crate) struct RunningApp {
    child: Child,
    addr: SocketAddr,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl RunningApp {
    /// Runs `executable` in `root` on a free loopback port and waits until
    /// it accepts connections.
    pub(crate) async fn start(
        executable: &Path,
        root: &Path,
        reporter: &Reporter,
    ) -> Result<Self, StartError> {
        let port = free_port().map_err(StartError::NoPort)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut child = Command::new(executable)
            .current_dir(root)
            .env("PORT", port.to_string())
            .env("CROSSWIRE_SERVER_PORT", port.to_string())
            .env("CROSSWIRE_SERVER_HOST", "127.0.0.1")
            .env("CROSSWIRE_DEV", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // If the dev server itself goes away, so does the app.
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StartError::Spawn {
                path: executable.display().to_string(),
                source,
            })?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward(stdout, reporter.clone(), Arc::clone(&tail)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward(stderr, reporter.clone(), Arc::clone(&tail)));
        }
        let mut app = Self { child, addr, tail };
        app.wait_ready().await?;
        Ok(app)
    }

    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the forwarders catch the last lines (the reason it exited).
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(StartError::Exited {
                    status,
                    tail: self.tail(),
                });
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(StartError::NotListening { addr: self.addr });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where the app listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The app's last output lines.
    pub(crate) fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Completes when the app exits on its own.
    pub(crate) async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops the app gracefully: SIGTERM, so it closes its WebSocket peers
    /// with 1012 and ends its event streams, then SIGKILL if it is still
    /// running after `grace`.
    pub(crate) async fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        terminate(&self.child);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                tracing::warn!(target: "crosswire::dev", "the app did not stop in time; killing it");
                let _ = self.child.kill().await;
                self.child.wait().await.ok()
            }
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let pid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw);
    if let Some(pid) = pid {
        let _ = kill_process(pid, Signal::TERM);
    }
}

#[cfg(not(unix))]
fn terminate(_child: &Child) {
    // No polite signal here: `stop` waits out its grace, then kills.
}

/// A loopback port nothing listens on right now. Another process could take
/// it before the app binds it; the app then fails to start and says so.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Passes the app's output to the terminal and keeps its last lines.
async fn forward(
    output: impl AsyncRead + Unpin,
    reporter: Reporter,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = Lines::new(output);
    while let Ok(Some(line)) = lines.next_line().await {
        reporter.say(Source::App, &line);
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Captured;

    #[tokio::test]
    async fn an_app_that_exits_at_once_reports_its_last_words() {
        let captured = Captured::default();
        let reporter = Reporter::new(captured.clone());
        let script = tempfile::tempdir().unwrap();
        let path = script.path().join("app.sh");
        std::fs::write(
            &path,
            "#!/bin/sh\necho \"bad config on port $PORT ($CROSSWIRE_DEV)\" >&2\nexit 2\n",
        )
        .unwrap();
        make_executable(&path);
        let error = start_written(&path, script.path(), &reporter)
            .await
            .unwrap_err();
        let StartError::Exited { status, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(status.code(), Some(2));
        let tail = error.tail().unwrap_or_default();
        assert!(
            tail.starts_with("bad config on port ") && tail.ends_with("(1)"),
            "{tail}"
        );
        assert!(
            captured.text().contains("[app]   bad config on port"),
            "{}",
            captured.text()
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn stop_sends_sigterm_first() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("stopped");
        let path = dir.path().join("app.sh");
        // Listens like an app would, and records the signal it got.
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\ntrap 'echo term > {}; kill $server; exit 0' TERM\npython3 -m http.server \"$PORT\" --bind 127.0.0.1 >/dev/null 2>&1 &\nserver=$!\nwait\n",
                marker.display()
            ),
        )
        .unwrap();
        make_executable(&path);
        if std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_err()
        {
            return; // nothing to listen with on this machine
        }
        let app = start_written(&path, dir.path(), &Reporter::new(Captured::default()))
            .await
            .unwrap();
        let status = app.stop(Duration::from_secs(5)).await.unwrap();
        assert!(status.success(), "{status}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), "term");
    }

    /// Starts a script this process just wrote. Another test's child may
    /// still hold the script's write descriptor between its fork and its
    /// exec (tests run on threads of one process), and the kernel then
    /// refuses to run it with `ETXTBSY` for that moment: try again.
    async fn start_written(
        path: &Path,
        dir: &Path,
        reporter: &Reporter,
    ) -> Result<RunningApp, StartError> {
        const ETXTBSY: i32 = 26;
        let mut attempts = 0;
        loop {
            match RunningApp::start(path, dir, reporter).await {
                Err(StartError::Spawn { source, .. })
                    if source.raw_os_error() == Some(ETXTBSY) && attempts < 50 =>
                {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                started => return started,
            }
        }
    }

    fn make_executable(path: &Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}
