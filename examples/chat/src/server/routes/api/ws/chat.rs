//! The seed's chat handler as the route file the seed names:
//! `src/server/routes/api/ws/chat.rs` serves `ws://host/api/ws/chat`.
//!
//! Beyond the seed, the `chat` topic keeps history (main.rs sets it up):
//! each chat message carries its position as `id` (`"<epoch>:<offset>"`),
//! and a page that reconnects with `?since=<id of the last message shown>`
//! first gets what it missed, once, then the live chat.

use crosswire::history::StreamPosition;
use crosswire::prelude::*;
use serde_json::Value;

/// A chat message; `id` is its position when the topic keeps history.
fn chat_message(user: &str, message: &str, id: Option<&StreamPosition>) -> Value {
    let mut msg = json!({ "user": user, "message": message });
    if let Some(id) = id {
        msg["id"] = json!(id);
    }
    msg
}

/// The position in `?since=<epoch>:<offset>`, if the page sent one.
fn since(peer: &Peer) -> Option<StreamPosition> {
    let query = peer.request().query()?;
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("since="))?;
    value.replace("%3A", ":").replace("%3a", ":").parse().ok()
}

/// Welcome, subscribe (recovering what the page missed) and announce on
/// open; answer `ping`, echo and publish everything else; announce
/// departures.
pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.send(json!({ "user": "server", "message": format!("Welcome {peer}!") }));
            // Subscribed before the announcement (the seed announces first),
            // so a page that comes back is not replayed its own arrival.
            let since = since(&peer);
            let recovery = peer.subscribe_with_recovery("chat", since.as_ref()).await;
            if since.is_some() && !recovery.recovered() {
                peer.send(chat_message(
                    "server",
                    "Some messages were lost while you were away.",
                    recovery.position(),
                ));
            }
            peer.publish_with("chat", |id| {
                chat_message("server", &format!("{peer} joined!"), id)
            });
        })
        .message(|peer: Peer, message: Message| async move {
            if message.text().contains("ping") {
                peer.send(json!({ "user": "server", "message": "pong" }));
            } else {
                // Everyone gets it, the sender too (its echo), in the
                // topic's order and with its position, on every node.
                let user = peer.to_string();
                peer.publish_with_echo("chat", |id| chat_message(&user, &message.text(), id));
            }
        })
        .close(|peer: Peer, _close: CloseInfo| async move {
            peer.publish_with("chat", |id| {
                chat_message("server", &format!("{peer} left!"), id)
            });
        })
}
