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
    let reached = server.publish(&topic, json!({ "user": "http", "message": message }));
    Json(json!({ "topic": topic, "reached": reached }))
}
