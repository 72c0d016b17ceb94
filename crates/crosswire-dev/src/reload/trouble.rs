//! What went wrong, as the error overlay names it above the details.
//!
//! A failed build leaves the last good build serving, an app that stopped
//! leaves nothing: the page says which, so nobody waits for a reload that
//! needs a save first, or edits code that is not running.

/// Why the pages show an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    /// The build failed; `serving`: the last good build still runs.
    BuildFailed { serving: bool },
    /// `crosswire.toml` does not load; the app keeps its old settings.
    BadSettings,
    /// The new build's app did not start.
    NotStarted,
    /// The app exited on its own.
    Stopped,
}

impl Trouble {
    /// The overlay's heading.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::BuildFailed { .. } => "Build failed",
            Self::BadSettings => "Settings not loaded",
            Self::NotStarted => "The app did not start",
            Self::Stopped => "The app stopped",
        }
    }

    /// The line under the heading: what runs now, and what to do.
    pub(crate) fn note(self) -> &'static str {
        match self {
            Self::BuildFailed { serving: true } => {
                "The app keeps running its last good build. Fix the error and save: this page reloads by itself."
            }
            Self::BuildFailed { serving: false } => {
                "No build of the app is running. Fix the error and save: this page reloads by itself."
            }
            Self::BadSettings => {
                "The app keeps running with its previous settings. Fix crosswire.toml and save."
            }
            Self::NotStarted => {
                "Nothing is serving the app. Fix it and save: this page reloads by itself."
            }
            Self::Stopped => {
                "Nothing is serving the app. Save a change to start it again: this page reloads by itself."
            }
        }
    }
}
