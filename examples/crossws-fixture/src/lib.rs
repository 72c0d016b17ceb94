//! The routes of the crossws demo fixture, as a library so tests can serve
//! them on a free port: as an [`App`] ([`app`]), or mounted in an axum
//! `Router` that `axum::serve` serves ([`router`]), so crossws's suite checks
//! both ways of running Crosswire.

mod demo;

use axum::extract::Query;
use axum::response::Html;
use axum::routing::get;
use crosswire::prelude::*;
use serde::Deserialize;

/// The fixture's routes.
pub fn app(config: Config) -> App {
    App::with_config(config)
        .websocket("/", demo::websocket())
        .route("/", get(index))
        .route("/peers", get(peers))
        .route("/publish", get(publish))
}

/// The same routes mounted in a plain axum `Router`.
pub fn router(crosswire: &Crosswire) -> axum::Router {
    axum::Router::new()
        .route("/", crosswire.websocket_or(demo::websocket(), get(index)))
        .route("/peers", get(peers))
        .route("/publish", get(publish))
        .layer(crosswire.layer())
}

/// Whether `CROSSWIRE_MOUNTED` (`1` or `true`) asks for the mounted build.
pub fn mounted() -> bool {
    std::env::var("CROSSWIRE_MOUNTED").is_ok_and(|value| matches!(value.as_str(), "1" | "true"))
}

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><title>crossws fixture</title></head>\
         <body><h1>crossws fixture (Crosswire)</h1>\
         <p>WebSocket demo at <code>ws://this-host/</code>.</p></body></html>",
    )
}

async fn peers(server: ServerHandle) -> axum::Json<serde_json::Value> {
    let peers: Vec<String> = server
        .peers()
        .iter()
        .map(|peer| format!("{}:{peer}", peer.request().path()))
        .collect();
    axum::Json(json!({ "peers": peers }))
}

#[derive(Deserialize)]
struct PublishQuery {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    message: String,
}

async fn publish(server: ServerHandle, Query(query): Query<PublishQuery>) -> &'static str {
    server.publish(&query.topic, query.message);
    "published"
}
