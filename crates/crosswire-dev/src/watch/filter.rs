//! Which file events matter, and what they mean.
//!
//! A path under `src/` (or `Cargo.toml`, `build.rs`) means a rebuild, under
//! `public/` a page reload, and `crosswire.toml` a restart. Paths that
//! `.gitignore` files exclude, editor scratch files and the cargo target
//! folder never count: a build writing its output must not trigger another
//! build, and an editor's swap file is not a change to the app.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// What a changed path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Rust sources or the manifest: rebuild, then restart.
    Rust,
    /// Static files: reload the pages.
    Public,
    /// `crosswire.toml`: restart the app, which reads it at start.
    Config,
    /// A `.gitignore` file: the rules themselves changed.
    IgnoreRules,
}

/// Scratch files of common editors, written beside the file being saved.
const EDITOR_SCRATCH: &[&str] = &[
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    ".#*",
    // Escaped: a line starting with `#` is a comment.
    r"\#*#",
    "4913",
    ".DS_Store",
    "*___jb_tmp___",
    "*___jb_old___",
];

/// Classifies paths under one app folder.
#[derive(Debug)]
pub(crate) struct Filter {
    root: PathBuf,
    /// Folders that never count wherever the rules say otherwise: the target
    /// folders (the app's own `target/` and `CARGO_TARGET_DIR` when it lies
    /// inside the app).
    excluded: Vec<PathBuf>,
    scratch: Gitignore,
    /// The `.gitignore` of each folder seen so far (empty when it has none),
    /// read once and dropped when any `.gitignore` changes.
    gitignores: HashMap<PathBuf, Gitignore>,
}

impl Filter {
    /// A filter for the app at `root` (an absolute path) whose build writes
    /// into `target_dir`.
    pub(crate) fn new(root: &Path, target_dir: Option<&Path>) -> Self {
        let mut excluded = vec![root.join("target"), root.join(".git")];
        if let Some(target) = target_dir {
            let target = if target.is_absolute() {
                target.to_owned()
            } else {
                root.join(target)
            };
            excluded.push(target);
        }
        let mut builder = GitignoreBuilder::new(root);
        for pattern in EDITOR_SCRATCH {
            // Fixed, valid patterns: an error here would be a typo above,
            // caught by the tests.
            let _ = builder.add_line(None, pattern);
        }
        let scratch = builder.build().unwrap_or_else(|_| Gitignore::empty());
        Self {
            root: root.to_owned(),
            excluded,
            scratch,
            gitignores: HashMap::new(),
        }
    }

    /// What a change to `path` asks for, or `None` when it does not count.
    pub(crate) fn classify(&mut self, path: &Path) -> Option<Kind> {
        if self.excluded.iter().any(|dir| path.starts_with(dir)) {
            return None;
        }
        let relative = path.strip_prefix(&self.root).ok()?;
        let mut components = relative.components();
        let first = match components.next()? {
            Component::Normal(first) => first.to_str()?,
            _ => return None,
        };
        let nested = components.next().is_some();
        if path.file_name().is_some_and(|name| name == ".gitignore") {
            self.gitignores.clear();
            return Some(Kind::IgnoreRules);
        }
        let kind = match (first, nested) {
            ("src", true) => Kind::Rust,
            ("public", true) => Kind::Public,
            ("Cargo.toml" | "build.rs", false) => Kind::Rust,
            ("crosswire.toml", false) => Kind::Config,
            _ => return None,
        };
        let is_dir = path.is_dir();
        if self.scratch.matched(relative, is_dir).is_ignore() || self.ignored(relative, is_dir) {
            return None;
        }
        Some(kind)
    }

    /// Whether the `.gitignore` files from the root down to the path's folder
    /// exclude it; the deepest file that has a say wins, as in git.
    fn ignored(&mut self, relative: &Path, is_dir: bool) -> bool {
        let mut verdict = false;
        let mut dir = self.root.clone();
        let mut rest = relative;
        loop {
            let rules = self.rules(&dir);
            match rules.matched_path_or_any_parents(rest, is_dir) {
                Match::Ignore(_) => verdict = true,
                Match::Whitelist(_) => verdict = false,
                Match::None => {}
            }
            let mut components = rest.components();
            let Some(Component::Normal(next)) = components.next() else {
                break;
            };
            let remaining = components.as_path();
            if remaining.as_os_str().is_empty() {
                break;
            }
            dir.push(next);
            rest = remaining;
        }
        verdict
    }

    fn rules(&mut self, dir: &Path) -> &Gitignore {
        self.gitignores.entry(dir.to_owned()).or_insert_with(|| {
            // A missing or unreadable file has no rules; a bad line is
            // skipped and the rest still apply, as git does.
            let (rules, _error) = Gitignore::new(dir.join(".gitignore"));
            rules
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for folder in ["src/server/routes", "public/generated", "target/debug"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::write(
            dir.path().join(".gitignore"),
            "/target\n*.log\npublic/generated/\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("src/.gitignore"), "secret.rs\n!keep.log\n").unwrap();
        dir
    }

    #[test]
    fn sources_public_files_and_settings_have_their_kind() {
        let dir = app();
        let mut filter = Filter::new(dir.path(), None);
        let kind = |filter: &mut Filter, path: &str| filter.classify(&dir.path().join(path));
        assert_eq!(
            kind(&mut filter, "src/server/routes/chat.rs"),
            Some(Kind::Rust)
        );
        assert_eq!(
            kind(&mut filter, "src/templates/page.txt"),
            Some(Kind::Rust)
        );
        assert_eq!(kind(&mut filter, "Cargo.toml"), Some(Kind::Rust));
        assert_eq!(kind(&mut filter, "build.rs"), Some(Kind::Rust));
        assert_eq!(kind(&mut filter, "public/index.html"), Some(Kind::Public));
        assert_eq!(kind(&mut filter, "crosswire.toml"), Some(Kind::Config));
        assert_eq!(kind(&mut filter, "README.md"), None);
        assert_eq!(kind(&mut filter, "Cargo.lock"), None);
        assert_eq!(kind(&mut filter, "src"), None);
    }

    #[test]
    fn target_folders_never_count() {
        let dir = app();
        let shared = dir.path().join("build-output");
        let mut filter = Filter::new(dir.path(), Some(&shared));
        assert_eq!(filter.classify(&dir.path().join("target/debug/app")), None);
        assert_eq!(filter.classify(&shared.join("debug/app")), None);
        assert_eq!(filter.classify(&dir.path().join(".git/index")), None);
    }

    #[test]
    fn gitignore_rules_apply_per_folder_and_deepest_wins() {
        let dir = app();
        let mut filter = Filter::new(dir.path(), None);
        let mut kind = |path: &str| filter.classify(&dir.path().join(path));
        assert_eq!(kind("src/debug.log"), None);
        assert_eq!(kind("public/generated/bundle.js"), None);
        assert_eq!(kind("src/secret.rs"), None);
        assert_eq!(kind("src/server/secret.rs"), None);
        assert_eq!(kind("src/keep.log"), Some(Kind::Rust));
        assert_eq!(kind("public/app.js"), Some(Kind::Public));
    }

    #[test]
    fn editor_scratch_files_never_count() {
        let dir = app();
        let mut filter = Filter::new(dir.path(), None);
        for scratch in [
            "src/.main.rs.swp",
            "src/main.rs~",
            "src/.#main.rs",
            "src/#main.rs#",
            "src/4913",
            "public/index.html___jb_tmp___",
        ] {
            assert_eq!(
                filter.classify(&dir.path().join(scratch)),
                None,
                "{scratch}"
            );
        }
    }

    #[test]
    fn a_changed_gitignore_is_read_again() {
        let dir = app();
        let mut filter = Filter::new(dir.path(), None);
        let notes = dir.path().join("src/notes.md");
        assert_eq!(filter.classify(&notes), Some(Kind::Rust));
        std::fs::write(dir.path().join(".gitignore"), "*.md\n").unwrap();
        assert_eq!(
            filter.classify(&dir.path().join(".gitignore")),
            Some(Kind::IgnoreRules)
        );
        assert_eq!(filter.classify(&notes), None);
    }
}
