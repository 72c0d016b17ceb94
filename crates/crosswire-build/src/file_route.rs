//! The mapping from a route file's path to its method and URL pattern.
//!
//! This is the whole of file routing's naming rules, kept as one pure
//! function so it can be checked case by case against Nitro's scanner
//! (`tests/mapping_table.rs`). The rules, in the order they apply:
//!
//! 1. the extension is stripped (`chat.rs` → `chat`; `rss.xml.rs` → `rss.xml`);
//! 2. a final `.get`, `.post`, … picks the method; no suffix means every method;
//! 3. `(group)` folders vanish;
//! 4. a final `index` maps to its folder (`index.rs` → `/`);
//! 5. `[id]` is a parameter, `[...slug]` a named catch-all, `[...]` an unnamed
//!    one (its parameter is `_`, as in Nitro); dots elsewhere stay.
//!
//! Where Nitro would pass a name through that cannot route as the author
//! meant (`a-[b]`, `[user-id]`, a catch-all followed by more segments), this
//! function refuses it and says why, so the mistake surfaces at build time.

use std::path::{Component, Path};

use crate::method::Method;
use crate::pattern::{RoutePattern, Segment};

/// What one route file serves: a method (or every method) on a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRoute {
    /// The method picked by a `.get` / `.post` / … suffix; `None` for every method.
    pub method: Option<Method>,
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
    /// Nothing is left of the file name once the extension and method suffix
    /// are removed (`.get.rs`).
    #[error(
        "`{0}` has no name once its extension and method suffix are removed; `index.rs` (or `index.get.rs`, ...) serves the folder's own path"
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
    /// The name inside the brackets is not an identifier (`[user-id]`, `[1st]`, `[]`).
    #[error(
        "`{segment}`: `{name}` is not a valid parameter name; use letters, digits and `_`, not starting with a digit (`[user_id]`)"
    )]
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
/// use crosswire_build::{route_for, Method};
///
/// let route = route_for("users/[id].get.rs").unwrap();
/// assert_eq!(route.method, Some(Method::Get));
/// assert_eq!(route.pattern.axum(), "/users/{id}");
/// assert_eq!(route.pattern.nitro(), "/users/:id");
///
/// let chat = route_for("api/ws/chat.rs").unwrap();
/// assert_eq!((chat.method, chat.pattern.axum()), (None, "/api/ws/chat".to_owned()));
/// ```
pub fn route_for(relative: impl AsRef<Path>) -> Result<FileRoute, PathError> {
    let relative = relative.as_ref();
    let names = names(relative)?;
    let Some((file, folders)) = names.split_last() else {
        return Err(PathError::NotRelative(relative.display().to_string()));
    };
    let stem = strip_extension(file);
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

fn identifier(segment: &str, name: &str) -> Result<String, PathError> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(PathError::ParamName {
            segment: segment.to_owned(),
            name: name.to_owned(),
        })
    }
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
            c if c.is_whitespace() || c.is_control() => "URLs carry it only percent-encoded",
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
