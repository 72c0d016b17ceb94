//! Route files added, renamed and deleted between builds change the generated
//! code, and the build script tells cargo to watch the folder and each file.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use crosswire_build::{OUTPUT_FILE, routes};

const HANDLER: &str = "pub async fn handler() -> &'static str { \"ok\" }\n";
const WEBSOCKET: &str =
    "use crosswire::prelude::*;\npub fn websocket() -> impl WebSocketHandler { hooks() }\n";

fn generated(dir: &Path, out: &Path) -> String {
    let lines = routes().dir(dir).directives(out);
    assert!(
        !lines.iter().any(|l| l.starts_with("cargo::error=")),
        "{lines:?}"
    );
    fs::read_to_string(out.join(OUTPUT_FILE)).unwrap()
}

#[test]
fn added_renamed_and_deleted_files_change_the_generated_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    let out = tmp.path().join("out");
    fs::create_dir_all(dir.join("api/ws")).unwrap();
    fs::create_dir_all(&out).unwrap();
    fs::write(dir.join("api/ws/chat.rs"), WEBSOCKET).unwrap();

    let code = generated(&dir, &out);
    assert!(
        code.contains(r#".websocket("/api/ws/chat", crosswire_routes::api_ws_chat::websocket())"#),
        "{code}"
    );
    assert!(!code.contains(".route("), "{code}");

    // Added.
    fs::write(dir.join("hello.get.rs"), HANDLER).unwrap();
    let code = generated(&dir, &out);
    assert!(
        code.contains(r#".route("/hello", routing::get(crosswire_routes::hello_get::handler))"#),
        "{code}"
    );

    // Renamed: the old route is gone, the new one is there.
    fs::rename(dir.join("hello.get.rs"), dir.join("greet.post.rs")).unwrap();
    let code = generated(&dir, &out);
    assert!(!code.contains("/hello"), "{code}");
    assert!(
        code.contains(r#".route("/greet", routing::post(crosswire_routes::greet_post::handler))"#),
        "{code}"
    );

    // Deleted.
    fs::remove_file(dir.join("greet.post.rs")).unwrap();
    let code = generated(&dir, &out);
    assert!(!code.contains("/greet"), "{code}");
    assert!(code.contains("/api/ws/chat"), "{code}");

    // Every route gone: the function still exists and returns the app as is.
    fs::remove_file(dir.join("api/ws/chat.rs")).unwrap();
    let code = generated(&dir, &out);
    assert!(
        code.contains("fn routes(app: ::crosswire::App) -> ::crosswire::App {\n    app\n}"),
        "{code}"
    );
}

#[test]
fn cargo_is_told_to_watch_the_folder_and_each_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    fs::create_dir_all(dir.join("users")).unwrap();
    fs::write(dir.join("index.rs"), HANDLER).unwrap();
    fs::write(dir.join("users/[id].get.rs"), HANDLER).unwrap();

    let lines = routes().dir(&dir).directives(tmp.path());
    let watched: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("cargo::rerun-if-changed="))
        .collect();
    let expected = [
        dir.display().to_string(),
        dir.join("index.rs").display().to_string(),
        dir.join("users/[id].get.rs").display().to_string(),
    ];
    assert_eq!(watched, expected);
}

#[test]
fn errors_become_one_cargo_error_line_each_and_files_are_still_watched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("a-[b].rs"), HANDLER).unwrap();
    fs::write(dir.join("empty.rs"), "").unwrap();

    let lines = routes().dir(&dir).directives(tmp.path());
    assert!(lines.contains(&format!(
        "cargo::rerun-if-changed={}",
        dir.join("empty.rs").display()
    )));
    let errors: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("cargo::error="))
        .collect();
    assert_eq!(errors.len(), 2, "{lines:?}");
    assert!(errors[0].starts_with(&format!(
        "cargo::error={}: `a-[b]` mixes",
        dir.join("a-[b].rs").display()
    )));
    assert!(errors[1].contains("empty.rs: exports nothing a route can serve"));
    assert!(!tmp.path().join(OUTPUT_FILE).exists());
}

#[test]
fn a_missing_folder_warns_and_generates_an_empty_function() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = routes().dir(tmp.path().join("nope")).directives(tmp.path());
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cargo::warning=no routes folder at ")),
        "{lines:?}"
    );
    let code = fs::read_to_string(tmp.path().join(OUTPUT_FILE)).unwrap();
    assert!(code.contains("fn routes(app: ::crosswire::App) -> ::crosswire::App {"));
}

#[test]
fn shared_routes_combine_into_one_method_router() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    fs::create_dir_all(dir.join("items")).unwrap();
    fs::write(dir.join("items/index.get.rs"), HANDLER).unwrap();
    fs::write(dir.join("items/index.post.rs"), HANDLER).unwrap();
    fs::write(dir.join("items/index.rs"), format!("{WEBSOCKET}{HANDLER}")).unwrap();
    let code = generated(&dir, tmp.path());
    assert!(
        code.contains(r#".websocket("/items", crosswire_routes::items_index::websocket())"#),
        "{code}"
    );
    assert!(
        code.contains(
            r#".route("/items", routing::get(crosswire_routes::items_index_get::handler).post(crosswire_routes::items_index_post::handler).fallback(crosswire_routes::items_index::handler))"#
        ),
        "{code}"
    );
}

#[test]
fn env_files_are_registered_by_a_branch_on_dev_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    fs::create_dir_all(dir.join("env")).unwrap();
    fs::write(dir.join("hello.rs"), HANDLER).unwrap();
    fs::write(dir.join("env/index.dev.rs"), HANDLER).unwrap();
    fs::write(dir.join("env/index.get.prod.rs"), HANDLER).unwrap();
    fs::write(dir.join("tools.dev.rs"), WEBSOCKET).unwrap();
    let code = generated(&dir, tmp.path());
    assert!(
        code.contains("let dev = ::crosswire::__private::dev_routes(cfg!(debug_assertions));"),
        "{code}"
    );
    assert!(
        code.contains("fn routes(mut app: ::crosswire::App) -> ::crosswire::App {"),
        "{code}"
    );
    assert!(
        code.contains(
            r#"    app = app
        .route("/hello", routing::any(crosswire_routes::hello::handler));"#
        ),
        "{code}"
    );
    assert!(
        code.contains(
            r#"    app = if dev { app.route("/env", routing::any(crosswire_routes::env_index_dev::handler)) } else { app.route("/env", routing::get(crosswire_routes::env_index_get_prod::handler)) };"#
        ),
        "{code}"
    );
    assert!(
        code.contains(
            r#"    app = if dev { app.websocket("/tools", crosswire_routes::tools_dev::websocket()) } else { app };"#
        ),
        "{code}"
    );
}

#[test]
fn prerender_files_are_left_out_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("feed.rs"), HANDLER).unwrap();
    fs::write(dir.join("feed.get.prerender.rs"), HANDLER).unwrap();
    let lines = routes().dir(&dir).directives(tmp.path());
    assert!(
        lines.contains(&format!(
            "cargo::warning={}: `.prerender` routes are never served (a server has no prerender step); the file is not compiled",
            dir.join("feed.get.prerender.rs").display()
        )),
        "{lines:?}"
    );
    let code = fs::read_to_string(tmp.path().join(OUTPUT_FILE)).unwrap();
    assert!(!code.contains("prerender"), "{code}");
    assert!(!code.contains("let dev"), "{code}");
    assert!(
        code.contains(r#".route("/feed", routing::any(crosswire_routes::feed::handler))"#),
        "{code}"
    );
}
