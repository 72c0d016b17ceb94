//! `ws://host/rooms/{room}`: publishes are scoped to the room in the path.

use crosswire::prelude::*;

fn topic(peer: &Peer) -> String {
    format!("room:{}", peer.param("room").unwrap_or_default())
}

pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            peer.subscribe(topic(&peer));
            peer.send("joined");
        })
        .message(|peer: Peer, message: Message| async move {
            peer.publish(topic(&peer), message.text());
        })
}
