//! `/api/param/{test-id}`: a parameter name with a dash, as in Nitro's own
//! fixture, read by name in the handler and in the hooks.

use std::collections::HashMap;

use axum::extract::Path;
use crosswire::prelude::*;

/// Plain requests: the parameter through axum's `Path`, by its name.
pub async fn handler(Path(params): Path<HashMap<String, String>>) -> String {
    format!("test-id {}", params.get("test-id").map_or("?", String::as_str))
}

/// Upgrades: the parameter through `Peer::param`.
pub fn websocket() -> impl WebSocketHandler {
    hooks().open(|peer: Peer| async move {
        let id = peer.param("test-id").unwrap_or("?").to_owned();
        peer.send(format!("test-id {id}"));
    })
}
