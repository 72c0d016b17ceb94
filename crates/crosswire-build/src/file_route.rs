//! The mapping from a route file's path to its method and URL pattern.
//!
//! This is the whole of file routing's naming rules, kept as one pure
//! function so it can be checked case by case against Nitro's scanner
//! (`tests/mapping_table.rs`). The rules, in the order they apply:
//!
//! 1. the extension is stripped (`chat.rs` → `chat`; `rss.xml.rs` → `rss.xml`);
//! 2. a final `.dev`, `.prod` or `.prerender` limits the file to one
//!    environment ([`Env`]); before it, a `.get`, `.post`, … picks the method
//!    (`index.get.prod.rs`); no method suffix means every method;
//! 3. `(group)` folders vanish;
//! 4. a final `index` maps to its folder (`index.rs` → `/`);
//! 5. `[id]` is a parameter, `[...slug]` a named catch-all, `[...]` an unnamed
//!    one (its parameter is `_`, as in Nitro); dots elsewhere stay.
//!    A parameter name keeps ASCII letters, digits, `_` and `-`
//!    (`[test-id]` is the parameter `test-id`); Nitro turns every other
//!    character into `_`, and so does this function (`[user.id]` → `user_id`).
//!
//! Where Nitro would pass a name through that cannot route as the author
//! meant (`a-[b]`, `[]`, `[..slug]`, a catch-all followed by more segments),
//! this function refuses it and says why, so the mistake surfaces at build
//! time.

use std::path::{Component, Path};

use crate::env::Env;
use crate::method::Method;
use crate::pattern::{RoutePattern, Segment};

/// What one route file serves: a method (or every method) on a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRoute {
    /// The method picked by a `.get` / `.post` / … suffix; `None` for every method.
    pub method: Option<Method>,
    /// The environment picked by a `.dev` / `.prod` / `.prerender` suffix;
    /// `None` for every environment.
    pub env: Option<Env>,
    /// The URL pattern.
    pub pattern: RoutePattern,
}

/// Why a path cannot be a route file. Each message names the offending part
/// and says what is expected instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty, absolute, or climbs out with `..`.
    #[error("`{0}` is not a path inside the routes folder")]
    NotRelative(String),
    /// A file or folder name is not valid UTF-8.
    #[error("`{0}` is not valid UTF-8; route file and folder names become URLs")]
    NotUtf8(String),
    /// Nothing is left of the file name once the extension, method and
    /// environment suffixes are removed (`.get.rs`, `.dev.rs`).
    #[error(
        "`{0}` has no name once its extension, method and environment suffixes are removed; `index.rs` (or `index.get.rs`, ...) serves the folder's own path"
    )]
    EmptyName(String),
    /// Text and a bracketed parameter share one segment (`a-[b]`).
    #[error(
        "`{0}` mixes text and brackets; a segment is either plain text or exactly one `[name]`, `[...name]` or `[...]`"
    )]
    Mixed(String),
    /// A `[` without its `]`, or the other way round.
    #[error("`{0}` has unbalanced brackets; write a parameter as `[name]`")]
    Unbalanced(String),
    /// The brackets hold no name (`[]`, `[...]` aside).
    #[error("`{segment}`: a parameter needs a name between its brackets (`[id]`)")]
    ParamName {
        /// The segment as written.
        segment: String,
        /// The name found inside the brackets.
        name: String,
    },
    /// Dots inside brackets that are not the three of a catch-all (`[..slug]`).
    #[error("`{0}`: a catch-all is written with three dots, `[...name]` or `[...]`")]
    CatchAllDots(String),
    /// A catch-all is followed by more segments (`[...slug]/edit.rs`).
    #[error(
        "`{0}` must be the last segment: a catch-all takes the rest of the path, so nothing can follow it"
    )]
    CatchAllNotLast(String),
    /// Two segments capture a parameter of the same name (`[id]/[id].rs`).
    #[error("the parameter `{0}` appears twice; give each parameter its own name")]
    DuplicateParam(String),
    /// A file, rather than a folder, is named like a group (`(admin).rs`).
    #[error("`{0}` is a group name; groups are folders that leave no trace in the URL, not files")]
    GroupFile(String),
    /// A character that cannot stand in a URL path as written, or that the
    /// router reads as syntax.
    #[error("`{segment}`: `{found}` cannot appear in a route segment ({why})")]
    BadChar {
        /// The segment as written.
        segment: String,
        /// The character at fault.
        found: char,
        /// Why it is refused.
        why: &'static str,
    },
}

/// The method and URL pattern of the route file at `relative`, a path
/// relative to the routes folder (`src/server/routes`).
///
/// ```
/// use crosswire_build::{route_for, Env, Method};
///
/// let route = route_for("users/[id].get.rs").unwrap();
/// assert_eq!(route.method, Some(Method::Get));
/// assert_eq!(route.pattern.axum(), "/users/{id}");
/// assert_eq!(route.pattern.nitro(), "/users/:id");
///
/// let chat = route_for("api/ws/chat.rs").unwrap();
/// assert_eq!((chat.method, chat.pattern.axum()), (None, "/api/ws/chat".to_owned()));
///
/// let env = route_for("env/index.get.prod.rs").unwrap();
/// assert_eq!((env.method, env.env), (Some(Method::Get), Some(Env::Prod)));
/// assert_eq!(env.pattern.axum(), "/env");
///
/// let param = route_for("api/param/[test-id].rs").unwrap();
/// assert_eq!(param.pattern.axum(), "/api/param/{test-id}");
/// ```
pub fn route_for(relative: impl AsRef<Path>) -> Result<FileRoute, PathError> {
    let relative = relative.as_ref();
    let names = names(relative)?;
    let Some((file, folders)) = names.split_last() else {
        return Err(PathError::NotRelative(relative.display().to_string()));
    };
    let stem = strip_extension(file);
    let (stem, env) = split_env(stem);
    let (base, method) = split_method(stem);
    if base.is_empty() {
        return Err(PathError::EmptyName((*file).to_owned()));
    }

    let mut segments = Vec::with_capacity(names.len());
    for folder in folders {
        if !is_group(folder) {
            segments.push(parse_segment(folder)?);
        }
    }
    if is_group(base) {
        return Err(PathError::GroupFile((*file).to_owned()));
    }
    if base != "index" {
        segments.push(parse_segment(base)?);
    }
    check_params(&segments, folders, base)?;
    Ok(FileRoute {
        method,
        env,
        pattern: RoutePattern::new(segments),
    })
}

/// The path's names, which must all be plain names.
fn names(path: &Path) -> Result<Vec<&str>, PathError> {
    let mut names = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => match name.to_str() {
                Some(name) => names.push(name),
                None => return Err(PathError::NotUtf8(name.to_string_lossy().into_owned())),
            },
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::NotRelative(path.display().to_string()));
            }
        }
    }
    Ok(names)
}

/// Strips a final `.ext` made of word characters, as Nitro does.
fn strip_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            stem
        }
        _ => name,
    }
}

/// Splits a final `.dev` / `.prod` / `.prerender` off the stem. It comes
/// after the method suffix, as in Nitro: `index.get.prod`.
fn split_env(stem: &str) -> (&str, Option<Env>) {
    if let Some((base, suffix)) = stem.rsplit_once('.')
        && let Some(env) = Env::from_suffix(suffix)
    {
        return (base, Some(env));
    }
    (stem, None)
}

/// Splits a final `.get` / `.post` / … off the stem.
fn split_method(stem: &str) -> (&str, Option<Method>) {
    if let Some((base, suffix)) = stem.rsplit_once('.')
        && let Some(method) = Method::from_suffix(suffix)
    {
        return (base, Some(method));
    }
    (stem, None)
}

fn is_group(name: &str) -> bool {
    name.len() > 2 && name.starts_with('(') && name.ends_with(')')
}

fn parse_segment(text: &str) -> Result<Segment, PathError> {
    let opens = text.matches('[').count();
    let closes = text.matches(']').count();
    if opens == 0 && closes == 0 {
        return static_segment(text);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && opens == 1
        && closes == 1
    {
        return bracketed(text, inner);
    }
    let close_first = text.find(']') < text.find('[');
    if opens != closes || close_first {
        Err(PathError::Unbalanced(text.to_owned()))
    } else {
        Err(PathError::Mixed(text.to_owned()))
    }
}

fn bracketed(text: &str, inner: &str) -> Result<Segment, PathError> {
    if let Some(rest) = inner.strip_prefix("...") {
        if rest.is_empty() {
            return Ok(Segment::CatchAll(None));
        }
        if rest.starts_with('.') {
            return Err(PathError::CatchAllDots(text.to_owned()));
        }
        return identifier(text, rest).map(|name| Segment::CatchAll(Some(name)));
    }
    if inner.starts_with('.') {
        return Err(PathError::CatchAllDots(text.to_owned()));
    }
    identifier(text, inner).map(Segment::Param)
}

/// A parameter's name as Nitro writes it: ASCII letters, digits, `_` and
/// `-` kept, every other character turned into `_`. axum's router accepts
/// every such name, so `[test-id]` is `{test-id}` there and `peer.param("test-id")`
/// in hooks.
fn identifier(segment: &str, name: &str) -> Result<String, PathError> {
    if name.is_empty() {
        return Err(PathError::ParamName {
            segment: segment.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect())
}

fn static_segment(text: &str) -> Result<Segment, PathError> {
    let bad = |found: char, why: &'static str| PathError::BadChar {
        segment: text.to_owned(),
        found,
        why,
    };
    if let Some(first @ (':' | '*')) = text.chars().next() {
        return Err(bad(
            first,
            "at the start of a segment axum reads it as old capture syntax; use `[name]` or `[...name]`",
        ));
    }
    for c in text.chars() {
        let why = match c {
            '{' | '}' => "the router reads braces as a parameter; use `[name]`",
            '?' | '#' => "it ends the path part of a URL",
            '%' => "requests are matched before percent-decoding",
            '\\' => "it is not a path separator in URLs",
            c if c.is_whitespace() || c.is_control() || !c.is_ascii() => {
                "URLs carry it only percent-encoded"
            }
            _ => continue,
        };
        return Err(bad(c, why));
    }
    Ok(Segment::Static(text.to_owned()))
}

/// A catch-all must end the pattern, and parameter names must be distinct.
fn check_params(segments: &[Segment], folders: &[&str], base: &str) -> Result<(), PathError> {
    if let Some(position) = segments
        .iter()
        .position(|s| matches!(s, Segment::CatchAll(_)))
        && position + 1 != segments.len()
    {
        // Name the catch-all as written: the folder it came from.
        let written = folders
            .iter()
            .chain(std::iter::once(&base))
            .find(|name| name.starts_with("[..."))
            .copied()
            .unwrap_or(base);
        return Err(PathError::CatchAllNotLast(written.to_owned()));
    }
    let mut seen: Vec<&str> = Vec::new();
    for name in segments.iter().filter_map(Segment::param_name) {
        if seen.contains(&name) {
            return Err(PathError::DuplicateParam(name.to_owned()));
        }
        seen.push(name);
    }
    Ok(())
}
