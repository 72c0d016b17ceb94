//! `/users/{id}`: HTTP and WebSocket on one path, both reading the parameter.

use axum::extract::Path;
use crosswire::prelude::*;

/// Plain requests: the parameter through axum's `Path` extractor.
pub async fn handler(Path(id): Path<String>) -> String {
    format!("user {id}")
}

/// Upgrades: the parameter through `UpgradeRequest::param` and `Peer::param`.
pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .upgrade(|request: UpgradeRequest| async move {
            let id = request.param("id").unwrap_or_default().to_owned();
            Ok(Accept::new().header("x-user", &id))
        })
        .open(|peer: Peer| async move {
            let id = peer.param("id").unwrap_or_default().to_owned();
            peer.send(format!("hello user {id}"));
        })
        .message(|peer: Peer, message: Message| async move {
            let id = peer.param("id").unwrap_or_default().to_owned();
            peer.send(format!("{id}: {}", message.text()));
        })
}
