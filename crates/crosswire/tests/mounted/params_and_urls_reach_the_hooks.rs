use axum::Router;
use crosswire::prelude::*;

use crate::support::*;
use crate::{connect, mounted};

fn describe() -> impl WebSocketHandler {
    hooks().open(|peer: Peer| async move {
        let request = peer.request();
        peer.send(json!({
            "route": request.route(),
            "room": request.param("room"),
            "path": request.path(),
            "query": request.query(),
            "remote": peer.remote_address().ip().to_string(),
        }));
    })
}

#[tokio::test]
async fn a_nested_route_gives_its_pattern_params_and_full_url() {
    let (addr, _crosswire) = mounted(Config::default(), |crosswire| {
        let rooms = Router::new().route("/rooms/{room}", crosswire.websocket(describe()));
        Router::new().nest("/api", rooms)
    })
    .await;
    let mut client = connect(addr, "/api/rooms/big%20lobby?x=1").await;
    let seen = next_json(&mut client).await;
    assert_eq!(seen["route"], "/api/rooms/{room}");
    assert_eq!(seen["path"], "/api/rooms/big%20lobby");
    assert_eq!(seen["query"], "x=1");
    assert_eq!(seen["remote"], "127.0.0.1");

    // The parameter as `App` gives it, percent-encoding and all.
    let server = start(App::new().websocket("/api/rooms/{room}", describe())).await;
    let mut under_app = crate::connect(server.addr, "/api/rooms/big%20lobby?x=1").await;
    let under_app = next_json(&mut under_app).await;
    assert_eq!(seen["room"], under_app["room"]);
    assert_eq!(seen["room"], "big%20lobby");
}

#[tokio::test]
async fn peers_and_server_publish_work_across_routes() {
    let (addr, crosswire) = mounted(Config::default(), |crosswire| {
        let join = hooks().open(|peer: Peer| async move {
            peer.subscribe("news");
            peer.send("joined");
        });
        Router::new()
            .route("/a", crosswire.websocket(join.clone()))
            .route("/b", crosswire.websocket(join))
    })
    .await;
    let mut a = connect(addr, "/a").await;
    let mut b = connect(addr, "/b").await;
    assert_eq!(next_text(&mut a).await, "joined");
    assert_eq!(next_text(&mut b).await, "joined");
    let handle = crosswire.handle();
    assert_eq!(handle.peer_count(), 2);
    assert_eq!(handle.publish("news", "extra"), 2);
    assert_eq!(next_text(&mut a).await, "extra");
    assert_eq!(next_text(&mut b).await, "extra");
}
