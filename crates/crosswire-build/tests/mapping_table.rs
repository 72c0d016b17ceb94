//! The naming rules, case by case. Each row gives a path relative to
//! `src/server/routes`, the method its name picks, the pattern Nitro's
//! scanner produces for the same path (`:id`, `**:slug`, `**`), and the axum
//! pattern the generated code registers.
//!
//! Rows taken from Nitro's own documentation keep their `.ts` extension: the
//! extension is stripped whatever it is, so they map exactly as in Nitro.

#![allow(clippy::unwrap_used)]

use crosswire_build::{Method, PathError, route_for};

const ANY: Option<Method> = None;
const GET: Option<Method> = Some(Method::Get);
const POST: Option<Method> = Some(Method::Post);

#[rustfmt::skip]
const TABLE: &[(&str, Option<Method>, &str, &str)] = &[
    // Nitro's documented examples.
    ("api/ws/chat.ts",                  ANY,  "/api/ws/chat",            "/api/ws/chat"),
    ("users/[id].get.ts",               GET,  "/users/:id",              "/users/{id}"),
    ("communities/index.post.ts",       POST, "/communities",            "/communities"),
    ("[...].ts",                        ANY,  "/**",                     "/{*_}"),
    ("api/hello.ts",                    ANY,  "/api/hello",              "/api/hello"),
    ("api/test.get.ts",                 GET,  "/api/test",               "/api/test"),
    ("api/test.post.ts",                POST, "/api/test",               "/api/test"),
    ("hello/[name].ts",                 ANY,  "/hello/:name",            "/hello/{name}"),
    ("hello/[...name].ts",              ANY,  "/hello/**:name",          "/hello/{*name}"),
    ("milliseconds.ts",                 ANY,  "/milliseconds",           "/milliseconds"),
    // The same rules on Rust files.
    ("api/ws/chat.rs",                  ANY,  "/api/ws/chat",            "/api/ws/chat"),
    ("api/sse.rs",                      ANY,  "/api/sse",                "/api/sse"),
    ("index.rs",                        ANY,  "/",                       "/"),
    ("index.get.rs",                    GET,  "/",                       "/"),
    ("api/index.rs",                    ANY,  "/api",                    "/api"),
    ("users/[id]/index.delete.rs",      Some(Method::Delete), "/users/:id", "/users/{id}"),
    ("index/index.rs",                  ANY,  "/index",                  "/index"),
    ("index/foo.rs",                    ANY,  "/index/foo",              "/index/foo"),
    ("rss.xml.rs",                      ANY,  "/rss.xml",                "/rss.xml"),
    ("sitemap.xml.get.rs",              GET,  "/sitemap.xml",            "/sitemap.xml"),
    ("api/v1.0/status.rs",              ANY,  "/api/v1.0/status",        "/api/v1.0/status"),
    ("api/users.get.json.rs",           ANY,  "/api/users.get.json",     "/api/users.get.json"),
    ("test.get.post.rs",                POST, "/test.get",               "/test.get"),
    ("get.rs",                          ANY,  "/get",                    "/get"),
    ("users.GET.rs",                    ANY,  "/users.GET",              "/users.GET"),
    ("[id].rs",                         ANY,  "/:id",                    "/{id}"),
    ("[_id].rs",                        ANY,  "/:_id",                   "/{_id}"),
    ("users/[id]/posts/[postId].rs",    ANY,  "/users/:id/posts/:postId", "/users/{id}/posts/{postId}"),
    ("[...slug].rs",                    ANY,  "/**:slug",                "/{*slug}"),
    ("blog/[...slug].get.rs",           GET,  "/blog/**:slug",           "/blog/{*slug}"),
    ("api/[...].rs",                    ANY,  "/api/**",                 "/api/{*_}"),
    ("api/[id]/[...rest].rs",           ANY,  "/api/:id/**:rest",        "/api/{id}/{*rest}"),
    ("files/[...path]/index.rs",        ANY,  "/files/**:path",          "/files/{*path}"),
    ("(admin)/dashboard.rs",            ANY,  "/dashboard",              "/dashboard"),
    ("(marketing)/(nested)/about.rs",   ANY,  "/about",                  "/about"),
    ("api/(v1)/users/[id].rs",          ANY,  "/api/users/:id",          "/api/users/{id}"),
    ("(group)/index.rs",                ANY,  "/",                       "/"),
    ("./api/x.rs",                      ANY,  "/api/x",                  "/api/x"),
    ("_private/hello-world.rs",         ANY,  "/_private/hello-world",   "/_private/hello-world"),
    ("api/hello.put.rs",                Some(Method::Put),     "/api/hello", "/api/hello"),
    ("api/hello.patch.rs",              Some(Method::Patch),   "/api/hello", "/api/hello"),
    ("api/hello.head.rs",               Some(Method::Head),    "/api/hello", "/api/hello"),
    ("api/hello.options.rs",            Some(Method::Options), "/api/hello", "/api/hello"),
    ("api/hello.connect.rs",            Some(Method::Connect), "/api/hello", "/api/hello"),
    ("api/hello.trace.rs",              Some(Method::Trace),   "/api/hello", "/api/hello"),
    ("api/hello.delete.rs",             Some(Method::Delete),  "/api/hello", "/api/hello"),
    ("chat",                            ANY,  "/chat",                   "/chat"),
];

#[test]
fn every_path_maps_as_in_nitro() {
    let mut failures = Vec::new();
    for &(path, method, nitro, axum) in TABLE {
        match route_for(path) {
            Ok(route) => {
                let got = (route.method, route.pattern.nitro(), route.pattern.axum());
                let want = (method, nitro.to_owned(), axum.to_owned());
                if got != want {
                    failures.push(format!("{path}: got {got:?}, want {want:?}"));
                }
            }
            Err(error) => failures.push(format!("{path}: unexpected error: {error}")),
        }
    }
    assert!(TABLE.len() >= 30);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn unnamed_catch_alls_expose_the_rest_as_underscore() {
    let route = route_for("api/[...].rs").unwrap();
    assert_eq!(route.pattern.param_names(), ["_"]);
    let route = route_for("users/[id]/[...rest].rs").unwrap();
    assert_eq!(route.pattern.param_names(), ["id", "rest"]);
}

#[rustfmt::skip]
const REFUSED: &[(&str, &str)] = &[
    ("a-[b].rs",              "`a-[b]` mixes text and brackets; a segment is either plain text or exactly one `[name]`, `[...name]` or `[...]`"),
    ("[a][b].rs",             "`[a][b]` mixes text and brackets"),
    ("users/[id.rs",          "`[id` has unbalanced brackets; write a parameter as `[name]`"),
    ("users/id].rs",          "`id]` has unbalanced brackets"),
    ("[id]]/x.rs",            "`[id]]` has unbalanced brackets"),
    ("users/[user-id].rs",    "`[user-id]`: `user-id` is not a valid parameter name; use letters, digits and `_`, not starting with a digit (`[user_id]`)"),
    ("[1st].rs",              "`[1st]`: `1st` is not a valid parameter name"),
    ("[].rs",                 "`[]`: `` is not a valid parameter name"),
    ("[...my-slug].rs",       "`[...my-slug]`: `my-slug` is not a valid parameter name"),
    ("[..slug].rs",           "`[..slug]`: a catch-all is written with three dots, `[...name]` or `[...]`"),
    ("[....slug].rs",         "`[....slug]`: a catch-all is written with three dots"),
    ("[...slug]/edit.rs",     "`[...slug]` must be the last segment: a catch-all takes the rest of the path, so nothing can follow it"),
    ("users/[id]/[id].rs",    "the parameter `id` appears twice; give each parameter its own name"),
    ("(admin).rs",            "`(admin).rs` is a group name; groups are folders that leave no trace in the URL, not files"),
    ("hello world.rs",        "`hello world`: ` ` cannot appear in a route segment (URLs carry it only percent-encoded)"),
    ("{id}.rs",               "`{id}`: `{` cannot appear in a route segment (the router reads braces as a parameter; use `[name]`)"),
    (":id.rs",                "`:id`: `:` cannot appear in a route segment (at the start of a segment axum reads it as old capture syntax; use `[name]` or `[...name]`)"),
    ("what?.rs",              "`what?`: `?` cannot appear in a route segment"),
    ("../x.rs",               "`../x.rs` is not a path inside the routes folder"),
    ("/abs/x.rs",             "`/abs/x.rs` is not a path inside the routes folder"),
    ("",                      "`` is not a path inside the routes folder"),
    (".get.rs",               "`.get.rs` has no name once its extension and method suffix are removed"),
];

#[test]
fn invalid_names_are_refused_with_the_reason() {
    let mut failures = Vec::new();
    for &(path, expected) in REFUSED {
        match route_for(path) {
            Ok(route) => failures.push(format!("{path}: accepted as {route:?}")),
            Err(error) if error.to_string().starts_with(expected) => {}
            Err(error) => failures.push(format!("{path}:\n  got  {error}\n  want {expected}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_catch_all_is_named_as_written_when_misplaced() {
    assert_eq!(
        route_for("docs/[...]/x.rs"),
        Err(PathError::CatchAllNotLast("[...]".to_owned()))
    );
}
