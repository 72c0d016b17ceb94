//! The one line of an app's `build.rs`: scan, generate, write, and tell cargo
//! when to do it again.
//!
//! Cargo reruns a build script only for the paths it names. Naming the routes
//! folder makes cargo watch the whole tree (a new, renamed or deleted file
//! changes a folder's modification time); naming each file as well makes an
//! edit that adds or removes `pub fn websocket` regenerate the code.

use std::path::{Path, PathBuf};

use crate::codegen::generate;
use crate::error::Error;
use crate::scan::{RouteTable, route_files, scan};

/// The file written into `OUT_DIR`; `crosswire::include_routes!()` includes it.
pub const OUTPUT_FILE: &str = "crosswire_routes.rs";

/// The routes folder of an app, relative to its `Cargo.toml`.
pub const DEFAULT_DIR: &str = "src/server/routes";

/// File routes from `src/server/routes`, for an app's `build.rs`:
///
/// ```no_run
/// // build.rs
/// fn main() {
///     crosswire_build::routes().emit();
/// }
/// ```
///
/// and in `src/main.rs`, `crosswire::include_routes!();` defines
/// `fn routes(app: App) -> App`.
pub fn routes() -> Routes {
    Routes::new()
}

/// Where the route files are, and the steps that turn them into code.
#[derive(Debug, Clone)]
#[must_use]
pub struct Routes {
    dir: PathBuf,
}

/// What [`Routes::write_to`] produced.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The routes found.
    pub table: RouteTable,
    /// The file written.
    pub file: PathBuf,
}

impl Routes {
    /// The routes of `src/server/routes`.
    pub fn new() -> Self {
        Self {
            dir: PathBuf::from(DEFAULT_DIR),
        }
    }

    /// Reads routes from `dir` instead (relative to the package root in a
    /// build script, which cargo runs there).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// The routes folder.
    pub fn routes_dir(&self) -> &Path {
        &self.dir
    }

    /// The paths whose change must regenerate the code: the folder itself
    /// (cargo then watches everything under it) and every route file in it.
    pub fn watched(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.dir.clone()];
        if let Ok(files) = route_files(&self.dir) {
            paths.extend(files.into_iter().map(|file| self.dir.join(file)));
        }
        paths
    }

    /// Scans the folder and returns the generated source.
    pub fn generate(&self) -> Result<(RouteTable, String), Error> {
        let table = scan(&self.dir)?;
        let code = generate(&table);
        Ok((table, code))
    }

    /// Scans the folder and writes [`OUTPUT_FILE`] into `out_dir`, leaving an
    /// unchanged file untouched.
    pub fn write_to(&self, out_dir: impl AsRef<Path>) -> Result<Generated, Error> {
        let (table, code) = self.generate()?;
        let file = out_dir.as_ref().join(OUTPUT_FILE);
        let unchanged = std::fs::read_to_string(&file).is_ok_and(|old| old == code);
        if !unchanged {
            std::fs::write(&file, code).map_err(|source| Error::Write {
                path: file.clone(),
                source,
            })?;
        }
        Ok(Generated { table, file })
    }

    /// [`Routes::write_to`] the `OUT_DIR` cargo gives a build script.
    pub fn write(&self) -> Result<Generated, Error> {
        let out_dir = std::env::var_os("OUT_DIR").ok_or(Error::NotInBuildScript)?;
        self.write_to(out_dir)
    }

    /// Does everything a build script needs: prints `cargo::rerun-if-changed`
    /// for [`Routes::watched`], writes the code into `OUT_DIR`, and on failure
    /// prints one `cargo::error=` line per problem, which fails the build with
    /// each file named.
    pub fn emit(self) {
        let lines = match std::env::var_os("OUT_DIR") {
            Some(out_dir) => self.directives(Path::new(&out_dir)),
            None => error_directives(&Error::NotInBuildScript),
        };
        for line in lines {
            emit_line(&line);
        }
    }

    /// The cargo directives [`Routes::emit`] prints after writing into
    /// `out_dir`: what to watch, a warning when the folder is missing or
    /// holds `.prerender` files, and the errors.
    pub fn directives(&self, out_dir: &Path) -> Vec<String> {
        let mut lines: Vec<String> = self
            .watched()
            .iter()
            .map(|path| format!("cargo::rerun-if-changed={}", path.display()))
            .collect();
        if !self.dir.exists() {
            lines.push(format!(
                "cargo::warning=no routes folder at {}; no file routes are registered",
                self.dir.display()
            ));
        }
        match self.write_to(out_dir) {
            Ok(generated) => {
                for route in generated.table.never_served() {
                    lines.push(format!(
                        "cargo::warning={}: `.prerender` routes are never served (a server has no prerender step); the file is not compiled",
                        self.dir.join(&route.file).display()
                    ));
                }
            }
            Err(error) => lines.extend(error_directives(&error)),
        }
        lines
    }
}

/// One `cargo::error=` line per problem; cargo reads one directive per line.
fn error_directives(error: &Error) -> Vec<String> {
    error
        .lines()
        .into_iter()
        .map(|line| format!("cargo::error={}", line.replace(['\n', '\r'], " ")))
        .collect()
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

/// A build script talks to cargo through its standard output.
#[allow(clippy::print_stdout)]
fn emit_line(line: &str) {
    println!("{line}");
}
