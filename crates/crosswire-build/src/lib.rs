//! File routes for Crosswire apps: every file under `src/server/routes` is a
//! route, found at build time, as in Nitro.
//!
//! ```text
//! src/server/routes/api/ws/chat.rs        ws://host/api/ws/chat
//! src/server/routes/api/sse.rs            GET /api/sse (every method)
//! src/server/routes/users/[id].get.rs     GET /users/{id}
//! src/server/routes/[...].rs              every other path
//! src/server/routes/env/index.dev.rs      /env, in debug builds and under `crosswire dev`
//! src/server/routes/env/index.get.prod.rs GET /env, in release builds
//! ```
//!
//! An app's `build.rs` is one line,
//!
//! ```no_run
//! fn main() {
//!     crosswire_build::routes().emit();
//! }
//! ```
//!
//! and its `main.rs` includes what it wrote with `crosswire::include_routes!();`,
//! which defines `fn routes(app: crosswire::App) -> crosswire::App`.
//!
//! A route file exports `pub fn websocket() -> impl WebSocketHandler`, an
//! HTTP handler `pub async fn handler(..)` (any axum handler), or both.
//!
//! # Layout
//!
//! - [`route_for`]: the naming rules, a pure function of a relative path,
//!   checked against Nitro's scanner by a table of cases.
//! - [`Env`]: the `.dev` / `.prod` / `.prerender` suffixes, and when a file
//!   limited by one is served.
//! - [`exports_of`]: what a file exports, read with `syn`.
//! - [`scan`]: a folder into a [`RouteTable`], refusing conflicts.
//! - [`generate`]: the table into plain Rust (`#[path]` modules and one
//!   function that calls the `crosswire::App` API).
//! - [`routes`]: the build-script entry point, which also tells cargo which
//!   paths to watch so added, renamed and deleted files are picked up.
//!
//! Errors name the file and say what was expected; a build script prints them
//! as `cargo::error=` lines, one per problem.

#![deny(missing_docs)]
// The examples show an app's build.rs, whose `fn main` is the point.
#![allow(clippy::needless_doctest_main)]

mod build_script;
mod codegen;
mod env;
mod error;
mod exports;
mod file_route;
mod method;
mod pattern;
mod scan;

pub use build_script::{DEFAULT_DIR, Generated, OUTPUT_FILE, Routes, routes};
pub use codegen::generate;
pub use env::Env;
pub use error::{Error, RouteError, RouteErrorKind};
pub use exports::{ExportError, Exports, exports_of};
pub use file_route::{FileRoute, PathError, route_for};
pub use method::Method;
pub use pattern::{RoutePattern, Segment, UNNAMED_CATCH_ALL};
pub use scan::{Kind, Route, RouteTable, route_files, scan};
