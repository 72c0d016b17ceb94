//! The HTTP methods a route file's name can pick, as Nitro spells them.

use std::fmt;

/// An HTTP method picked by a file-name suffix such as `.get` or `.post`.
///
/// The set is Nitro's: every method axum routes by name. The suffix is
/// lowercase only, as in Nitro; `users.GET.rs` is the route `/users.GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `.connect`
    Connect,
    /// `.delete`
    Delete,
    /// `.get` (axum also answers `HEAD` with it unless a `.head` file exists)
    Get,
    /// `.head`
    Head,
    /// `.options`
    Options,
    /// `.patch`
    Patch,
    /// `.post`
    Post,
    /// `.put`
    Put,
    /// `.trace`
    Trace,
}

impl Method {
    /// Every method, in the order route tables list them.
    pub const ALL: [Method; 9] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
        Method::Connect,
        Method::Trace,
    ];

    /// The method a file-name suffix names (`"get"` → GET), if any.
    pub fn from_suffix(suffix: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.suffix() == suffix)
    }

    /// The suffix that picks this method, without the dot: `"get"`.
    pub fn suffix(self) -> &'static str {
        match self {
            Method::Connect => "connect",
            Method::Delete => "delete",
            Method::Get => "get",
            Method::Head => "head",
            Method::Options => "options",
            Method::Patch => "patch",
            Method::Post => "post",
            Method::Put => "put",
            Method::Trace => "trace",
        }
    }

    /// The method as it appears on the wire: `"GET"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Connect => "CONNECT",
            Method::Delete => "DELETE",
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Trace => "TRACE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
