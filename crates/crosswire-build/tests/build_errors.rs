//! Every way a routes folder can fail the build, and the message each gives:
//! the file first, then what was expected.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use crosswire_build::{Error, scan};
use tempfile::TempDir;

const WEBSOCKET: &str = "pub fn websocket() -> impl WebSocketHandler { hooks() }\n";
const HANDLER: &str = "pub async fn handler() -> &'static str { \"ok\" }\n";

/// A temporary routes folder holding `files`.
fn routes(files: &[(&str, &str)]) -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src/server/routes");
    for (path, source) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    (tmp, dir)
}

/// The error lines of scanning `dir`, with the folder shown as `routes`.
fn errors(dir: &Path) -> Vec<String> {
    match scan(dir) {
        Ok(table) => panic!("expected errors, got {table:?}"),
        Err(error) => error
            .lines()
            .into_iter()
            .map(|line| line.replace(&dir.display().to_string(), "routes"))
            .collect(),
    }
}

#[test]
fn a_file_that_exports_nothing_says_what_was_expected() {
    let (_tmp, dir) = routes(&[("api/empty.rs", "fn helper() {}\n")]);
    assert_eq!(
        errors(&dir),
        [
            "routes/api/empty.rs: exports nothing a route can serve: expected \
          `pub fn websocket() -> impl WebSocketHandler` (WebSocket hooks), \
          `pub async fn handler(..)` (an axum handler), or both"
        ]
    );
}

#[test]
fn near_misses_are_pointed_out() {
    let (_tmp, dir) = routes(&[("api/x.rs", "async fn handler() {}\n")]);
    let lines = errors(&dir);
    assert!(
        lines[0].ends_with("; `fn handler` is private; make it `pub fn handler`"),
        "{lines:?}"
    );
}

#[test]
fn two_files_with_the_same_method_and_route_are_both_named() {
    let (_tmp, dir) = routes(&[
        ("users/[id].get.rs", HANDLER),
        ("(admin)/users/[id].get.rs", HANDLER),
    ]);
    assert_eq!(
        errors(&dir),
        [
            "routes/users/[id].get.rs: serves GET /users/{id}, and so does \
          routes/(admin)/users/[id].get.rs; one method on one route belongs to one file: \
          remove or rename one of them"
        ]
    );
}

#[test]
fn a_file_and_an_index_on_the_same_path_conflict() {
    let (_tmp, dir) = routes(&[("api.rs", HANDLER), ("api/index.rs", HANDLER)]);
    assert_eq!(
        errors(&dir),
        [
            "routes/api.rs: serves every method on /api, and so does routes/api/index.rs; \
          one method on one route belongs to one file: remove or rename one of them"
        ]
    );
}

#[test]
fn two_websocket_handlers_on_one_route_conflict() {
    let (_tmp, dir) = routes(&[("chat.rs", WEBSOCKET), ("chat.get.rs", WEBSOCKET)]);
    assert_eq!(
        errors(&dir),
        [
            "routes/chat.rs: serves the WebSocket hooks of /chat, and so does routes/chat.get.rs; \
          one method on one route belongs to one file: remove or rename one of them"
        ]
    );
}

#[test]
fn different_methods_and_a_fallback_share_a_route() {
    let (_tmp, dir) = routes(&[
        ("items.rs", HANDLER),
        ("items.get.rs", HANDLER),
        ("items.post.rs", HANDLER),
        ("chat.rs", WEBSOCKET),
        ("chat.post.rs", HANDLER),
    ]);
    let table = scan(&dir).unwrap();
    assert_eq!(table.routes().len(), 5);
}

#[test]
fn invalid_segments_name_the_file_and_the_segment() {
    let (_tmp, dir) = routes(&[("a-[b].rs", HANDLER), ("users/[id.rs", HANDLER)]);
    assert_eq!(
        errors(&dir),
        [
            "routes/a-[b].rs: `a-[b]` mixes text and brackets; a segment is either plain text \
             or exactly one `[name]`, `[...name]` or `[...]`",
            "routes/users/[id.rs: `[id` has unbalanced brackets; write a parameter as `[name]`",
        ]
    );
}

#[test]
fn a_parameter_needs_a_name() {
    let (_tmp, dir) = routes(&[("users/[].rs", HANDLER)]);
    assert_eq!(
        errors(&dir),
        ["routes/users/[].rs: `[]`: a parameter needs a name between its brackets (`[id]`)"]
    );
}

#[test]
fn a_file_for_every_environment_conflicts_with_a_dev_file_on_its_slot() {
    let (_tmp, dir) = routes(&[("env/index.rs", HANDLER), ("env/index.dev.rs", HANDLER)]);
    assert_eq!(
        errors(&dir),
        [
            "routes/env/index.rs: serves every method on /env, and so does \
          routes/env/index.dev.rs; one method on one route belongs to one file: \
          remove or rename one of them"
        ]
    );
}

#[test]
fn prerender_files_claim_nothing() {
    let (_tmp, dir) = routes(&[("feed.rs", HANDLER), ("feed.prerender.rs", HANDLER)]);
    let table = scan(&dir).unwrap();
    let never: Vec<_> = table.never_served().map(|r| r.file.clone()).collect();
    assert_eq!(never, [PathBuf::from("feed.prerender.rs")]);
}

#[test]
fn one_route_shape_cannot_have_two_sets_of_parameter_names() {
    let (_tmp, dir) = routes(&[
        ("users/[id].get.rs", HANDLER),
        ("users/[name].post.rs", HANDLER),
    ]);
    assert_eq!(
        errors(&dir),
        [
            "routes/users/[name].post.rs: calls the parameters of `/users/{name}` differently \
          from routes/users/[id].get.rs (`/users/{id}`); files on one route must use the same \
          parameter names"
        ]
    );
}

#[test]
fn websocket_hooks_need_a_get_or_method_less_file() {
    let (_tmp, dir) = routes(&[("chat.post.rs", WEBSOCKET)]);
    assert_eq!(
        errors(&dir),
        [
            "routes/chat.post.rs: exports `websocket()` but its name picks POST; WebSocket \
          upgrades are GET requests, so drop the `.post` suffix or use `.get`"
        ]
    );
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let (_tmp, dir) = routes(&[("x.rs", "pub fn handler() {}\npub fn websocket( {}\n")]);
    let lines = errors(&dir);
    assert!(
        lines[0].starts_with("routes/x.rs:2:") && lines[0].contains("cannot parse the file"),
        "{lines:?}"
    );
}

#[test]
fn every_bad_file_is_reported_at_once() {
    let (_tmp, dir) = routes(&[
        ("a.rs", "fn nothing() {}"),
        ("b-[c].rs", HANDLER),
        ("ok.rs", HANDLER),
        ("[].rs", HANDLER),
    ]);
    let lines = errors(&dir);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("routes/[].rs: "), "{lines:?}");
    assert!(lines[1].starts_with("routes/a.rs: "), "{lines:?}");
    assert!(lines[2].starts_with("routes/b-[c].rs: "), "{lines:?}");
}

#[test]
fn a_missing_folder_is_an_empty_table_and_other_files_are_ignored() {
    let (_tmp, dir) = routes(&[
        ("README.md", "# notes"),
        (".#chat.rs", "lock file an editor left"),
        (".hidden/x.rs", "fn nothing() {}"),
        ("chat.rs", WEBSOCKET),
    ]);
    let table = scan(&dir).unwrap();
    assert_eq!(table.routes().len(), 1);
    let missing = scan(dir.join("nope")).unwrap();
    assert!(missing.routes().is_empty());
}

#[test]
fn generation_outside_a_build_script_says_where_it_belongs() {
    let error = crosswire_build::routes().dir("/nonexistent").write();
    // Tests do not run as build scripts, so OUT_DIR is unset.
    assert!(matches!(error, Err(Error::NotInBuildScript)));
    let message = error.unwrap_err().to_string();
    assert!(message.contains("build.rs"), "{message}");
}
