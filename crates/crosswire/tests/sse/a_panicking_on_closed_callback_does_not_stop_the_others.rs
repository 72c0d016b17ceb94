use crosswire::prelude::*;
use tokio::sync::mpsc;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn every_callback_runs_in_order_even_after_one_panics() {
    let (route, mut streams) = stream_route(|_| {});
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;

    let (tx, mut ran) = mpsc::unbounded_channel::<&'static str>();
    let first = tx.clone();
    stream.on_closed(move || async move {
        let _ = first.send("first");
    });
    stream.on_closed(|| async { panic!("a callback that fails") });
    let third = tx.clone();
    stream.on_closed(async move || {
        let _ = third.send("third");
    });

    stream.close();
    assert_eq!(client.read_to_end().await, "");
    let mut next = async || {
        tokio::time::timeout(PATIENCE, ran.recv())
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(next().await, "first");
    assert_eq!(next().await, "third");

    // Added after the close, a callback runs at once.
    stream.on_closed(move || async move {
        let _ = tx.send("late");
    });
    assert_eq!(next().await, "late");
}
