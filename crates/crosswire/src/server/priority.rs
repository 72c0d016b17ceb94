//! Route priority where one matchit router is not enough: static beats
//! parameter beats catch-all, even for siblings.
//!
//! matchit (under axum and our WebSocket table alike) already prefers a
//! static segment to a parameter and either to a catch-all, but it refuses a
//! catch-all beside a parameter at the same position: `/users/{id}` and
//! `/users/{*rest}` conflict. File routes produce exactly that pair
//! (`users/[id].rs` beside `users/[...rest].rs`, as Nitro allows), so such a
//! catch-all goes into a later tier. A lookup asks every tier and keeps the
//! most specific match, comparing the routes segment by segment (static, then
//! parameter, then catch-all), which is the order matchit itself follows
//! within a tier. Paths that do not conflict all stay in the first tier, so
//! an app without such pairs has one tier and routes exactly as before.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::routing::MethodRouter;
use matchit::{InsertError, Match, MatchError};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::error::ServeError;

/// One matchit router per tier; a lookup keeps the most specific match.
pub(crate) struct Tiers<T> {
    tiers: Vec<matchit::Router<Ranked<T>>>,
}

/// A route's value with its rank, so matches from different tiers compare.
struct Ranked<T> {
    rank: Vec<u8>,
    value: T,
}

impl<T> Tiers<T> {
    /// Puts each route in its tier. Paths must be distinct.
    pub(crate) fn build(routes: Vec<(String, T)>) -> Result<Self, ServeError> {
        let paths: Vec<&str> = routes.iter().map(|(p, _)| p.as_str()).collect();
        let assigned = assign(&paths)?;
        let mut tiers: Vec<matchit::Router<Ranked<T>>> = Vec::new();
        for ((path, value), tier) in routes.into_iter().zip(assigned) {
            while tiers.len() <= tier {
                tiers.push(matchit::Router::new());
            }
            let ranked = Ranked {
                rank: rank(&path),
                value,
            };
            tiers[tier]
                .insert(path.clone(), ranked)
                .map_err(|e| route_error(&path, &e))?;
        }
        Ok(Self { tiers })
    }

    /// The most specific route matching `path`.
    pub(crate) fn at<'m, 'p>(&'m self, path: &'p str) -> Result<Match<'m, 'p, &'m T>, MatchError> {
        self.best(path)
            .map(|m| Match {
                value: &m.value.value,
                params: m.params,
            })
            .ok_or(MatchError::NotFound)
    }

    /// How specific the route matching `path` is, if one does: a larger
    /// value is a more specific route (see [`rank`]).
    pub(crate) fn specificity_at(&self, path: &str) -> Option<&[u8]> {
        self.best(path).map(|m| &m.value.rank[..])
    }

    fn best<'m, 'p>(&'m self, path: &'p str) -> Option<Match<'m, 'p, &'m Ranked<T>>> {
        let mut best: Option<Match<'m, 'p, &'m Ranked<T>>> = None;
        for tier in &self.tiers {
            if let Ok(found) = tier.at(path)
                && best
                    .as_ref()
                    .is_none_or(|b| found.value.rank > b.value.rank)
            {
                best = Some(found);
            }
        }
        best
    }
}

/// Orders routes by specificity: per segment, static (2) over parameter (1)
/// over catch-all (0), compared from the left.
fn rank(path: &str) -> Vec<u8> {
    path.split('/')
        .skip(1)
        .map(|segment| {
            if segment.starts_with("{*") {
                0
            } else if segment.contains('{') {
                1
            } else {
                2
            }
        })
        .collect()
}

/// The HTTP router: `base` (merged routers) plus `routes`, with `public` as
/// the fallback. With more than one tier, each tier is its own router and a
/// request goes to the tier of its most specific match.
pub(crate) fn http_router(
    base: Router,
    routes: Vec<(String, MethodRouter)>,
    public: Option<ServeDir>,
) -> Result<Router, ServeError> {
    let mut unique: Vec<String> = Vec::new();
    for (path, _) in &routes {
        if !unique.contains(path) {
            unique.push(path.clone());
        }
    }
    let assigned = assign(&unique.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut tiers = vec![base];
    for (path, method_router) in routes {
        let tier = unique
            .iter()
            .position(|p| *p == path)
            .map_or(0, |i| assigned[i]);
        while tiers.len() <= tier {
            tiers.push(Router::new());
        }
        // Registering a path twice merges the method routers, as in axum.
        let router = std::mem::take(&mut tiers[tier]);
        tiers[tier] = router.route(&path, method_router);
    }
    if let Some(files) = public {
        tiers[0] = std::mem::take(&mut tiers[0]).fallback_service(files);
    }
    if tiers.len() == 1 {
        return Ok(tiers.swap_remove(0));
    }

    let index = Arc::new(Tiers::build(unique.into_iter().zip(assigned).collect())?);
    let tiers = Arc::new(tiers);
    let dispatch = tower::service_fn(move |request: Request| {
        let tier = index
            .at(request.uri().path())
            .map_or(0, |found| *found.value);
        let router = tiers[tier].clone();
        async move { router.oneshot(request).await }
    });
    Ok(Router::new().fallback_service(dispatch))
}

/// The tier of each path: 0 for paths without a catch-all, which go in
/// first; each catch-all then takes the first tier where it conflicts with
/// nothing.
fn assign(paths: &[&str]) -> Result<Vec<usize>, ServeError> {
    let mut shadows: Vec<matchit::Router<()>> = vec![matchit::Router::new()];
    let mut assigned = vec![0; paths.len()];
    let catch_all = |path: &str| path.contains("{*");
    let order = (0..paths.len())
        .filter(|&i| !catch_all(paths[i]))
        .chain((0..paths.len()).filter(|&i| catch_all(paths[i])));
    for i in order {
        let path = paths[i];
        let mut tier = 0;
        loop {
            if tier == shadows.len() {
                shadows.push(matchit::Router::new());
            }
            match shadows[tier].insert(path, ()) {
                Ok(()) => break,
                Err(InsertError::Conflict { .. }) if catch_all(path) => tier += 1,
                Err(error) => return Err(route_error(path, &error)),
            }
        }
        assigned[i] = tier;
    }
    Ok(assigned)
}

fn route_error(path: &str, error: &InsertError) -> ServeError {
    ServeError::Route {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(tiers: &Tiers<&'static str>, path: &str) -> Option<(&'static str, Vec<String>)> {
        tiers.at(path).ok().map(|m| {
            let params = m.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (*m.value, params)
        })
    }

    #[test]
    fn static_beats_parameter_beats_catch_all_even_for_siblings() {
        let routes = [
            "/users/{*rest}",
            "/users/{id}",
            "/users/me",
            "/{*_}",
            "/{id}/posts",
        ]
        .into_iter()
        .map(|p| (p.to_owned(), p))
        .collect();
        let tiers = Tiers::build(routes).unwrap();
        let at = |p| matched(&tiers, p);
        assert_eq!(at("/users/me"), Some(("/users/me", vec![])));
        assert_eq!(at("/users/42"), Some(("/users/{id}", vec!["id=42".into()])));
        assert_eq!(
            at("/users/42/posts"),
            Some(("/users/{*rest}", vec!["rest=42/posts".into()]))
        );
        assert_eq!(
            at("/users/posts"),
            Some(("/users/{id}", vec!["id=posts".into()]))
        );
        assert_eq!(at("/x/posts"), Some(("/{id}/posts", vec!["id=x".into()])));
        assert_eq!(
            at("/other/x/y"),
            Some(("/{*_}", vec!["_=other/x/y".into()]))
        );
        assert_eq!(at("/"), None);
    }

    #[test]
    fn paths_that_do_not_conflict_share_the_first_tier() {
        let paths = ["/a/{*rest}", "/{id}/posts", "/a/b"];
        assert_eq!(assign(&paths).unwrap(), [0, 0, 0]);
        let paths = ["/a/{*rest}", "/a/{x}/b", "/{*all}"];
        assert_eq!(assign(&paths).unwrap(), [1, 0, 0]);
    }

    #[test]
    fn a_genuine_conflict_is_still_an_error() {
        let error = assign(&["/users/{id}", "/users/{name}"]).unwrap_err();
        assert!(error.to_string().contains("/users/{name}"), "{error}");
    }
}
