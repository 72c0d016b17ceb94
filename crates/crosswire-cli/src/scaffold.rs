//! The files of a new app, compiled into the command, and how they are
//! filled in.
//!
//! The templates are real files under `templates/app` so they read (and
//! diff) as what they become. Three placeholders are replaced: `{{name}}`,
//! and the `crosswire` / `crosswire-build` dependency specifications.

/// A template file: where it goes in the app, and its text.
pub(crate) struct Template {
    pub(crate) path: &'static str,
    pub(crate) text: &'static str,
}

macro_rules! template {
    ($dest:literal, $source:literal) => {
        Template {
            path: $dest,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/templates/app/",
                $source
            )),
        }
    };
}

/// Every file of a new app.
pub(crate) const APP: &[Template] = &[
    template!("Cargo.toml", "Cargo.toml.tmpl"),
    template!(".gitignore", "gitignore"),
    template!("build.rs", "build.rs"),
    template!("crosswire.toml", "crosswire.toml"),
    template!("public/index.html", "public/index.html"),
    template!("src/main.rs", "src/main.rs"),
    template!(
        "src/server/routes/api/ws/chat.rs",
        "src/server/routes/api/ws/chat.rs"
    ),
    template!(
        "src/server/routes/api/sse.rs",
        "src/server/routes/api/sse.rs"
    ),
    template!("tests/chat.rs", "tests/chat.rs"),
];

/// What the placeholders become.
#[derive(Debug)]
pub(crate) struct Values {
    /// The package name.
    pub(crate) name: String,
    /// The dependency specification of `crosswire`: `{ path = "…" }` or `"0.1"`.
    pub(crate) crosswire: String,
    /// The same for `crosswire-build`.
    pub(crate) crosswire_build: String,
}

/// The template's text with the placeholders filled in.
pub(crate) fn render(text: &str, values: &Values) -> String {
    text.replace("{{name}}", &values.name)
        .replace("{{crosswire}}", &values.crosswire)
        .replace("{{crosswire_build}}", &values.crosswire_build)
}
