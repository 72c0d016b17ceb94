//! The 47 route files of Nitro's own test fixture (`test/fixture/server/routes`
//! in the Nitro repository, from the 2.13 line), renamed to `.rs`, laid out
//! in one routes folder: the folder scans without a conflict and every file
//! maps to the route, method and environment Nitro gives it.
//!
//! Nitro's fixture also lists `routes/api/**/_*` in its `ignore` option, so
//! Nitro never serves `api/_ignored.ts`; that is the fixture's configuration,
//! not a naming rule, and the scanner itself maps the file to
//! `/api/_ignored`, as here.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crosswire_build::{Env, Method, scan};

const HANDLER: &str = "pub async fn handler() -> &'static str { \"ok\" }\n";

const ANY: Option<Method> = None;
const GET: Option<Method> = Some(Method::Get);
const ALL: Option<Env> = None;

/// File as named in Nitro's fixture (`.ts` / `.tsx`), method, environment,
/// and the route Nitro registers for it.
type Row = (&'static str, Option<Method>, Option<Env>, &'static str);

#[rustfmt::skip]
const FIXTURE: &[Row] = &[
    ("(route-group)/route-group.ts",     ANY, ALL, "/route-group"),
    ("500.ts",                           ANY, ALL, "/500"),
    ("api/_ignored.ts",                  ANY, ALL, "/api/_ignored"),
    ("api/cached.ts",                    ANY, ALL, "/api/cached"),
    ("api/db.ts",                        ANY, ALL, "/api/db"),
    ("api/echo.ts",                      ANY, ALL, "/api/echo"),
    ("api/error.ts",                     ANY, ALL, "/api/error"),
    ("api/errors.ts",                    ANY, ALL, "/api/errors"),
    ("api/headers.ts",                   ANY, ALL, "/api/headers"),
    ("api/hello.ts",                     ANY, ALL, "/api/hello"),
    ("api/hey/index.get.ts",             GET, ALL, "/api/hey"),
    ("api/kebab.ts",                     ANY, ALL, "/api/kebab"),
    ("api/meta/test.ts",                 ANY, ALL, "/api/meta/test"),
    ("api/methods/foo.get.get.ts",       GET, ALL, "/api/methods/foo.get"),
    ("api/methods/get.ts",               ANY, ALL, "/api/methods/get"),
    ("api/param/[test-id].ts",           ANY, ALL, "/api/param/:test-id"),
    ("api/storage/item.get.ts",          GET, ALL, "/api/storage/item"),
    ("api/storage/item.put.ts",          Some(Method::Put), ALL, "/api/storage/item"),
    ("api/upload.post.ts",               Some(Method::Post), ALL, "/api/upload"),
    ("api/wildcard/[...param].ts",       ANY, ALL, "/api/wildcard/**:param"),
    ("assets/[id].ts",                   ANY, ALL, "/assets/:id"),
    ("assets/all.ts",                    ANY, ALL, "/assets/all"),
    ("assets/md.ts",                     ANY, ALL, "/assets/md"),
    ("config.ts",                        ANY, ALL, "/config"),
    ("context.ts",                       ANY, ALL, "/context"),
    ("env/index.dev.ts",                 ANY, Some(Env::Dev), "/env"),
    ("env/index.get.prod.ts",            GET, Some(Env::Prod), "/env"),
    ("error-stack.ts",                   ANY, ALL, "/error-stack"),
    ("fetch.ts",                         ANY, ALL, "/fetch"),
    ("file.ts",                          ANY, ALL, "/file"),
    ("icon.png.ts",                      ANY, ALL, "/icon.png"),
    ("imports.ts",                       ANY, ALL, "/imports"),
    ("json-string.ts",                   ANY, ALL, "/json-string"),
    ("jsx.tsx",                          ANY, ALL, "/jsx"),
    ("modules.ts",                       ANY, ALL, "/modules"),
    ("node-compat.ts",                   ANY, ALL, "/node-compat"),
    ("prerender-custom.html.ts",         ANY, ALL, "/prerender-custom.html"),
    ("prerender.ts",                     ANY, ALL, "/prerender"),
    ("raw.ts",                           ANY, ALL, "/raw"),
    ("replace.ts",                       ANY, ALL, "/replace"),
    ("rules/[...slug].ts",               ANY, ALL, "/rules/**:slug"),
    ("static-flags.ts",                  ANY, ALL, "/static-flags"),
    ("stream.ts",                        ANY, ALL, "/stream"),
    ("tasks/[...name].ts",               ANY, ALL, "/tasks/**:name"),
    ("wait-until.ts",                    ANY, ALL, "/wait-until"),
    ("wasm/dynamic-import.ts",           ANY, ALL, "/wasm/dynamic-import"),
    ("wasm/static-import.ts",            ANY, ALL, "/wasm/static-import"),
];

/// `jsx.tsx` → `jsx.rs`, `api/hello.ts` → `api/hello.rs`.
fn renamed(file: &str) -> String {
    let stem = file
        .strip_suffix(".tsx")
        .or_else(|| file.strip_suffix(".ts"))
        .unwrap();
    format!("{stem}.rs")
}

#[test]
fn nitros_own_fixture_maps_as_nitro_maps_it() {
    assert_eq!(FIXTURE.len(), 47);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    for &(file, ..) in FIXTURE {
        let path = dir.join(renamed(file));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, HANDLER).unwrap();
    }

    let table = scan(&dir).unwrap_or_else(|error| panic!("the fixture must scan:\n{error}"));
    let found: BTreeMap<String, _> = table
        .routes()
        .iter()
        .map(|route| {
            let file = route.file.to_string_lossy().replace('\\', "/");
            (file, (route.method, route.env, route.pattern.nitro()))
        })
        .collect();
    assert_eq!(found.len(), 47, "{found:#?}");

    let mut failures = Vec::new();
    for &(file, method, env, nitro) in FIXTURE {
        let want = (method, env, nitro.to_owned());
        match found.get(&renamed(file)) {
            Some(got) if *got == want => {}
            Some(got) => failures.push(format!("{file}: got {got:?}, want {want:?}")),
            None => failures.push(format!("{file}: not in the table")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_fixtures_env_routes_share_a_path_without_conflict() {
    // `.dev` and `.prod` files never serve together, so `env/index.dev` (every
    // method) and `env/index.get.prod` (GET) both claim `/env`; a file for
    // every environment beside the `.dev` one would conflict in dev.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("routes");
    std::fs::create_dir_all(dir.join("env")).unwrap();
    std::fs::write(dir.join("env/index.dev.rs"), HANDLER).unwrap();
    std::fs::write(dir.join("env/index.get.prod.rs"), HANDLER).unwrap();
    assert!(scan(&dir).is_ok());

    std::fs::write(dir.join("env/index.rs"), HANDLER).unwrap();
    let error = scan(&dir).unwrap_err().to_string();
    assert!(
        error.contains("env/index.rs: serves every method on /env, and so does"),
        "{error}"
    );
    assert!(error.contains("env/index.dev.rs"), "{error}");
}
