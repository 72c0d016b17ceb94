//! Whether the app runs under `crosswire dev`.
//!
//! The dev server starts the app on a loopback port of its own and proxies
//! the port people open to it, so during development the app's own address
//! is an internal detail: an app that prints it puts a second, wrong URL
//! right above the dev server's "app ready at ...". Apps ask
//! [`under_dev_server`] before announcing their address (the server's own
//! `listening` log line drops to `debug` then), and file routes
//! limited to `.dev` are registered under the dev server even in a release
//! build.

/// The variable `crosswire dev` sets for the app it runs.
pub const DEV_SERVER_VAR: &str = "CROSSWIRE_DEV";

/// Whether the app was started by `crosswire dev`, which owns the address to
/// open (it prints it); an app stays quiet about its own address then.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use crosswire::prelude::*;
///
/// let server = App::with_config(Config::load()?).listen().await?;
/// if !crosswire::under_dev_server() {
///     eprintln!("open http://{}/", server.local_addr());
/// }
/// server.run().await?;
/// # Ok(())
/// # }
/// ```
pub fn under_dev_server() -> bool {
    std::env::var_os(DEV_SERVER_VAR).is_some()
}
