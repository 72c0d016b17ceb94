//! `POST /api/publish`: a plain HTTP request that speaks in the chat. The
//! body is the message; `?room=<name>` sends it to that room
//! (`ws://host/api/rooms/<name>`), otherwise it goes to the main chat
//! (`ws://host/api/ws/chat`). Every subscriber gets it once; the answer says
//! which topic and how many peers it reached.

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use axum::response::IntoResponse;
use crosswire::prelude::*;

pub async fn handler(
    server: ServerHandle,
    Query(query): Query<HashMap<String, String>>,
    message: String,
) -> impl IntoResponse {
    let topic = match query.get("room") {
        // The topic `api/rooms/[room].rs` subscribes its peers to.
        Some(room) => format!("room:{room}"),
        None => "chat".to_owned(),
    };
    // With history (the `chat` topic), the message carries its position as
    // `id`, as the chat's own messages do.
    let published = server.publish_with(&topic, |id| {
        let mut msg = json!({ "user": "http", "message": message });
        if let Some(id) = id {
            msg["id"] = json!(id);
        }
        msg
    });
    Json(json!({ "topic": topic, "reached": published.reached() }))
}
