//! A route pattern: the URL shape one route file answers.
//!
//! Kept as segments rather than a string so that each router's syntax is
//! written from one source: axum's (`/users/{id}`), which the generated code
//! registers, and Nitro's (`/users/:id`), which the mapping table is checked
//! against.

use std::fmt;

/// The parameter name given to an unnamed catch-all (`[...]`), as in Nitro,
/// where `routes/[...].ts` exposes the rest of the path as the parameter `_`.
pub const UNNAMED_CATCH_ALL: &str = "_";

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Matches itself exactly: `users`, `rss.xml`.
    Static(String),
    /// `[id]`: matches one segment, available as the parameter `id`.
    Param(String),
    /// `[...slug]` or `[...]`: matches the rest of the path (one segment or
    /// more), available as `slug`, or as `_` when unnamed.
    CatchAll(Option<String>),
}

impl Segment {
    /// The parameter this segment captures, if it captures one.
    pub fn param_name(&self) -> Option<&str> {
        match self {
            Segment::Static(_) => None,
            Segment::Param(name) => Some(name),
            Segment::CatchAll(name) => Some(name.as_deref().unwrap_or(UNNAMED_CATCH_ALL)),
        }
    }
}

/// The URL shape of one route: `/`, `/api/ws/chat`, `/users/{id}`, `/{*slug}`.
///
/// [`Display`](fmt::Display) prints axum's syntax, the one the generated code
/// registers; [`RoutePattern::nitro`] prints Nitro's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RoutePattern {
    segments: Vec<Segment>,
}

impl RoutePattern {
    /// A pattern from its segments; no segments is the root, `/`.
    pub fn new(segments: Vec<Segment>) -> Self {
        Self { segments }
    }

    /// The segments, from the root down.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// axum 0.8 syntax: `/users/{id}`, `/files/{*rest}`, `/{*_}` for `[...]`.
    pub fn axum(&self) -> String {
        self.render(|segment| match segment {
            Segment::Static(text) => text.clone(),
            Segment::Param(name) => format!("{{{name}}}"),
            Segment::CatchAll(name) => {
                format!("{{*{}}}", name.as_deref().unwrap_or(UNNAMED_CATCH_ALL))
            }
        })
    }

    /// Nitro's syntax: `/users/:id`, `/files/**:rest`, `/**` for `[...]`.
    pub fn nitro(&self) -> String {
        self.render(|segment| match segment {
            Segment::Static(text) => text.clone(),
            Segment::Param(name) => format!(":{name}"),
            Segment::CatchAll(Some(name)) => format!("**:{name}"),
            Segment::CatchAll(None) => "**".to_owned(),
        })
    }

    /// The names of the parameters, in path order (`_` for an unnamed
    /// catch-all).
    pub fn param_names(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter_map(Segment::param_name)
            .collect()
    }

    /// Whether the last segment takes the rest of the path.
    pub fn has_catch_all(&self) -> bool {
        matches!(self.segments.last(), Some(Segment::CatchAll(_)))
    }

    /// The pattern with parameter names left out (`/users/{}`): two routes
    /// with the same shape match the same URLs, whatever they call their
    /// parameters.
    pub fn shape(&self) -> String {
        self.render(|segment| match segment {
            Segment::Static(text) => text.clone(),
            Segment::Param(_) => "{}".to_owned(),
            Segment::CatchAll(_) => "{*}".to_owned(),
        })
    }

    fn render(&self, each: impl Fn(&Segment) -> String) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            out.push_str(&each(segment));
        }
        out
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.axum())
    }
}
