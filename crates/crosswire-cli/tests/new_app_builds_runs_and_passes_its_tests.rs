//! `crosswire new`, then what a user does next: build, test, run, and add,
//! rename and delete route files between builds.
//!
//! This builds a whole app with cargo, so it is one test. The app's target
//! folder is shared under this workspace's (`<target>/scaffold-app`) and the
//! workspace's `Cargo.lock` is copied in, so the dependencies are the very
//! versions already downloaded and, after the first run, already compiled;
//! cargo runs `--offline`.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `<target>/scaffold-app`, where `<target>` is the target folder of the
/// build running this test.
fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    workspace().join(target).join("scaffold-app")
}

fn cargo(app: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(app)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap()
}

fn assert_ok(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn crosswire_routes(app: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_crosswire"))
        .args(["routes", "--dir"])
        .arg(app)
        .output()
        .unwrap();
    assert_ok("crosswire routes", &output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The routes file the app's last build generated.
fn generated(name: &str) -> String {
    let build = target_dir().join("debug/build");
    let newest = std::fs::read_dir(&build)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .map(|e| e.path().join("out/crosswire_routes.rs"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().unwrap().modified().unwrap())
        .expect("a generated routes file");
    std::fs::read_to_string(newest).unwrap()
}

#[test]
fn a_new_app_builds_runs_and_passes_its_tests_and_picks_up_route_files() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("fresh-app");
    let output = Command::new(env!("CARGO_BIN_EXE_crosswire"))
        .arg("new")
        .arg(&app)
        .output()
        .unwrap();
    assert_ok("crosswire new", &output);
    std::fs::copy(workspace().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();

    // Builds and passes its own tests with no edit.
    assert_ok("cargo build", &cargo(&app, &["build"]));
    assert_ok("cargo test", &cargo(&app, &["test"]));

    // Runs: serves the page and says where.
    run_and_fetch_the_page(&app);

    // A new file is a new route at the next build.
    let hello = app.join("src/server/routes/api/hello.get.rs");
    std::fs::write(
        &hello,
        "pub async fn handler() -> &'static str { \"hi\" }\n",
    )
    .unwrap();
    assert_ok("cargo build after adding", &cargo(&app, &["build"]));
    assert!(generated("fresh-app").contains(r#".route("/api/hello", routing::get("#));
    assert!(crosswire_routes(&app).contains("GET     /api/hello "));

    // Renamed: the old path is gone, the new one served.
    let greet = app.join("src/server/routes/api/greet/[name].get.rs");
    std::fs::create_dir_all(greet.parent().unwrap()).unwrap();
    std::fs::rename(&hello, &greet).unwrap();
    assert_ok("cargo build after renaming", &cargo(&app, &["build"]));
    let code = generated("fresh-app");
    assert!(!code.contains("/api/hello"), "{code}");
    assert!(
        code.contains(r#".route("/api/greet/{name}", routing::get("#),
        "{code}"
    );

    // Deleted: gone.
    std::fs::remove_file(&greet).unwrap();
    assert_ok("cargo build after deleting", &cargo(&app, &["build"]));
    let code = generated("fresh-app");
    assert!(!code.contains("/api/greet"), "{code}");
    assert!(code.contains("/api/ws/chat"), "{code}");

    // A bad file fails the build, naming the file and what was expected.
    std::fs::write(
        app.join("src/server/routes/a-[b].rs"),
        "pub async fn handler() {}\n",
    )
    .unwrap();
    let output = cargo(&app, &["build"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("src/server/routes/a-[b].rs: `a-[b]` mixes text and brackets; a segment is either plain text or exactly one `[name]`, `[...name]` or `[...]`"),
        "{stderr}"
    );
}

/// Starts the built binary on a free port from the app's folder, reads the
/// address it prints, and fetches `/`.
fn run_and_fetch_the_page(app: &Path) {
    let mut child = Command::new(target_dir().join("debug/fresh-app"))
        .current_dir(app)
        .env("PORT", "0")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        assert!(
            Instant::now() < deadline,
            "the app did not say where it listens"
        );
        let line = lines.next().expect("the app exited").unwrap();
        if let Some(rest) = line.split("open http://").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("<title>fresh-app</title>"), "{response}");
}
