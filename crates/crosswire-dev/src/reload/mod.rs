//! The reload channel: what the dev server tells open pages.
//!
//! Messages are small JSON text frames:
//!
//! - `{"type":"hello","id":…}` first, on every connection. `id` names the
//!   build now serving; a page that came from another build (it missed a
//!   reload while disconnected, or the dev server itself was restarted)
//!   reloads.
//! - `{"type":"building"}`: a rebuild started.
//! - `{"type":"error","title":…,"note":…,"message":…}`: the build failed,
//!   the app would not start or stopped, or the settings do not load (see
//!   [`Trouble`]); the page shows the message in an overlay under the title
//!   and note. Sent on connect too, while the error stands, so a page opened
//!   later shows it as well.
//! - `{"type":"ok"}`: the error is gone; hide the overlay.
//! - `{"type":"reload","id":…}`: the new app is up, or a public file
//!   changed; reload.
//!
//! The [`Hub`] keeps the current state and broadcasts; `socket` serves one
//! page's WebSocket.

mod socket;
mod trouble;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::broadcast;

pub(crate) use socket::{accept, is_reload_upgrade};
pub(crate) use trouble::Trouble;

/// Messages a page may fall behind by before it is simply told to reload.
const BACKLOG: usize = 16;

/// The reload channel's state and its subscribers.
#[derive(Debug)]
pub(crate) struct Hub {
    /// Tells this dev server's builds from another's, so pages served by a
    /// previous run reload when they reconnect to this one.
    instance: String,
    state: Mutex<State>,
    sender: broadcast::Sender<Arc<str>>,
}

#[derive(Debug, Default)]
struct State {
    /// Counts reloads: a page's script carries the value it was served with.
    generation: u64,
    /// The error pages show, while it stands: its message as sent.
    error: Option<serde_json::Value>,
}

impl Hub {
    /// A hub with no subscribers and no error.
    pub(crate) fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Unique across runs (process id and clock) and within one (counter).
        static HUBS: AtomicU64 = AtomicU64::new(0);
        let count = HUBS.fetch_add(1, Ordering::Relaxed);
        let instance = format!("{:x}{:x}{count:x}", std::process::id(), nanos & 0xffff_ffff);
        Self {
            instance,
            state: Mutex::new(State::default()),
            sender: broadcast::channel(BACKLOG).0,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn id(&self, state: &State) -> String {
        format!("{}-{}", self.instance, state.generation)
    }

    /// The id of the build serving pages now; the injected script carries it.
    pub(crate) fn build_id(&self) -> String {
        self.id(&self.state())
    }

    /// Tells every page to reload; the build id moves on. A standing error
    /// stays: the reloaded pages show it again.
    pub(crate) fn reload(&self) {
        let mut state = self.state();
        state.generation += 1;
        let id = self.id(&state);
        self.send(json!({ "type": "reload", "id": id }));
    }

    /// Shows `message` under what `trouble` says in every page, and in
    /// pages opened later, until [`Hub::ok`].
    pub(crate) fn error(&self, trouble: Trouble, message: &str) {
        let error = json!({
            "type": "error",
            "title": trouble.title(),
            "note": trouble.note(),
            "message": message,
        });
        self.state().error = Some(error.clone());
        self.send(error);
    }

    /// Clears the error.
    pub(crate) fn ok(&self) {
        self.state().error = None;
        self.send(json!({ "type": "ok" }));
    }

    /// Says a rebuild started.
    pub(crate) fn building(&self) {
        self.send(json!({ "type": "building" }));
    }

    /// How many pages listen.
    pub(crate) fn pages(&self) -> usize {
        self.sender.receiver_count()
    }

    /// The messages a new page gets first, and its subscription. Taken under
    /// the state lock, so no message falls between the two or comes twice.
    pub(crate) fn subscribe(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Arc<str>>) {
        let state = self.state();
        let mut first = vec![
            json!({ "type": "hello", "id": self.id(&state) })
                .to_string()
                .into(),
        ];
        if let Some(error) = &state.error {
            first.push(error.to_string().into());
        }
        (first, self.sender.subscribe())
    }

    fn send(&self, message: serde_json::Value) {
        // No receivers is fine: no page is open.
        let _ = self.sender.send(message.to_string().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_page_hears_hello_then_the_standing_error() {
        let hub = Hub::new();
        hub.error(
            Trouble::BuildFailed { serving: true },
            "error[E0308]: mismatched types",
        );
        let (first, _rx) = hub.subscribe();
        assert_eq!(parse(&first[0])["type"], "hello");
        assert_eq!(parse(&first[0])["id"], hub.build_id());
        let error = parse(&first[1]);
        assert_eq!(error["message"], "error[E0308]: mismatched types");
        assert_eq!(error["title"], "Build failed");
        assert_eq!(error["note"], Trouble::BuildFailed { serving: true }.note());
    }

    #[test]
    fn reload_moves_the_build_id_on_and_ok_clears_the_error() {
        let hub = Hub::new();
        let before = hub.build_id();
        let (_, mut rx) = hub.subscribe();
        hub.error(Trouble::Stopped, "broken");
        hub.reload();
        assert_ne!(hub.build_id(), before);
        assert_eq!(parse(&rx.try_recv().unwrap())["type"], "error");
        let reload = parse(&rx.try_recv().unwrap());
        assert_eq!(reload["type"], "reload");
        assert_eq!(reload["id"], hub.build_id());
        assert_eq!(
            hub.subscribe().0.len(),
            2,
            "the error stands across a reload"
        );
        hub.ok();
        assert_eq!(parse(&rx.try_recv().unwrap())["type"], "ok");
        assert_eq!(hub.subscribe().0.len(), 1, "no error after ok");
    }

    #[test]
    fn two_hubs_never_share_an_id() {
        assert_ne!(Hub::new().build_id(), Hub::new().build_id());
    }
}
