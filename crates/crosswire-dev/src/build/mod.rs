//! Building the app with cargo.
//!
//! `cargo build --message-format=json` gives the compiler's diagnostics with
//! their files and lines, and the path of the executable wherever
//! `CARGO_TARGET_DIR` puts it, so the dev server never guesses either. The
//! status lines on stderr are passed on as build progress.

mod messages;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::Command;

use crate::error::DevError;
use crate::lines::Lines;
use crate::report::{Reporter, Source};
pub(crate) use messages::CompileError;
use messages::{Report, Shown, is_status_line};

/// How a build ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The app's executable is ready.
    Built {
        /// Where cargo put it.
        executable: PathBuf,
        /// How long the build took.
        elapsed: Duration,
    },
    /// The build failed; the old app, if any, keeps running.
    Failed {
        /// The errors, each with its file and line when it has one.
        errors: Vec<CompileError>,
        /// The errors as rustc and cargo rendered them.
        rendered: String,
        /// How long the failed build took.
        elapsed: Duration,
    },
}

/// Builds the package at `root` (the folder of its `Cargo.toml`), reporting
/// progress and diagnostics as they come. `bin` picks the binary when the
/// package has several.
pub(crate) async fn build(
    root: &Path,
    bin: Option<&str>,
    reporter: &Reporter,
) -> Result<Outcome, DevError> {
    let started = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--message-format=json", "--color=never"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropping an unfinished build (the dev server is stopping) ends it.
        .kill_on_drop(true);
    if let Some(bin) = bin {
        command.args(["--bin", bin]);
    }
    let mut child = command.spawn().map_err(DevError::Cargo)?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(DevError::Cargo(std::io::Error::other(
            "cargo's output was not captured",
        )));
    };

    let mut report = Report::new(&root.join("Cargo.toml"));
    let mut stdout = Lines::new(stdout);
    let mut stderr = Lines::new(stderr);
    let (mut stdout_open, mut stderr_open) = (true, true);
    // Both pipes are read in one loop, so the report needs no lock and the
    // terminal shows lines in the order they came.
    while stdout_open || stderr_open {
        tokio::select! {
            line = stdout.next_line(), if stdout_open => match line {
                Ok(Some(line)) => {
                    if let Shown::Text(text) = report.stdout_line(&line) {
                        reporter.say(Source::Cargo, &text);
                    }
                }
                _ => stdout_open = false,
            },
            line = stderr.next_line(), if stderr_open => match line {
                Ok(Some(line)) => {
                    report.stderr_line(&line);
                    if is_status_line(&line) {
                        reporter.say(Source::Cargo, line.trim_start());
                    } else if !line.trim().is_empty() {
                        reporter.say(Source::Cargo, &line);
                    }
                }
                _ => stderr_open = false,
            },
        }
    }
    let status = child.wait().await.map_err(DevError::Cargo)?;
    let elapsed = started.elapsed();
    if status.success() && report.succeeded() {
        match report.executable(bin) {
            Ok(executable) => {
                return Ok(Outcome::Built {
                    executable,
                    elapsed,
                });
            }
            Err(problem) => {
                return Ok(Outcome::Failed {
                    errors: vec![CompileError {
                        location: None,
                        message: problem.clone(),
                    }],
                    rendered: problem,
                    elapsed,
                });
            }
        }
    }
    let mut errors = report.errors().to_vec();
    let mut rendered = report.rendered().to_owned();
    if errors.is_empty() {
        // Killed, or failed before saying why: still say something.
        let problem = format!("cargo build failed ({status})");
        rendered = problem.clone();
        errors.push(CompileError {
            location: None,
            message: problem,
        });
    }
    Ok(Outcome::Failed {
        errors,
        rendered,
        elapsed,
    })
}

/// `2.3 s`, `850 ms`: how long something took, for people.
pub(crate) fn seconds(elapsed: Duration) -> String {
    if elapsed < Duration::from_secs(1) {
        format!("{} ms", elapsed.as_millis())
    } else {
        format!("{:.1} s", elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(seconds(Duration::from_millis(2340)), "2.3 s");
        assert_eq!(seconds(Duration::from_millis(850)), "850 ms");
    }
}
