use axum::Router;
use crosswire::broker::MemoryBus;
use crosswire::prelude::*;

use crate::support::*;
use crate::{connect, serve_router};

fn subscriber() -> impl WebSocketHandler {
    hooks().open(|peer: Peer| async move {
        peer.subscribe("news");
        peer.send("subscribed");
    })
}

#[tokio::test]
async fn publishes_cross_between_a_mounted_node_and_an_app_node() {
    let bus = MemoryBus::new();
    let crosswire = Crosswire::builder(Config::default())
        .broker(bus.broker())
        .build()
        .unwrap();
    let addr = serve_router(Router::new().route("/", crosswire.websocket(subscriber()))).await;
    let app = start(App::new().broker(bus.broker()).websocket("/", subscriber())).await;

    let mut on_mounted = connect(addr, "/").await;
    let mut on_app = connect(app.addr, "/").await;
    assert_eq!(next_text(&mut on_mounted).await, "subscribed");
    assert_eq!(next_text(&mut on_app).await, "subscribed");

    crosswire.handle().publish("news", "from the mounted node");
    assert_eq!(next_text(&mut on_app).await, "from the mounted node");
    assert_eq!(next_text(&mut on_mounted).await, "from the mounted node");

    app.handle.publish("news", "from the app node");
    assert_eq!(next_text(&mut on_mounted).await, "from the app node");
    assert_eq!(next_text(&mut on_app).await, "from the app node");
}
