//! `ws://host/ws/echo`: WebSocket only, so plain requests get 426.

use crosswire::prelude::*;

pub fn websocket() -> impl WebSocketHandler {
    hooks().message(|peer: Peer, message: Message| async move {
        peer.send(message);
    })
}
