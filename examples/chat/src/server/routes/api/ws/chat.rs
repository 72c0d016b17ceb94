//! The seed's chat handler, line for line, as the route file the seed names:
//! `src/server/routes/api/ws/chat.rs` serves `ws://host/api/ws/chat`.

use crosswire::prelude::*;

/// Welcome, announce and subscribe on open; answer `ping`, echo and publish
/// everything else; announce departures.
pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.send(json!({ "user": "server", "message": format!("Welcome {peer}!") }));
            peer.publish(
                "chat",
                json!({ "user": "server", "message": format!("{peer} joined!") }),
            );
            peer.subscribe("chat");
        })
        .message(|peer: Peer, message: Message| async move {
            if message.text().contains("ping") {
                peer.send(json!({ "user": "server", "message": "pong" }));
            } else {
                let msg = json!({ "user": peer.to_string(), "message": message.to_string() });
                peer.send(&msg); // echo
                peer.publish("chat", &msg);
            }
        })
        .close(|peer: Peer, _close: CloseInfo| async move {
            peer.publish(
                "chat",
                json!({ "user": "server", "message": format!("{peer} left!") }),
            );
        })
}
