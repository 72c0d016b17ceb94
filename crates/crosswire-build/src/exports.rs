//! What a route file exports, read from its source with `syn`.
//!
//! The generated code calls `websocket()` and registers `handler` by name, so
//! it must know which of the two each file defines before rustc sees it. Only
//! the file's top-level items are read: `pub fn`, and `pub use` re-exports
//! under either name. When neither is found, the error says what was expected
//! and points at near misses (a private `fn handler`, a `fn get`).

use syn::{Item, UseTree, Visibility};

use crate::method::Method;

/// The items of a route file that the generated code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exports {
    /// `pub fn websocket() -> impl WebSocketHandler`: WebSocket hooks.
    pub websocket: bool,
    /// `pub async fn handler(...)`: an axum handler for plain HTTP requests.
    pub handler: bool,
}

/// Why a route file's exports are not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The file is not valid Rust.
    #[error("{line}:{column}: cannot parse the file: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// Neither `websocket` nor `handler` is exported.
    #[error(
        "exports nothing a route can serve: expected `pub fn websocket() -> impl WebSocketHandler` (WebSocket hooks), `pub async fn handler(..)` (an axum handler), or both{hint}"
    )]
    Nothing {
        /// Near misses found in the file, already formatted (may be empty).
        hint: String,
    },
    /// `websocket` takes arguments.
    #[error(
        "`fn websocket` takes arguments; expected `pub fn websocket() -> impl WebSocketHandler` (hooks read the request through `UpgradeRequest` and `Peer`)"
    )]
    WebSocketArgs,
    /// `websocket` is `async`.
    #[error(
        "`fn websocket` is `async`; expected a plain `pub fn websocket() -> impl WebSocketHandler` that returns the hooks"
    )]
    WebSocketAsync,
}

/// Reads the exports of a route file's source.
pub fn exports_of(source: &str) -> Result<Exports, ExportError> {
    let file = syn::parse_file(source).map_err(|error| {
        let start = error.span().start();
        let message = error.to_string();
        // The tokenizer's own message names no cause; in practice it is a
        // bracket left open or closed twice.
        let message = if message == "cannot parse string into token stream" {
            "unbalanced `(`, `[` or `{`, or an unterminated literal".to_owned()
        } else {
            message
        };
        ExportError::Parse {
            line: start.line,
            column: start.column + 1,
            message,
        }
    })?;
    let mut exports = Exports::default();
    let mut near_misses = Vec::new();
    for item in &file.items {
        match item {
            Item::Fn(function) => {
                let name = function.sig.ident.to_string();
                let visible = is_visible(&function.vis);
                match name.as_str() {
                    "websocket" if visible => {
                        if function.sig.asyncness.is_some() {
                            return Err(ExportError::WebSocketAsync);
                        }
                        if !function.sig.inputs.is_empty() {
                            return Err(ExportError::WebSocketArgs);
                        }
                        exports.websocket = true;
                    }
                    "handler" if visible => exports.handler = true,
                    "websocket" | "handler" => {
                        near_misses
                            .push(format!("`fn {name}` is private; make it `pub fn {name}`"));
                    }
                    other if Method::from_suffix(&other.to_ascii_lowercase()).is_some() => {
                        near_misses.push(format!(
                            "`fn {other}` is not used: HTTP handlers are named `handler`, and the file name picks the method (`name.{}.rs`)",
                            other.to_ascii_lowercase()
                        ));
                    }
                    _ => {}
                }
            }
            Item::Use(item_use) if is_visible(&item_use.vis) => {
                let mut names = Vec::new();
                exported_names(&item_use.tree, &mut names);
                exports.websocket |= names.iter().any(|n| n == "websocket");
                exports.handler |= names.iter().any(|n| n == "handler");
            }
            _ => {}
        }
    }
    if exports.websocket || exports.handler {
        return Ok(exports);
    }
    let hint = if near_misses.is_empty() {
        String::new()
    } else {
        format!("; {}", near_misses.join("; "))
    };
    Err(ExportError::Nothing { hint })
}

/// `pub` and `pub(crate)` items are reachable from the generated function.
fn is_visible(vis: &Visibility) -> bool {
    match vis {
        Visibility::Public(_) => true,
        Visibility::Restricted(restricted) => restricted.path.is_ident("crate"),
        Visibility::Inherited => false,
    }
}

/// The names a `use` tree brings into scope.
fn exported_names(tree: &UseTree, out: &mut Vec<String>) {
    match tree {
        UseTree::Path(path) => exported_names(&path.tree, out),
        UseTree::Name(name) => out.push(name.ident.to_string()),
        UseTree::Rename(rename) => out.push(rename.rename.to_string()),
        UseTree::Glob(_) => {}
        UseTree::Group(group) => {
            for tree in &group.items {
                exported_names(tree, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_exports() {
        let source = "use crosswire::prelude::*;\n\
            pub fn websocket() -> impl WebSocketHandler { hooks() }\n\
            pub async fn handler() -> &'static str { \"hi\" }\n";
        assert_eq!(
            exports_of(source),
            Ok(Exports {
                websocket: true,
                handler: true
            })
        );
    }

    #[test]
    fn reexports_count() {
        let source = "pub use crate::shared::{chat as websocket, handler};";
        assert_eq!(
            exports_of(source),
            Ok(Exports {
                websocket: true,
                handler: true
            })
        );
    }

    #[test]
    fn pub_crate_counts_and_pub_super_does_not() {
        let source = "pub(crate) async fn handler() {}\npub(super) fn websocket() {}";
        let exports = exports_of(source).unwrap();
        assert!(exports.handler && !exports.websocket);
    }

    #[test]
    fn near_misses_are_named() {
        let err = exports_of("async fn handler() {}\npub async fn get() {}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`fn handler` is private"), "{err}");
        assert!(err.contains("`fn get` is not used"), "{err}");
        assert!(err.contains("name.get.rs"), "{err}");
    }

    #[test]
    fn parse_errors_carry_a_position() {
        let err = exports_of("pub fn handler( {}\n").unwrap_err();
        assert!(matches!(err, ExportError::Parse { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn websocket_must_be_a_plain_function_without_arguments() {
        assert_eq!(
            exports_of("pub async fn websocket() {}"),
            Err(ExportError::WebSocketAsync)
        );
        assert_eq!(
            exports_of("pub fn websocket(x: u8) {}"),
            Err(ExportError::WebSocketArgs)
        );
    }
}
