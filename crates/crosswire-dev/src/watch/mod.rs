//! Watching the app's files: `src/` and `public/` (recursively), and the
//! files at the app's root (`Cargo.toml`, `build.rs`, `crosswire.toml`,
//! `.gitignore`).
//!
//! The root is watched without recursion on purpose: the default target
//! folder lives there, and a recursive watch would put a watch on each of
//! its thousands of folders and wake up for every file a build writes.
//!
//! Events arrive on the watcher's own thread. They are classified there and
//! folded into one pending [`Changes`], so nothing queues up however many
//! events a `git checkout` produces; the dev loop takes the pending change
//! once the events settle ([`debounce`]).

mod debounce;
mod filter;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::Notify;

use crate::error::DevError;
use filter::{Filter, Kind};

/// The folders watched recursively, relative to the app.
const TREES: &[&str] = &["src", "public"];

/// How many changed files a change names; the rest are counted.
const NAMED_FILES: usize = 3;

/// What changed since the last change was taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Rust sources or the manifest: rebuild.
    pub(crate) rust: bool,
    /// Static files: reload pages.
    pub(crate) public: bool,
    /// `crosswire.toml`: restart.
    pub(crate) config: bool,
    /// The changed files, relative to the app.
    pub(crate) files: BTreeSet<PathBuf>,
}

impl Changes {
    fn add(&mut self, kind: Kind, file: PathBuf) {
        match kind {
            Kind::Rust => self.rust = true,
            Kind::Public => self.public = true,
            Kind::Config => self.config = true,
            Kind::IgnoreRules => return,
        }
        self.files.insert(file);
    }

    fn is_empty(&self) -> bool {
        !(self.rust || self.public || self.config)
    }

    /// `src/a.rs, src/b.rs and 3 more`, for the terminal.
    pub(crate) fn describe(&self) -> String {
        let mut names: Vec<String> = self
            .files
            .iter()
            .take(NAMED_FILES)
            .map(|file| file.display().to_string())
            .collect();
        let rest = self.files.len().saturating_sub(NAMED_FILES);
        if rest > 0 {
            names.push(format!("{rest} more"));
        }
        names.join(", ")
    }
}

/// Classified events waiting for the dev loop.
#[derive(Debug, Default)]
struct Pending {
    changes: Changes,
    /// `src/` or `public/` appeared after the start and needs a watch.
    new_trees: Vec<PathBuf>,
}

#[derive(Debug)]
struct Shared {
    filter: Mutex<Filter>,
    pending: Mutex<Pending>,
    /// Signalled by the watcher thread for each event that counts.
    events: Notify,
}

/// Watches one app's files.
#[derive(Debug)]
pub(crate) struct Watcher {
    root: PathBuf,
    shared: Arc<Shared>,
    watcher: RecommendedWatcher,
}

impl Watcher {
    /// Starts watching the app at `root` (absolute), whose builds write into
    /// `target_dir`.
    pub(crate) fn start(root: &Path, target_dir: Option<&Path>) -> Result<Self, DevError> {
        let shared = Arc::new(Shared {
            filter: Mutex::new(Filter::new(root, target_dir)),
            pending: Mutex::new(Pending::default()),
            events: Notify::new(),
        });
        let handler_shared = Arc::clone(&shared);
        let handler_root = root.to_owned();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            on_event(&handler_shared, &handler_root, event);
        })
        .map_err(|reason| DevError::Watch {
            path: root.to_owned(),
            reason,
        })?;
        let mut this = Self {
            root: root.to_owned(),
            shared,
            watcher,
        };
        this.watch(root, RecursiveMode::NonRecursive)?;
        for tree in TREES {
            let path = root.join(tree);
            if path.is_dir() {
                this.watch(&path, RecursiveMode::Recursive)?;
            }
        }
        Ok(this)
    }

    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> Result<(), DevError> {
        self.watcher
            .watch(path, mode)
            .map_err(|reason| DevError::Watch {
                path: path.to_owned(),
                reason,
            })
    }

    /// The next change, once its events have settled.
    ///
    /// Cancel-safe: the caller selects on it beside the build and the app.
    /// A wait cut short after its first event took that event's wake-up,
    /// but its changes are still pending, so the next call starts from them
    /// instead of waiting for another event.
    pub(crate) async fn next(&mut self) -> Changes {
        loop {
            let started = {
                let pending = lock(&self.shared.pending);
                !pending.changes.is_empty() || !pending.new_trees.is_empty()
            };
            let events = &self.shared.events;
            if !started {
                events.notified().await;
            }
            debounce::settle(events, debounce::QUIET, debounce::MAX_WAIT).await;
            let pending = std::mem::take(&mut *lock(&self.shared.pending));
            for tree in pending.new_trees {
                if let Err(error) = self.watch(&tree, RecursiveMode::Recursive) {
                    tracing::warn!(target: "crosswire::dev", %error, "cannot watch a new folder");
                }
            }
            if !pending.changes.is_empty() {
                return pending.changes;
            }
        }
    }

    /// The app folder being watched.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
}

/// Runs on the watcher's thread for every raw event.
fn on_event(shared: &Shared, root: &Path, event: notify::Result<notify::Event>) {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(target: "crosswire::dev", %error, "file watcher error");
            return;
        }
    };
    // Reads (and closes after reading) change nothing.
    if matches!(event.kind, EventKind::Access(_)) {
        return;
    }
    let mut counted = false;
    let mut filter = lock(&shared.filter);
    let mut pending = lock(&shared.pending);
    for path in &event.paths {
        let new_tree = path.parent() == Some(root)
            && TREES.iter().any(|tree| path.ends_with(tree))
            && matches!(event.kind, EventKind::Create(_))
            && path.is_dir();
        let relative = || path.strip_prefix(root).unwrap_or(path).to_owned();
        if new_tree {
            // Files written into it before its watch is set up are not seen
            // one by one, so the folder itself counts as the change.
            pending.new_trees.push(path.clone());
            let kind = if path.ends_with("src") {
                Kind::Rust
            } else {
                Kind::Public
            };
            pending.changes.add(kind, relative());
            counted = true;
        }
        if let Some(kind) = filter.classify(path) {
            pending.changes.add(kind, relative());
            counted = true;
        }
    }
    if counted {
        shared.events.notify_one();
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (each
/// update is a single insert or flag).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn next(watcher: &mut Watcher) -> Changes {
        tokio::time::timeout(Duration::from_secs(10), watcher.next())
            .await
            .expect("a change within 10 s")
    }

    #[tokio::test]
    async fn a_saved_file_is_one_change_of_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        let mut watcher = Watcher::start(&root, None).unwrap();

        // Several writes to one file, and a build writing into target/.
        for n in 0..5 {
            std::fs::write(root.join("src/main.rs"), format!("fn main() {{ {n}; }}")).unwrap();
            std::fs::write(root.join("target/out"), "x").unwrap();
        }
        let changes = next(&mut watcher).await;
        assert!(
            changes.rust && !changes.public && !changes.config,
            "{changes:?}"
        );
        assert_eq!(changes.describe(), "src/main.rs");

        // public/ created after the start is watched from then on.
        std::fs::create_dir_all(root.join("public")).unwrap();
        let changes = next(&mut watcher).await;
        assert!(changes.public && !changes.rust, "{changes:?}");
        std::fs::write(root.join("public/index.html"), "<p>hi</p>").unwrap();
        let changes = next(&mut watcher).await;
        assert!(
            changes.files.contains(Path::new("public/index.html")),
            "{changes:?}"
        );

        std::fs::write(root.join("crosswire.toml"), "[server]\n").unwrap();
        let changes = next(&mut watcher).await;
        assert!(changes.config && !changes.rust, "{changes:?}");
    }

    /// The dev server selects on `next` beside the build: a wait dropped
    /// while its events settle must not lose them.
    #[tokio::test]
    async fn a_change_whose_wait_was_dropped_is_still_returned() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        let mut watcher = Watcher::start(&root, None).unwrap();
        std::fs::write(root.join("src/lib.rs"), "pub fn f() {}").unwrap();
        // Long enough for the first event, short of the quiet spell after it.
        let shared = Arc::clone(&watcher.shared);
        let dropped = tokio::time::timeout(Duration::from_secs(10), async {
            let waiting = watcher.next();
            tokio::pin!(waiting);
            loop {
                tokio::select! {
                    _ = &mut waiting => return false,
                    () = tokio::time::sleep(Duration::from_millis(5)) => {
                        if !lock(&shared.pending).changes.is_empty() {
                            return true;
                        }
                    }
                }
            }
        })
        .await
        .expect("the event within 10 s");
        assert!(dropped, "settled before it could be dropped");
        let changes = next(&mut watcher).await;
        assert!(
            changes.files.contains(Path::new("src/lib.rs")),
            "{changes:?}"
        );
    }
}
