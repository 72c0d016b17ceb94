//! File routes: the code `crosswire-build` generates from the files of
//! `src/server/routes`, brought into an app by one line.
//!
//! The generated code is plain Rust that calls [`App`](crate::App)'s public
//! API; it names axum's method routers through this crate, so an app needs no
//! direct dependency on axum, and never one on a different version.

/// Includes the routes that `crosswire-build` generated from
/// `src/server/routes`, defining `fn routes(app: App) -> App`.
///
/// The app's `build.rs` generates them (`crosswire_build::routes().emit();`);
/// this line, in `main.rs` (or in a test that serves the same routes), makes
/// them part of the crate:
///
/// ```ignore
/// // Needs the OUT_DIR of an app whose build.rs runs crosswire-build.
/// use crosswire::prelude::*;
///
/// crosswire::include_routes!();
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let app = routes(App::with_config(Config::load()?)).public_dir("public");
///     app.listen().await?.run().await?;
///     Ok(())
/// }
/// ```
#[macro_export]
macro_rules! include_routes {
    () => {
        ::core::include!(::core::concat!(
            ::core::env!("OUT_DIR"),
            "/crosswire_routes.rs"
        ));
    };
}

/// What generated route code names; not a public API.
pub mod generated {
    pub use axum::routing;

    /// Whether routes limited to `.dev` are registered rather than those
    /// limited to `.prod`: in a debug build of the app (`debug` is the app's
    /// own `cfg!(debug_assertions)`, which the generated code passes) and
    /// whenever `crosswire dev` runs it.
    pub fn dev_routes(debug: bool) -> bool {
        debug || crate::dev_server::under_dev_server()
    }
}
