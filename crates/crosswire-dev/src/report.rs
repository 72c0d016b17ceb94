//! What the developer reads in the terminal.
//!
//! Every line says who speaks: `[dev]` for the dev server itself, `[cargo]`
//! for build progress and compiler output, `[app]` for the app's own log
//! lines. A library must not print on its own, so all of it goes through a
//! [`Reporter`], which the `crosswire` command points at the terminal and
//! tests point at a buffer.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Who a line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The dev server.
    Dev,
    /// Cargo and the compiler.
    Cargo,
    /// The app's stdout and stderr.
    App,
}

impl Source {
    fn prefix(self) -> &'static str {
        match self {
            Source::Dev => "[dev]  ",
            Source::Cargo => "[cargo]",
            Source::App => "[app]  ",
        }
    }
}

/// Writes the dev server's progress, the build output and the app's log
/// lines, one prefixed line at a time. Cheap to clone; clones share the
/// writer, and each line is written whole.
#[derive(Clone)]
pub struct Reporter {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Reporter {
    /// A reporter that writes to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(out))),
        }
    }

    /// A reporter that writes to the process's standard error.
    pub fn stderr() -> Self {
        Self::new(std::io::stderr())
    }

    /// Writes `text`, each of its lines with the source's prefix.
    pub(crate) fn say(&self, source: Source, text: &str) {
        let mut block = String::with_capacity(text.len() + 16);
        for line in text.lines() {
            block.push_str(source.prefix());
            if !line.is_empty() {
                block.push(' ');
                block.push_str(line);
            }
            block.push('\n');
        }
        // A poisoned lock only means another thread panicked mid-line; the
        // writer itself is still usable.
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // The terminal going away is no reason to stop serving.
        let _ = out.write_all(block.as_bytes());
        let _ = out.flush();
    }

    /// A line from the dev server.
    pub(crate) fn dev(&self, text: &str) {
        self.say(Source::Dev, text);
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").finish_non_exhaustive()
    }
}

/// A buffer a test can read back what was reported from.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_prefixed_with_its_source() {
        let captured = Captured::default();
        let reporter = Reporter::new(captured.clone());
        reporter.say(
            Source::Cargo,
            "error[E0308]: mismatched types\n --> src/main.rs:3:5",
        );
        reporter.say(Source::App, "listening");
        reporter.dev("rebuilt in 2.3 s");
        assert_eq!(
            captured.text(),
            "[cargo] error[E0308]: mismatched types\n[cargo]  --> src/main.rs:3:5\n[app]   listening\n[dev]   rebuilt in 2.3 s\n"
        );
    }
}
