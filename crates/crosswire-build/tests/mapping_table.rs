//! The naming rules, case by case. Each row gives a path relative to
//! `src/server/routes`, the method its name picks, the environment it is
//! limited to, the pattern Nitro's scanner produces for the same path (`:id`,
//! `**:slug`, `**`), and the axum pattern the generated code registers.
//!
//! Rows taken from Nitro's own documentation keep their `.ts` extension: the
//! extension is stripped whatever it is, so they map exactly as in Nitro.

#![allow(clippy::unwrap_used)]

use crosswire_build::{Env, Method, PathError, route_for};

const ANY: Option<Method> = None;
const GET: Option<Method> = Some(Method::Get);
const POST: Option<Method> = Some(Method::Post);
/// Every environment: no `.dev` / `.prod` / `.prerender` suffix.
const ALL: Option<Env> = None;
const DEV: Option<Env> = Some(Env::Dev);
const PROD: Option<Env> = Some(Env::Prod);
const PRERENDER: Option<Env> = Some(Env::Prerender);

/// Path, method, environment, Nitro's pattern, axum's pattern.
type Row = (
    &'static str,
    Option<Method>,
    Option<Env>,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    // Nitro's documented examples.
    ("api/ws/chat.ts",                  ANY, ALL,  "/api/ws/chat",            "/api/ws/chat"),
    ("users/[id].get.ts",               GET, ALL,  "/users/:id",              "/users/{id}"),
    ("communities/index.post.ts",       POST, ALL, "/communities",            "/communities"),
    ("[...].ts",                        ANY, ALL,  "/**",                     "/{*_}"),
    ("api/hello.ts",                    ANY, ALL,  "/api/hello",              "/api/hello"),
    ("api/test.get.ts",                 GET, ALL,  "/api/test",               "/api/test"),
    ("api/test.post.ts",                POST, ALL, "/api/test",               "/api/test"),
    ("hello/[name].ts",                 ANY, ALL,  "/hello/:name",            "/hello/{name}"),
    ("hello/[...name].ts",              ANY, ALL,  "/hello/**:name",          "/hello/{*name}"),
    ("milliseconds.ts",                 ANY, ALL,  "/milliseconds",           "/milliseconds"),
    // The same rules on Rust files.
    ("api/ws/chat.rs",                  ANY, ALL,  "/api/ws/chat",            "/api/ws/chat"),
    ("api/sse.rs",                      ANY, ALL,  "/api/sse",                "/api/sse"),
    ("index.rs",                        ANY, ALL,  "/",                       "/"),
    ("index.get.rs",                    GET, ALL,  "/",                       "/"),
    ("api/index.rs",                    ANY, ALL,  "/api",                    "/api"),
    ("users/[id]/index.delete.rs",      Some(Method::Delete), ALL, "/users/:id", "/users/{id}"),
    ("index/index.rs",                  ANY, ALL,  "/index",                  "/index"),
    ("index/foo.rs",                    ANY, ALL,  "/index/foo",              "/index/foo"),
    ("rss.xml.rs",                      ANY, ALL,  "/rss.xml",                "/rss.xml"),
    ("sitemap.xml.get.rs",              GET, ALL,  "/sitemap.xml",            "/sitemap.xml"),
    ("api/v1.0/status.rs",              ANY, ALL,  "/api/v1.0/status",        "/api/v1.0/status"),
    ("api/users.get.json.rs",           ANY, ALL,  "/api/users.get.json",     "/api/users.get.json"),
    ("test.get.post.rs",                POST, ALL, "/test.get",               "/test.get"),
    ("get.rs",                          ANY, ALL,  "/get",                    "/get"),
    ("users.GET.rs",                    ANY, ALL,  "/users.GET",              "/users.GET"),
    ("[id].rs",                         ANY, ALL,  "/:id",                    "/{id}"),
    ("[_id].rs",                        ANY, ALL,  "/:_id",                   "/{_id}"),
    ("users/[id]/posts/[postId].rs",    ANY, ALL,  "/users/:id/posts/:postId", "/users/{id}/posts/{postId}"),
    ("[...slug].rs",                    ANY, ALL,  "/**:slug",                "/{*slug}"),
    ("blog/[...slug].get.rs",           GET, ALL,  "/blog/**:slug",           "/blog/{*slug}"),
    ("api/[...].rs",                    ANY, ALL,  "/api/**",                 "/api/{*_}"),
    ("api/[id]/[...rest].rs",           ANY, ALL,  "/api/:id/**:rest",        "/api/{id}/{*rest}"),
    ("files/[...path]/index.rs",        ANY, ALL,  "/files/**:path",          "/files/{*path}"),
    ("(admin)/dashboard.rs",            ANY, ALL,  "/dashboard",              "/dashboard"),
    ("(marketing)/(nested)/about.rs",   ANY, ALL,  "/about",                  "/about"),
    ("api/(v1)/users/[id].rs",          ANY, ALL,  "/api/users/:id",          "/api/users/{id}"),
    ("(group)/index.rs",                ANY, ALL,  "/",                       "/"),
    ("./api/x.rs",                      ANY, ALL,  "/api/x",                  "/api/x"),
    ("_private/hello-world.rs",         ANY, ALL,  "/_private/hello-world",   "/_private/hello-world"),
    ("api/hello.put.rs",                Some(Method::Put), ALL,     "/api/hello", "/api/hello"),
    ("api/hello.patch.rs",              Some(Method::Patch), ALL,   "/api/hello", "/api/hello"),
    ("api/hello.head.rs",               Some(Method::Head), ALL,    "/api/hello", "/api/hello"),
    ("api/hello.options.rs",            Some(Method::Options), ALL, "/api/hello", "/api/hello"),
    ("api/hello.connect.rs",            Some(Method::Connect), ALL, "/api/hello", "/api/hello"),
    ("api/hello.trace.rs",              Some(Method::Trace), ALL,   "/api/hello", "/api/hello"),
    ("api/hello.delete.rs",             Some(Method::Delete), ALL,  "/api/hello", "/api/hello"),
    ("chat",                            ANY, ALL,  "/chat",                   "/chat"),
    // Parameter names as Nitro writes them: word characters and `-` kept,
    // any other character turned into `_`.
    ("api/param/[test-id].rs",          ANY, ALL,   "/api/param/:test-id",   "/api/param/{test-id}"),
    ("users/[user.id].rs",              ANY, ALL,   "/users/:user_id",       "/users/{user_id}"),
    ("[1st].rs",                        ANY, ALL,   "/:1st",                 "/{1st}"),
    ("[a b]/x.rs",                      ANY, ALL,   "/:a_b/x",               "/{a_b}/x"),
    ("[café].rs",                       ANY, ALL,   "/:caf_",                "/{caf_}"),
    ("docs/[...my-slug].rs",            ANY, ALL,   "/docs/**:my-slug",      "/docs/{*my-slug}"),
    ("docs/[...a.b].rs",                ANY, ALL,   "/docs/**:a_b",          "/docs/{*a_b}"),
    // Environment suffixes, after the method suffix as in Nitro.
    ("env/index.dev.rs",                ANY, DEV,   "/env",                  "/env"),
    ("env/index.get.prod.rs",           GET, PROD,  "/env",                  "/env"),
    ("api/storage/dev.dev.rs",          ANY, DEV,   "/api/storage/dev",      "/api/storage/dev"),
    ("report.post.prerender.rs",        POST, PRERENDER, "/report",          "/report"),
    ("users/[id].delete.dev.rs",        Some(Method::Delete), DEV, "/users/:id", "/users/{id}"),
    ("feed.prod.get.rs",                GET, ALL,   "/feed.prod",            "/feed.prod"),
    ("dev.rs",                          ANY, ALL,   "/dev",                  "/dev"),
    ("prod/index.rs",                   ANY, ALL,   "/prod",                 "/prod"),
    ("sitemap.xml.prod.rs",             ANY, PROD,  "/sitemap.xml",          "/sitemap.xml"),
    ("index.dev.rs",                    ANY, DEV,   "/",                     "/"),
];

#[test]
fn every_path_maps_as_in_nitro() {
    let mut failures = Vec::new();
    for &(path, method, env, nitro, axum) in TABLE {
        match route_for(path) {
            Ok(route) => {
                let got = (
                    route.method,
                    route.env,
                    route.pattern.nitro(),
                    route.pattern.axum(),
                );
                let want = (method, env, nitro.to_owned(), axum.to_owned());
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
    ("[].rs",                 "`[]`: a parameter needs a name between its brackets (`[id]`)"),
    ("users/[]/x.rs",         "`[]`: a parameter needs a name"),
    ("[user.id]/[user_id].rs", "the parameter `user_id` appears twice"),
    ("[..slug].rs",           "`[..slug]`: a catch-all is written with three dots, `[...name]` or `[...]`"),
    ("[....slug].rs",         "`[....slug]`: a catch-all is written with three dots"),
    ("[...slug]/edit.rs",     "`[...slug]` must be the last segment: a catch-all takes the rest of the path, so nothing can follow it"),
    ("users/[id]/[id].rs",    "the parameter `id` appears twice; give each parameter its own name"),
    ("(admin).rs",            "`(admin).rs` is a group name; groups are folders that leave no trace in the URL, not files"),
    ("hello world.rs",        "`hello world`: ` ` cannot appear in a route segment (URLs carry it only percent-encoded)"),
    ("café.rs",               "`café`: `é` cannot appear in a route segment (URLs carry it only percent-encoded)"),
    ("{id}.rs",               "`{id}`: `{` cannot appear in a route segment (the router reads braces as a parameter; use `[name]`)"),
    (":id.rs",                "`:id`: `:` cannot appear in a route segment (at the start of a segment axum reads it as old capture syntax; use `[name]` or `[...name]`)"),
    ("what?.rs",              "`what?`: `?` cannot appear in a route segment"),
    ("../x.rs",               "`../x.rs` is not a path inside the routes folder"),
    ("/abs/x.rs",             "`/abs/x.rs` is not a path inside the routes folder"),
    ("",                      "`` is not a path inside the routes folder"),
    (".get.rs",               "`.get.rs` has no name once its extension, method and environment suffixes are removed"),
    (".dev.rs",               "`.dev.rs` has no name once its extension, method and environment suffixes are removed"),
    (".get.prod.rs",          "`.get.prod.rs` has no name"),
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
