//! An axum app as a team already runs it (a REST API under `/api`, tower-http's
//! `TraceLayer` and a CORS layer, served by `axum::serve`) that gains the
//! seed's chat by mounting Crosswire: the chat's own route files
//! (`/api/ws/chat`, `/api/sse`, `POST /api/publish`) and its page at `/`.
//!
//! ```text
//! GET  /                 the chat page (examples/chat/public/index.html)
//! GET  /api/health       {"status":"ok","peers":N}
//! GET  /api/todos        the to-do list
//! POST /api/todos        adds {"title":"…"}
//! WS   /api/ws/chat      the seed's chat
//! GET  /api/sse          the seed's clock
//! POST /api/publish      speaks in the chat
//! ```

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, http::Method};
use crosswire::prelude::*;
use serde::{Deserialize, Serialize};
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

// The chat example's route files, used as they are.
#[path = "../../chat/src/server/routes/api/ws/chat.rs"]
mod chat;
#[path = "../../chat/src/server/routes/api/publish.post.rs"]
mod publish;
#[path = "../../chat/src/server/routes/api/sse.rs"]
mod sse;

/// The chat example's page; it talks to `/api/ws/chat` and `/api/sse`.
const PAGE: &str = include_str!("../../chat/public/index.html");

/// One to-do item of the REST API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Todo {
    /// What to do.
    pub title: String,
}

/// The REST API's state.
#[derive(Debug, Clone, Default)]
pub struct Todos(Arc<Mutex<Vec<Todo>>>);

/// The app's routes before Crosswire: what the team had.
pub fn api() -> Router<Todos> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/todos", get(list_todos).post(add_todo))
}

/// The whole app: the team's API and layers, plus Crosswire's routes. The
/// Crosswire layer goes on the routes that use `ServerHandle` or event
/// streams; tracing and CORS wrap everything, WebSocket upgrades included.
pub fn app(crosswire: &Crosswire) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST]);
    api()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/ws/chat", crosswire.websocket(chat::websocket()))
        .route("/api/sse", get(sse::handler))
        .route("/api/publish", post(publish::handler))
        .layer(crosswire.layer())
        .layer(TraceLayer::new_for_http())
        .layer(cors)
        .with_state(Todos::default())
}

async fn health(server: ServerHandle) -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "peers": server.peer_count() }))
}

async fn list_todos(State(todos): State<Todos>) -> Json<Vec<Todo>> {
    let list = todos
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Json(list)
}

async fn add_todo(State(todos): State<Todos>, Json(todo): Json<Todo>) -> Json<Todo> {
    todos
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(todo.clone());
    Json(todo)
}
