//! `GET /api/chat/events`: the chat as Server-Sent Events. Each message is a
//! `data:` event (the same JSON peers get) with `id: <epoch>:<offset>`; a
//! client that reconnects with `Last-Event-ID` first gets what it missed, or
//! an `event: recovery` when that is no longer kept.
//!
//! ```text
//! curl -N http://127.0.0.1:3000/api/chat/events
//! curl -N -H 'Last-Event-ID: <id>' http://127.0.0.1:3000/api/chat/events
//! ```

use axum::extract::Request;
use axum::response::Response;
use crosswire::prelude::*;

pub async fn handler(request: Request) -> Response {
    let stream = create_event_stream(&request);
    stream.subscribe("chat");
    stream.send()
}
