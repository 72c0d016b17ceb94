//! `ws://host/api/rooms/{room}`: the seed's chat, one room per path. Every
//! hook reads the `room` parameter, and publishes stay inside the room.

use crosswire::prelude::*;

/// The topic of a room: `room:<name>` (`POST /api/publish?room=<name>`
/// publishes to it too).
fn topic(room: &str) -> String {
    format!("room:{room}")
}

/// The room's name, decoded as `POST /api/publish?room=<name>` decodes it,
/// so `/api/rooms/caf%C3%A9` and `?room=café` are one room.
fn room(peer: &Peer) -> String {
    peer.param_decoded("room").unwrap_or_default().into_owned()
}

/// Welcome into the room, announce and subscribe on open; answer `ping`,
/// echo and publish to the room everything else; announce departures.
pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .open(|peer: Peer| async move {
            let room = room(&peer);
            peer.send(json!({ "user": "server", "message": format!("Welcome {peer} to {room}!") }));
            peer.publish(
                topic(&room),
                json!({ "user": "server", "message": format!("{peer} joined {room}!") }),
            );
            peer.subscribe(topic(&room));
        })
        .message(|peer: Peer, message: Message| async move {
            if message.text().contains("ping") {
                peer.send(json!({ "user": "server", "message": "pong" }));
            } else {
                let msg = json!({ "user": peer.to_string(), "message": message.text() });
                peer.send(&msg); // echo
                peer.publish(topic(&room(&peer)), &msg);
            }
        })
        .close(|peer: Peer, _close: CloseInfo| async move {
            let room = room(&peer);
            peer.publish(
                topic(&room),
                json!({ "user": "server", "message": format!("{peer} left {room}!") }),
            );
        })
}
