//! The `crosswire` command as a user runs it: help, the route table, error
//! lines, and what `new` writes (without building it; see
//! `new_app_builds_runs_and_passes_its_tests.rs` for that).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crosswire(args: &[&str]) -> Output {
    crosswire_with(args, &[])
}

fn crosswire_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crosswire"));
    command.args(args).env_remove("CROSSWIRE_WEBSOCKET_ENABLED");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A minimal app folder: a Cargo.toml and the given files.
fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const CHAT: &str = "pub fn websocket() -> impl WebSocketHandler { hooks() }\n";
const HANDLER: &str = "pub async fn handler() -> &'static str { \"ok\" }\n";

#[test]
fn every_command_has_help() {
    let output = crosswire(&["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["new", "routes", "build", "start", "dev"] {
        assert!(help.contains(command), "{help}");
        let output = crosswire(&[command, "--help"]);
        assert!(
            output.status.success(),
            "{command} --help: {}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains("Usage: crosswire"),
            "{}",
            stdout(&output)
        );
    }
}

#[test]
fn routes_prints_method_path_kind_and_file() {
    let dir = workspace().join("examples/file-routes");
    let output = crosswire(&["routes", "--dir", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = "\
METHOD  PATH                  KIND             FILE
ANY     /                     http             src/server/routes/index.rs
ANY     /api/param/{test-id}  both             src/server/routes/api/param/[test-id].rs
GET     /dashboard            http             src/server/routes/(admin)/dashboard.get.rs
GET     /env                  http, prod only  src/server/routes/env/index.get.prod.rs
ANY     /env                  http, dev only   src/server/routes/env/index.dev.rs
GET     /files/{*path}        http             src/server/routes/files/[...path].get.rs
GET     /hello                http             src/server/routes/hello.get.rs
GET     /items                http             src/server/routes/items/index.get.rs
POST    /items                http             src/server/routes/items/index.post.rs
ANY     /items                http             src/server/routes/items/index.rs
ANY     /rooms/{room}         websocket        src/server/routes/rooms/[room].rs
GET     /rss.xml              http             src/server/routes/rss.xml.get.rs
ANY     /users/me             http             src/server/routes/users/me.rs
ANY     /users/{*rest}        http             src/server/routes/users/[...rest].rs
ANY     /users/{id}           both             src/server/routes/users/[id].rs
ANY     /ws/echo              websocket        src/server/routes/ws/echo.rs
ANY     /{*_}                 http             src/server/routes/[...].rs
";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn routes_marks_websockets_disabled_by_the_config_or_the_environment() {
    let dir = app(&[
        ("crosswire.toml", "[websocket]\nenabled = false\n"),
        ("src/server/routes/chat.rs", CHAT),
        ("src/server/routes/both.rs", &format!("{CHAT}{HANDLER}")),
    ]);
    let output = crosswire(&["routes", "--dir", dir.path().to_str().unwrap()]);
    let table = stdout(&output);
    let line = |path: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(path))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("/both").contains(" both (websocket disabled) "),
        "{table}"
    );
    assert!(line("/chat").contains(" websocket (disabled) "), "{table}");
    assert!(
        table.contains("WebSocket upgrades get 501: `[websocket] enabled = false`"),
        "{table}"
    );

    let dir = app(&[("src/server/routes/chat.rs", CHAT)]);
    let path = dir.path().to_str().unwrap();
    assert!(!stdout(&crosswire(&["routes", "--dir", path])).contains("disabled"));
    let output = crosswire_with(
        &["routes", "--dir", path],
        &[("CROSSWIRE_WEBSOCKET_ENABLED", "false")],
    );
    assert!(
        stdout(&output).contains("websocket (disabled)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn routes_works_from_inside_the_app() {
    let dir = app(&[("src/server/routes/api/hello.get.rs", HANDLER)]);
    let inside = dir.path().join("src/server");
    let output = Command::new(env!("CARGO_BIN_EXE_crosswire"))
        .arg("routes")
        .current_dir(&inside)
        .output()
        .unwrap();
    assert!(
        stdout(&output).contains("GET     /api/hello  http  src/server/routes/api/hello.get.rs"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_route_files_fail_with_one_line_each_naming_the_file() {
    let dir = app(&[
        ("src/server/routes/a-[b].rs", HANDLER),
        ("src/server/routes/empty.rs", "fn helper() {}\n"),
        ("src/server/routes/users/[].rs", HANDLER),
    ]);
    let output = crosswire(&["routes", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let lines: Vec<String> = stderr(&output).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "crosswire: error: src/server/routes/a-[b].rs: `a-[b]` mixes text and brackets"
        ),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with(
            "crosswire: error: src/server/routes/empty.rs: exports nothing a route can serve"
        ),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with(
            "crosswire: error: src/server/routes/users/[].rs: `[]`: a parameter needs a name"
        ),
        "{lines:?}"
    );
}

#[test]
fn a_bad_config_key_is_one_line_naming_the_file_and_the_key() {
    let dir = app(&[
        ("crosswire.toml", "[websocket]\nenabeld = false\n"),
        ("src/server/routes/chat.rs", CHAT),
    ]);
    let output = crosswire(&["routes", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.starts_with("crosswire: error: crosswire.toml: "),
        "{message}"
    );
    assert!(
        message.contains("enabeld") && message.contains("line 2"),
        "{message}"
    );
}

#[test]
fn commands_outside_an_app_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["routes", "build", "start"] {
        let output = crosswire(&[command, "--dir", dir.path().to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1));
        let message = stderr(&output);
        assert!(
            message.contains("not inside a Crosswire app (no Cargo.toml here or above)"),
            "{message}"
        );
    }
}

#[test]
fn new_writes_an_app_that_depends_on_this_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my-app");
    let output = crosswire(&["new", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("Created the Crosswire app `my-app` in "));
    for file in [
        "Cargo.toml",
        ".gitignore",
        "build.rs",
        "crosswire.toml",
        "public/index.html",
        "src/main.rs",
        "src/server/routes/api/ws/chat.rs",
        "src/server/routes/api/sse.rs",
        "tests/chat.rs",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let crates = workspace().join("crates");
    assert!(manifest.contains("name = \"my-app\""), "{manifest}");
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "crosswire = {{ path = '{}', features = [\"logging\"] }}",
            crates.join("crosswire").display()
        )),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!(
            "crosswire-build = {{ path = '{}' }}",
            crates.join("crosswire-build").display()
        )),
        "{manifest}"
    );
    let page = std::fs::read_to_string(dir.join("public/index.html")).unwrap();
    assert!(page.contains("<title>my-app</title>"));

    let routes = stdout(&crosswire(&["routes", "--dir", dir.to_str().unwrap()]));
    assert_eq!(
        routes,
        "METHOD  PATH          KIND       FILE\n\
         ANY     /api/sse      http       src/server/routes/api/sse.rs\n\
         ANY     /api/ws/chat  websocket  src/server/routes/api/ws/chat.rs\n"
    );
}

#[test]
fn new_takes_another_checkout_or_a_version() {
    let tmp = tempfile::tempdir().unwrap();
    let by_path = tmp.path().join("by-path");
    let crosswire_dir = workspace().join("crates/crosswire");
    let output = crosswire(&[
        "new",
        by_path.to_str().unwrap(),
        "--crosswire-path",
        crosswire_dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(by_path.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("path = '{}'", crosswire_dir.display())),
        "{manifest}"
    );

    let by_version = tmp.path().join("by-version");
    let output = crosswire(&[
        "new",
        by_version.to_str().unwrap(),
        "--crosswire-version",
        "0.1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read_to_string(by_version.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("crosswire = { version = \"0.1\", features = [\"logging\"] }")
            && manifest.contains("crosswire-build = \"0.1\""),
        "{manifest}"
    );
}

#[test]
fn new_refuses_what_it_cannot_do_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = tmp.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("file"), "").unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let (fast, x, y) = (path("2fast"), path("x"), path("y"));
    let cases: [(&[&str], &str); 4] = [
        (
            &["new", taken.to_str().unwrap()],
            "taken: already exists and is not empty; pick a new folder",
        ),
        (&["new", &fast], "`2fast` is not a valid package name"),
        (
            &["new", &x, "--crosswire-path", tmp.path().to_str().unwrap()],
            "not a Crosswire checkout (expected crates/crosswire/Cargo.toml in it)",
        ),
        (
            &["new", &y, "--crosswire-version", "1 2\""],
            "--crosswire-version `1 2\"` is not a version requirement",
        ),
    ];
    for (args, expected) in cases {
        let output = crosswire(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let message = stderr(&output);
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}
