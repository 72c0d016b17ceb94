//! Reading what `cargo build --message-format=json` says.
//!
//! Cargo writes one JSON object per line on stdout (compiler diagnostics,
//! built artifacts, the final verdict) and its human status lines on stderr
//! (`Compiling …`, build script errors, manifest errors). A [`Report`] folds
//! both into what the dev server needs: the app's executable, and for a
//! failed build the errors, rendered as rustc renders them, each with its
//! file and line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One line of cargo's JSON output; only the fields used here.
#[derive(Debug, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum Line {
    CompilerMessage {
        message: Diagnostic,
    },
    CompilerArtifact {
        manifest_path: PathBuf,
        target: Target,
        executable: Option<PathBuf>,
    },
    BuildFinished {
        success: bool,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Debug, Deserialize)]
struct Span {
    file_name: String,
    line_start: u32,
    column_start: u32,
    is_primary: bool,
}

#[derive(Debug, Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

/// A compiler error, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileError {
    /// `src/main.rs:3:5`, when the error points at a file.
    pub(crate) location: Option<String>,
    /// The one-line message.
    pub(crate) message: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What one line of output means for the terminal.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Nothing to show.
    Nothing,
    /// Show this text (a rendered diagnostic).
    Text(String),
}

/// What a build said, gathered line by line.
#[derive(Debug, Default)]
pub(crate) struct Report {
    manifest: PathBuf,
    executables: Vec<(String, PathBuf)>,
    errors: Vec<CompileError>,
    /// Rendered errors, compiler's and cargo's, in the order they came.
    rendered: String,
    /// Whether the stderr line before belonged to an error block.
    in_error: bool,
    success: Option<bool>,
}

impl Report {
    /// A report for the package whose manifest is `manifest`.
    pub(crate) fn new(manifest: &Path) -> Self {
        Self {
            manifest: manifest.to_owned(),
            ..Self::default()
        }
    }

    /// Reads one stdout line; returns what to show for it.
    pub(crate) fn stdout_line(&mut self, line: &str) -> Shown {
        let Ok(message) = serde_json::from_str::<Line>(line) else {
            // Not JSON: something the build printed itself.
            return Shown::Text(line.to_owned());
        };
        match message {
            Line::CompilerMessage { message } => self.diagnostic(message),
            Line::CompilerArtifact {
                manifest_path,
                target,
                executable,
            } => {
                if let Some(executable) = executable
                    && manifest_path == self.manifest
                    && target.kind.iter().any(|kind| kind == "bin")
                {
                    self.executables.push((target.name, executable));
                }
                Shown::Nothing
            }
            Line::BuildFinished { success } => {
                self.success = Some(success);
                Shown::Nothing
            }
            Line::Other => Shown::Nothing,
        }
    }

    fn diagnostic(&mut self, diagnostic: Diagnostic) -> Shown {
        let rendered = diagnostic
            .rendered
            .unwrap_or_else(|| format!("{}: {}", diagnostic.level, diagnostic.message));
        if diagnostic.level == "error" || diagnostic.level == "error: internal compiler error" {
            let location = diagnostic
                .spans
                .iter()
                .find(|span| span.is_primary)
                .map(|span| {
                    // Generated route modules name their files by absolute
                    // path; the app's own files read better relative to it.
                    let file = Path::new(&span.file_name);
                    let file = self
                        .manifest
                        .parent()
                        .and_then(|dir| file.strip_prefix(dir).ok())
                        .unwrap_or(file);
                    format!(
                        "{}:{}:{}",
                        file.display(),
                        span.line_start,
                        span.column_start
                    )
                });
            self.errors.push(CompileError {
                location,
                message: diagnostic.message,
            });
            self.rendered.push_str(rendered.trim_end());
            self.rendered.push_str("\n\n");
        }
        Shown::Text(rendered.trim_end().to_owned())
    }

    /// Reads one stderr line. Cargo's own errors (a bad manifest, a build
    /// script that failed, as route discovery does for a bad route file)
    /// start with `error` and run until the next status line.
    pub(crate) fn stderr_line(&mut self, line: &str) {
        let status = is_status_line(line);
        if line.starts_with("error") {
            self.in_error = true;
            // Cargo's closing summary repeats what the compiler said.
            if line.starts_with("error: could not compile") {
                if self.errors.is_empty() {
                    self.errors.push(CompileError {
                        location: None,
                        message: line.trim_start_matches("error: ").to_owned(),
                    });
                }
                self.in_error = false;
                return;
            }
            self.errors.push(CompileError {
                location: None,
                message: line.trim_start_matches("error: ").to_owned(),
            });
        } else if status || line.starts_with("warning") {
            self.in_error = false;
        }
        if self.in_error {
            self.rendered.push_str(line);
            self.rendered.push('\n');
        }
    }

    /// The errors, located, in the order they came.
    pub(crate) fn errors(&self) -> &[CompileError] {
        &self.errors
    }

    /// The errors as the compiler and cargo rendered them.
    pub(crate) fn rendered(&self) -> &str {
        self.rendered.trim_end()
    }

    /// Whether cargo said the build succeeded.
    pub(crate) fn succeeded(&self) -> bool {
        self.success == Some(true)
    }

    /// The app's executable: the only binary, or the one named `bin`.
    pub(crate) fn executable(&self, bin: Option<&str>) -> Result<PathBuf, String> {
        let names = || {
            self.executables
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (bin, self.executables.as_slice()) {
            (Some(bin), executables) => executables
                .iter()
                .find(|(name, _)| name == bin)
                .map(|(_, path)| path.clone())
                .ok_or_else(|| {
                    format!(
                        "the package has no binary named `{bin}` (it has: {})",
                        names()
                    )
                }),
            (None, [(_, path)]) => Ok(path.clone()),
            (None, []) => Err("the package builds no binary to run; add src/main.rs".to_owned()),
            (None, _) => Err(format!(
                "the package has several binaries ({}); pick one with --bin",
                names()
            )),
        }
    }
}

/// Cargo's right-aligned status lines: `   Compiling app v0.1.0`.
pub(crate) fn is_status_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    line.len() - trimmed.len() >= 2
        && trimmed.split(' ').next().is_some_and(|word| {
            word.len() > 2
                && word.chars().all(|c| c.is_ascii_alphabetic())
                && word.starts_with(|c: char| c.is_ascii_uppercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "/apps/chat/Cargo.toml";

    fn artifact(manifest: &str, name: &str, kind: &str, executable: &str) -> String {
        serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": "x",
            "manifest_path": manifest,
            "target": { "name": name, "kind": [kind], "src_path": "/x" },
            "executable": if executable.is_empty() { serde_json::Value::Null } else { executable.into() },
            "fresh": false,
        })
        .to_string()
    }

    #[test]
    fn the_executable_is_the_packages_own_binary() {
        let mut report = Report::new(Path::new(MANIFEST));
        report.stdout_line(&artifact("/deps/tokio/Cargo.toml", "tokio", "lib", ""));
        report.stdout_line(&artifact("/deps/tool/Cargo.toml", "tool", "bin", "/t/tool"));
        report.stdout_line(&artifact(
            MANIFEST,
            "build-script-build",
            "custom-build",
            "/t/bs",
        ));
        report.stdout_line(&artifact(MANIFEST, "chat", "bin", "/t/debug/chat"));
        report.stdout_line(r#"{"reason":"build-finished","success":true}"#);
        assert!(report.succeeded());
        assert_eq!(report.executable(None), Ok(PathBuf::from("/t/debug/chat")));
        report.stdout_line(&artifact(MANIFEST, "admin", "bin", "/t/debug/admin"));
        let error = report.executable(None).unwrap_err();
        assert!(error.contains("several binaries (chat, admin)"), "{error}");
        assert_eq!(
            report.executable(Some("admin")),
            Ok(PathBuf::from("/t/debug/admin"))
        );
        assert!(report.executable(Some("nope")).is_err());
    }

    #[test]
    fn compiler_errors_keep_file_line_and_rendering() {
        let mut report = Report::new(Path::new(MANIFEST));
        let error = serde_json::json!({
            "reason": "compiler-message",
            "package_id": "x",
            "message": {
                "level": "error",
                "message": "mismatched types",
                "code": { "code": "E0308" },
                "rendered": "error[E0308]: mismatched types\n --> src/server/routes/api/ws/chat.rs:9:24\n",
                "spans": [
                    { "file_name": "/apps/chat/src/server/routes/api/ws/chat.rs", "line_start": 9, "column_start": 24, "is_primary": true }
                ],
            }
        });
        let shown = report.stdout_line(&error.to_string());
        assert_eq!(
            shown,
            Shown::Text(
                "error[E0308]: mismatched types\n --> src/server/routes/api/ws/chat.rs:9:24".into()
            )
        );
        let warning = serde_json::json!({
            "reason": "compiler-message",
            "message": { "level": "warning", "message": "unused", "rendered": "warning: unused\n", "spans": [] }
        });
        assert_eq!(
            report.stdout_line(&warning.to_string()),
            Shown::Text("warning: unused".into())
        );
        report
            .stderr_line("error: could not compile `chat` (bin \"chat\") due to 1 previous error");
        report.stdout_line(r#"{"reason":"build-finished","success":false}"#);
        assert!(!report.succeeded());
        assert_eq!(report.errors().len(), 1);
        assert_eq!(
            report.errors()[0].to_string(),
            "src/server/routes/api/ws/chat.rs:9:24: mismatched types"
        );
        assert!(
            report
                .rendered()
                .starts_with("error[E0308]: mismatched types")
        );
        assert!(!report.rendered().contains("warning"));
    }

    #[test]
    fn cargo_errors_on_stderr_are_collected_until_the_next_status_line() {
        let mut report = Report::new(Path::new(MANIFEST));
        report.stderr_line("   Compiling chat v0.1.0 (/apps/chat)");
        report.stderr_line("error: failed to run custom build command for `chat v0.1.0`");
        report.stderr_line("");
        report.stderr_line("Caused by:");
        report.stderr_line("  src/server/routes/a-[b].rs: `a-[b]` mixes text and brackets");
        report.stderr_line("warning: build failed, waiting for other jobs to finish...");
        assert_eq!(
            report.rendered(),
            "error: failed to run custom build command for `chat v0.1.0`\n\nCaused by:\n  src/server/routes/a-[b].rs: `a-[b]` mixes text and brackets"
        );
        assert_eq!(report.errors().len(), 1);
    }

    #[test]
    fn status_lines_are_recognised() {
        assert!(is_status_line("   Compiling chat v0.1.0 (/apps/chat)"));
        assert!(is_status_line(
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 2.31s"
        ));
        assert!(!is_status_line("  src/server/routes/a-[b].rs: bad"));
        assert!(!is_status_line("Caused by:"));
    }
}
