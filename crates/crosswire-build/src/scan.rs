//! Scanning a routes folder into a [`RouteTable`], with every conflict found
//! up front.
//!
//! Two files may share a route when they split it by method, when one
//! serves the WebSocket hooks and the other plain HTTP, or when they are
//! limited to environments that never meet (`.dev` and `.prod`). Anything axum would
//! refuse at startup (two handlers for one method on one route, one route
//! shape with two sets of parameter names) is refused here instead, naming
//! both files, so the app never panics while it builds its router.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, RouteError, RouteErrorKind};
use crate::exports::{Exports, exports_of};
use crate::file_route::route_for;
use crate::method::Method;
use crate::pattern::RoutePattern;

/// What a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An HTTP handler only.
    Http,
    /// WebSocket hooks only; plain requests get `426 Upgrade Required`.
    WebSocket,
    /// Both: upgrades go to the hooks, plain requests to the handler.
    Both,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Http => "http",
            Kind::WebSocket => "websocket",
            Kind::Both => "both",
        })
    }
}

/// One route file: where it is, what it serves and what it exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The file's path relative to the routes folder.
    pub file: PathBuf,
    /// The method its name picks; `None` for every method.
    pub method: Option<Method>,
    /// The environment its name limits it to; `None` for every environment.
    pub env: Option<Env>,
    /// The URL pattern it serves.
    pub pattern: RoutePattern,
    /// What it exports.
    pub exports: Exports,
}

impl Route {
    /// HTTP, WebSocket or both.
    pub fn kind(&self) -> Kind {
        match (self.exports.websocket, self.exports.handler) {
            (true, true) => Kind::Both,
            (true, false) => Kind::WebSocket,
            _ => Kind::Http,
        }
    }
}

/// Every route under a routes folder, sorted by file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    dir: PathBuf,
    absolute_dir: PathBuf,
    routes: Vec<Route>,
}

impl RouteTable {
    /// The routes folder, as given to [`scan`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The routes folder as an absolute path, which the generated `#[path]`
    /// attributes use.
    pub fn absolute_dir(&self) -> &Path {
        &self.absolute_dir
    }

    /// The routes, sorted by file path, including `.prerender` files, which
    /// are never registered.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The `.prerender` files: found, checked, and never registered.
    pub fn never_served(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .filter(|route| route.env == Some(Env::Prerender))
    }
}

/// Reads every `.rs` file under `dir` into a route table.
///
/// A missing folder is an empty table. Dot files and folders are skipped
/// (editors leave lock files there); other files that do not end in `.rs`
/// are ignored. Every problem found is returned at once, each naming its file
/// as `dir` joined with the file's relative path.
pub fn scan(dir: impl AsRef<Path>) -> Result<RouteTable, Error> {
    let dir = dir.as_ref();
    let files = route_files(dir)?;
    let absolute_dir = std::path::absolute(dir).map_err(|source| Error::ReadDir {
        path: dir.to_owned(),
        source,
    })?;
    let mut routes = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for file in files {
        let failed = |kind: RouteErrorKind| RouteError {
            file: dir.join(&file),
            kind,
        };
        let route = match route_for(&file) {
            Ok(route) => route,
            Err(error) => {
                errors.push(failed(error.into()));
                continue;
            }
        };
        let exports = match std::fs::read_to_string(dir.join(&file)) {
            Ok(source) => exports_of(&source),
            Err(error) => {
                errors.push(failed(RouteErrorKind::Read(error)));
                continue;
            }
        };
        let exports = match exports {
            Ok(exports) => exports,
            Err(error) => {
                errors.push(failed(error.into()));
                continue;
            }
        };
        if exports.websocket
            && let Some(method) = route.method.filter(|m| *m != Method::Get)
        {
            errors.push(failed(RouteErrorKind::WebSocketMethod(method)));
            continue;
        }
        routes.push(Route {
            file,
            method: route.method,
            env: route.env,
            pattern: route.pattern,
            exports,
        });
    }
    errors.extend(conflicts(dir, &routes));
    if errors.is_empty() {
        Ok(RouteTable {
            dir: dir.to_owned(),
            absolute_dir,
            routes,
        })
    } else {
        Err(Error::Routes(errors))
    }
}

/// The `.rs` files under `dir`, relative to it, sorted; empty when `dir` does
/// not exist.
pub fn route_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    match walk(dir, Path::new(""), &mut files) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound && !dir.exists() => {}
        Err(source) => {
            return Err(Error::ReadDir {
                path: dir.to_owned(),
                source,
            });
        }
    }
    files.sort();
    Ok(files)
}

fn walk(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = relative.join(&name);
        // Follows symlinks, so a linked folder of routes works.
        let meta = std::fs::metadata(root.join(&path))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Who already claimed each slot of one route shape; a slot may have one
/// claim per environment that never meets another (`.dev` and `.prod`).
#[derive(Default)]
struct Claims<'a> {
    first: Option<&'a Route>,
    websocket: Vec<&'a Route>,
    http: BTreeMap<Option<Method>, Vec<&'a Route>>,
}

/// The first of `claims` registered at the same time as `route`.
fn clash<'a>(claims: &[&'a Route], route: &Route) -> Option<&'a Route> {
    claims
        .iter()
        .find(|other| Env::overlap(other.env, route.env))
        .copied()
}

fn conflicts(dir: &Path, routes: &[Route]) -> Vec<RouteError> {
    let mut errors = Vec::new();
    let mut shapes: BTreeMap<String, Claims<'_>> = BTreeMap::new();
    // A `.prerender` file is never registered, so it claims nothing.
    for route in routes.iter().filter(|r| r.env != Some(Env::Prerender)) {
        let claims = shapes.entry(route.pattern.shape()).or_default();
        let first = *claims.first.get_or_insert(route);
        let error = |kind| RouteError {
            file: dir.join(&route.file),
            kind,
        };
        if first.pattern != route.pattern {
            errors.push(error(RouteErrorKind::ParamNames {
                ours: route.pattern.axum(),
                theirs: first.pattern.axum(),
                other: dir.join(&first.file),
            }));
            continue;
        }
        if route.exports.websocket {
            match clash(&claims.websocket, route) {
                Some(other) => errors.push(error(RouteErrorKind::Conflict {
                    claim: format!("the WebSocket hooks of {}", route.pattern),
                    other: dir.join(&other.file),
                })),
                None => claims.websocket.push(route),
            }
        }
        if route.exports.handler {
            let slot = claims.http.entry(route.method).or_default();
            match clash(slot, route) {
                Some(other) => errors.push(error(RouteErrorKind::Conflict {
                    claim: match route.method {
                        Some(method) => format!("{method} {}", route.pattern),
                        None => format!("every method on {}", route.pattern),
                    },
                    other: dir.join(&other.file),
                })),
                None => slot.push(route),
            }
        }
    }
    errors
}
