//! The environment a route file is limited to, picked by a `.dev`, `.prod`
//! or `.prerender` suffix, as in Nitro.
//!
//! Nitro registers `index.dev.ts` only on its dev server and
//! `index.get.prod.ts` only in production builds. Crosswire reads the same
//! names the same way, with "dev" meaning a debug build or an app run by
//! `crosswire dev`, and "prod" everything else (a release build started on
//! its own). The generated code decides when the app starts, so one binary
//! never serves both.
//!
//! `.prerender` marks a Nitro handler that runs only while pages are
//! prerendered into static files at build time. A Crosswire server has no
//! such step, so these files are never registered (nor compiled); the build
//! script says so with a warning rather than serving them by surprise.

use std::fmt;

/// The environment named by a route file's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Env {
    /// `.dev`: registered in debug builds and under `crosswire dev`.
    Dev,
    /// `.prod`: registered in release builds started outside `crosswire dev`.
    Prod,
    /// `.prerender`: never registered; a server has no prerender step.
    Prerender,
}

impl Env {
    /// The environment a file-name suffix names (`"dev"` → [`Env::Dev`]), if any.
    pub fn from_suffix(suffix: &str) -> Option<Env> {
        [Env::Dev, Env::Prod, Env::Prerender]
            .into_iter()
            .find(|env| env.suffix() == suffix)
    }

    /// The suffix that picks this environment, without the dot: `"dev"`.
    pub fn suffix(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
            Env::Prerender => "prerender",
        }
    }

    /// Whether a route limited to `env` (`None`: every environment) is
    /// registered when the app runs in dev mode (`dev`) or not.
    pub fn serves(env: Option<Env>, dev: bool) -> bool {
        match env {
            None => true,
            Some(Env::Dev) => dev,
            Some(Env::Prod) => !dev,
            Some(Env::Prerender) => false,
        }
    }

    /// Whether two files limited to `a` and `b` can be registered at the
    /// same time, so that claiming the same method on the same route is a
    /// conflict.
    pub fn overlap(a: Option<Env>, b: Option<Env>) -> bool {
        [true, false]
            .into_iter()
            .any(|dev| Env::serves(a, dev) && Env::serves(b, dev))
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}
