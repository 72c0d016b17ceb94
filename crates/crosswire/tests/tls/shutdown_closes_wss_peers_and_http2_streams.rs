use futures_util::StreamExt;
use http_body_util::BodyExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::*;
use crate::sse_client::stream_route;
use crate::support::*;

#[tokio::test]
async fn a_graceful_shutdown_closes_wss_peers_with_1001_and_ends_http2_streams() {
    use crosswire::prelude::*;
    let cert = TestCert::new();
    let (route, _streams) = stream_route(|stream| stream.subscribe("ticks"));
    let app = tls_app(&cert)
        .websocket("/ws", hooks())
        .route("/events", route);
    let server = start(app).await;

    let mut peer = wss_connect(&server, &cert, "/ws").await;
    let mut http2 = https2(&server, &cert).await;
    let response = http2
        .send_request(
            http::Request::get("https://localhost/events")
                .header(http::header::ACCEPT, "text/event-stream")
                .body(http_body_util::Empty::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = response.into_body();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("ticks") != 1 || server.handle.peer_count() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "not connected");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let stopping = tokio::spawn(server.shutdown());

    let close = loop {
        match tokio::time::timeout(PATIENCE, peer.next())
            .await
            .expect("no close frame in time")
        {
            Some(Ok(WsMessage::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(u16::from(close.unwrap().code), 1001);
    // The client answers the close; the server then ends the connection.
    loop {
        match tokio::time::timeout(PATIENCE, peer.next())
            .await
            .expect("the server did not end the connection")
        {
            None | Some(Err(_)) => break,
            Some(Ok(_)) => continue,
        }
    }
    drop(peer);

    // The event stream's body ends (the client sees its end, not a reset).
    loop {
        match tokio::time::timeout(PATIENCE, body.frame())
            .await
            .expect("the event stream did not end")
        {
            None => break,
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("the event stream failed: {error}"),
        }
    }
    // Both connections are done: the server stops without waiting for its
    // shutdown timeout (10 s).
    tokio::time::timeout(PATIENCE, stopping)
        .await
        .expect("the server did not stop")
        .unwrap();
}
