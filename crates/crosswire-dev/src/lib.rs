//! The development server behind `crosswire dev`: build the app with cargo,
//! run it behind a proxy that owns the app's port, rebuild and restart it on
//! every save, and tell open pages to reload.
//!
//! The seed's stack runs Vite's HMR WebSocket next to the app's own
//! WebSockets, and the two collide on one port unless HMR is moved by hand.
//! Here the dev server is the only thing on the app's port: it proxies every
//! request and every WebSocket upgrade to the app (which runs on an internal
//! port), and claims exactly one upgrade path for itself, the reload channel.
//! No second port is needed, so none can collide.
//!
//! ```no_run
//! use crosswire_dev::{DevOptions, DevServer, Reporter};
//!
//! # async fn run() -> Result<(), crosswire_dev::DevError> {
//! let server = DevServer::bind(DevOptions::new("my-app"), Reporter::stderr()).await?;
//! println!("open http://{}/", server.local_addr());
//! server
//!     .run_until(async { tokio::signal::ctrl_c().await.ok(); })
//!     .await
//! # }
//! ```
//!
//! # Layout
//!
//! - `watch`: file events from `src/`, `public/`, `crosswire.toml` and
//!   `Cargo.toml`, filtered by `.gitignore` and debounced into one change.
//! - `build`: `cargo build` with JSON messages: progress lines, the
//!   executable, and compiler errors with file and line.
//! - `app`: the app as a child process on an internal port, stopped with
//!   SIGTERM (its WebSocket peers get 1012) and killed after a bound.
//! - `upstream`: whether the app is ready, restarting or down, shared by the
//!   supervisor (who writes it) and the proxy (who waits on it).
//! - `proxy`: the HTTP/1.1 reverse proxy and WebSocket tunnel; holds requests
//!   while the app restarts.
//! - `inject`: the reload script, inserted before `</body>` of HTML pages.
//! - `reload`: the reload channel, a WebSocket that tells pages to reload or
//!   to show the build error overlay.
//! - [`config`]: `[dev.hmr]` from `crosswire.toml`.
//! - `server`: [`DevServer`], which binds the ports and runs the loop.
//! - [`Reporter`]: what the developer reads in the terminal.

#![deny(missing_docs)]

mod app;
mod build;
pub mod config;
mod error;
mod inject;
mod lines;
mod listen;
mod proxy;
mod reload;
mod report;
mod server;
mod supervisor;
mod upstream;
mod watch;

pub use config::DevSettings;
pub use error::DevError;
pub use report::Reporter;
pub use server::{DevOptions, DevServer};
