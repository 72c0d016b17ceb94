use std::time::Duration;

use crate::client::*;
use crate::sse_client::stream_route;
use crate::support::*;

const STREAMS: usize = 50;

#[tokio::test]
async fn every_stream_on_one_http2_connection_receives_its_events() {
    let cert = TestCert::new();
    let (route, _streams) = stream_route(|stream| stream.subscribe("ticks"));
    let server = start(tls_app(&cert).route("/events", route)).await;

    let http2 = https2(&server, &cert).await;
    let mut bodies = Vec::with_capacity(STREAMS);
    for _ in 0..STREAMS {
        let mut sender = http2.clone();
        let request = http::Request::get("https://localhost/events")
            .header(http::header::ACCEPT, "text/event-stream")
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = tokio::time::timeout(PATIENCE, sender.send_request(request))
            .await
            .expect("no response in time")
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        bodies.push(response.into_body());
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("ticks") != STREAMS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {STREAMS} streams subscribed",
            server.handle.subscriber_count("ticks")
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    for tick in 0..3 {
        assert_eq!(
            server.handle.publish("ticks", format!("tick {tick}")),
            STREAMS
        );
    }
    for body in &mut bodies {
        let mut seen = String::new();
        let data = next_data_lines(body, &mut seen, 3).await;
        assert_eq!(data, ["tick 0", "tick 1", "tick 2"]);
    }

    // A stream the client cancels leaves the others running.
    drop(bodies.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.subscriber_count("ticks") != STREAMS - 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cancelled stream stayed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.handle.publish("ticks", "after"), STREAMS - 1);
    for body in &mut bodies {
        let mut seen = String::new();
        assert_eq!(next_data_lines(body, &mut seen, 1).await, ["after"]);
    }
}

#[tokio::test]
async fn a_websocket_upgrade_is_not_offered_over_http2() {
    use crosswire::prelude::*;
    let cert = TestCert::new();
    let app = tls_app(&cert).websocket("/ws", hooks());
    let server = start(app).await;
    let mut http2 = https2(&server, &cert).await;
    // An HTTP/1.1-style upgrade request sent over HTTP/2 is not a handshake.
    let request = http::Request::get("https://localhost/ws")
        .header(http::header::SEC_WEBSOCKET_VERSION, "13")
        .header(http::header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = http2.send_request(request).await.unwrap();
    assert_ne!(response.status(), 101);
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(server.handle.peer_count(), 0);
}
