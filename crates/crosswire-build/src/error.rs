//! Errors of route discovery and generation, each naming the file at fault.
//!
//! A build that fails on routes should read like a compiler's: one line per
//! problem, starting with the file, saying what was expected. All problems of
//! a scan are collected, so one build reports every bad file at once.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::exports::ExportError;
use crate::file_route::PathError;
use crate::method::Method;

/// Route discovery or generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more route files are invalid; fix each one listed.
    #[error("{}", join_lines(.0))]
    Routes(Vec<RouteError>),
    /// The routes folder exists but could not be listed.
    #[error("{}: cannot read the routes folder: {source}", path.display())]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// `OUT_DIR` is not set: generation writes its file for a build script.
    #[error(
        "OUT_DIR is not set; generate routes from the app's build.rs: `fn main() {{ crosswire_build::routes().emit(); }}`"
    )]
    NotInBuildScript,
    /// The generated file could not be written.
    #[error("{}: cannot write the generated routes: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

impl Error {
    /// Each problem on its own line (one for every error but
    /// [`Error::Routes`], which has one per file).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Error::Routes(errors) => errors.iter().map(ToString::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn join_lines(errors: &[RouteError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem with one route file.
#[derive(Debug)]
pub struct RouteError {
    /// The file, as the routes folder was given joined with its relative path.
    pub file: PathBuf,
    /// What is wrong.
    pub kind: RouteErrorKind,
}

impl std::error::Error for RouteError {}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.kind {
            // `file:line:column: message`, as compilers and editors expect.
            RouteErrorKind::Exports(ExportError::Parse {
                line,
                column,
                message,
            }) => write!(
                f,
                "{file}:{line}:{column}: cannot parse the file: {message}"
            ),
            kind => write!(f, "{file}: {kind}"),
        }
    }
}

/// What is wrong with a route file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteErrorKind {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Read(io::Error),
    /// Its path cannot be a route.
    #[error("{0}")]
    Path(#[from] PathError),
    /// It exports nothing usable, or exports `websocket` with the wrong shape.
    #[error("{0}")]
    Exports(#[from] ExportError),
    /// It exports `websocket()` from a file whose name picks a method other
    /// than GET.
    #[error(
        "exports `websocket()` but its name picks {0}; WebSocket upgrades are GET requests, so drop the `.{suffix}` suffix or use `.get`",
        suffix = .0.suffix()
    )]
    WebSocketMethod(Method),
    /// Another file already claims the same method (or the WebSocket hooks)
    /// on the same route.
    #[error(
        "serves {claim}, and so does {}; one method on one route belongs to one file: remove or rename one of them",
        other.display()
    )]
    Conflict {
        /// What both files claim: `GET /users/{id}`, `every method on /x`,
        /// `the WebSocket hooks of /x`.
        claim: String,
        /// The other file.
        other: PathBuf,
    },
    /// Another file serves the same route shape under other parameter names.
    #[error(
        "calls the parameters of `{ours}` differently from {} (`{theirs}`); files on one route must use the same parameter names",
        other.display()
    )]
    ParamNames {
        /// This file's pattern.
        ours: String,
        /// The other file's pattern.
        theirs: String,
        /// The other file.
        other: PathBuf,
    },
}
