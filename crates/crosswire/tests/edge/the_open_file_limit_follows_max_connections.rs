//! At startup the server raises the process's soft open-file limit toward
//! `max_connections` (up to the hard limit), and warns when the hard limit
//! is too low. Limits belong to the whole process, so each case runs this
//! test binary again in a child process whose limits a shell has lowered.

#![cfg(target_os = "linux")]

use crosswire::prelude::*;

use crate::support::*;

/// Set in the child process: run the server instead of spawning.
const CHILD: &str = "CROSSWIRE_TEST_OPEN_FILE_LIMIT_CHILD";

/// `(soft, hard)` open-file limits of this process (`None`: unlimited).
fn open_file_limits() -> (Option<u64>, Option<u64>) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| v.parse::<u64>().ok());
    (values.next().unwrap(), values.next().unwrap())
}

/// In the child: start a server with the default `max_connections` and
/// print the soft limit it leaves.
async fn child() {
    let server = start(App::new()).await;
    let (soft, _) = open_file_limits();
    eprintln!("soft limit after start: {soft:?}");
    server.shutdown().await;
}

/// Runs `test` in a child whose shell ran `limits` first; returns its output.
fn run_child(limits: &str, test: &str) -> String {
    let test = format!("{}::{test}", module_path!().split_once("::").unwrap().1);
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{limits} && exec \"$0\" \"$@\""))
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("TEST_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    text
}

#[tokio::test]
async fn a_low_soft_limit_is_raised_toward_max_connections() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let (_, hard) = open_file_limits();
    let wanted = 10_000 + 256;
    let expected = hard.map_or(wanted, |hard| hard.min(wanted));
    if expected <= 600 {
        return; // the hard limit leaves nothing to raise
    }
    let output = run_child(
        "ulimit -Sn 600",
        "a_low_soft_limit_is_raised_toward_max_connections",
    );
    assert!(
        output.contains(&format!("soft limit after start: Some({expected})")),
        "{output}"
    );
}

#[tokio::test]
async fn a_hard_limit_below_max_connections_is_a_warning() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let output = run_child(
        "ulimit -Sn 600 && ulimit -Hn 600",
        "a_hard_limit_below_max_connections_is_a_warning",
    );
    assert!(
        output.contains("soft limit after start: Some(600)"),
        "{output}"
    );
    assert!(
        output.contains("open-file limit (RLIMIT_NOFILE) is below [server] max_connections"),
        "{output}"
    );
}
