//! `crosswire dev` runs the app on an internal port and prints the address
//! to open itself. The app, run the way the dev server runs it
//! (`CROSSWIRE_DEV=1`, a loopback `PORT`), must not print its own address
//! at the default log level; run on its own, it says where to open it.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);

/// Runs the chat app on a free port until it answers `GET /`, stops it, and
/// returns the port and everything it wrote to standard error.
fn run_chat(under_dev_server: bool) -> (u16, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
    command
        .env("PORT", port.to_string())
        .env("CROSSWIRE_SERVER_HOST", "127.0.0.1")
        .env_remove("RUST_LOG")
        .env_remove("CROSSWIRE_LOG_FORMAT")
        .env_remove("CROSSWIRE_BROKER_URL")
        .env_remove("CROSSWIRE_DEV")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if under_dev_server {
        command.env("CROSSWIRE_DEV", "1");
    }
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            all.push_str(&line);
            all.push('\n');
        }
        all
    });

    // Both the announcement and the server's `listening` line come before
    // the accept loop runs, so once a request is answered they are written.
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        assert!(Instant::now() < deadline, "the app never answered");
        if let Some(status) = get_root(port) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status, "200");
    child.kill().unwrap();
    child.wait().unwrap();
    (port, reader.join().unwrap())
}

/// The status code of `GET /`, if the app answers yet.
fn get_root(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.get(9..12).map(str::to_owned)
}

#[test]
fn under_the_dev_server_no_line_names_the_internal_port() {
    let (port, output) = run_chat(true);
    assert!(
        !output.contains(&format!(":{port}")),
        "the app printed its internal address:\n{output}"
    );
}

#[test]
fn on_its_own_the_app_says_where_to_open_it() {
    let (port, output) = run_chat(false);
    assert!(
        output.contains(&format!("open http://127.0.0.1:{port}/")),
        "{output}"
    );
}
