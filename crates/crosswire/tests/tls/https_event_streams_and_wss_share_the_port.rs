use axum::routing::get;
use crosswire::App;
use crosswire::prelude::*;

use crate::client::*;
use crate::sse_client::{next_stream, stream_route};
use crate::support::*;

/// `sub` subscribes to `room`, `pub:<text>` publishes to it; anything else
/// is echoed back. Each command is acknowledged.
fn room() -> impl WebSocketHandler {
    hooks().message(|peer: Peer, message: Message| async move {
        let text = message.text();
        if text == "sub" {
            peer.subscribe("room");
            peer.send("ack sub");
        } else if let Some(body) = text.strip_prefix("pub:") {
            peer.publish("room", body);
            peer.send(format!("ack {text}"));
        } else {
            peer.send(format!("echo {text}"));
        }
    })
}

#[tokio::test]
async fn an_http_route_answers_over_https_with_http1_and_http2() {
    let cert = TestCert::new();
    let app = tls_app(&cert).route("/hello", get(|| async { "hello over tls" }));
    let server = start(app).await;

    let mut http1 = https1(&server, &cert).await;
    let response = http1.send_request(request("/hello")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(body_text(response).await, "hello over tls");
    // The connection stays open for a second request.
    let response = http1.send_request(request("/hello")).await.unwrap();
    assert_eq!(body_text(response).await, "hello over tls");

    let mut http2 = https2(&server, &cert).await;
    let response = http2.send_request(request2("/hello")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(body_text(response).await, "hello over tls");
}

#[tokio::test]
async fn a_plain_http_request_to_the_tls_port_is_not_served() {
    let cert = TestCert::new();
    let app = tls_app(&cert).route("/hello", get(|| async { "hello over tls" }));
    let server = start(app).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server neither answered nor closed");
    assert!(
        !String::from_utf8_lossy(&answer).contains("hello over tls"),
        "a plain request was served on the TLS port"
    );
}

#[tokio::test]
async fn an_event_stream_delivers_over_https() {
    let cert = TestCert::new();
    let (route, mut streams) = stream_route(|stream| stream.subscribe("ticks"));
    let server = start(tls_app(&cert).route("/events", route)).await;

    let mut http1 = https1(&server, &cert).await;
    let sse_request = http::Request::get("/events")
        .header(http::header::HOST, "localhost")
        .header(http::header::ACCEPT, "text/event-stream")
        .body(http_body_util::Empty::new())
        .unwrap();
    let response = http1.send_request(sse_request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[http::header::CONTENT_TYPE],
        "text/event-stream"
    );
    let stream = next_stream(&mut streams).await;
    let mut body = response.into_body();
    let mut seen = String::new();
    stream.push("first");
    server.handle.publish("ticks", "second");
    let data = next_data_lines(&mut body, &mut seen, 2).await;
    assert_eq!(data, ["first", "second"]);
}

#[tokio::test]
async fn wss_echoes_and_publishes_between_peers() {
    let cert = TestCert::new();
    let server = start(tls_app(&cert).websocket("/ws", room())).await;

    let mut a = wss_connect(&server, &cert, "/ws").await;
    let mut b = wss_connect(&server, &cert, "/ws").await;
    wss_send(&mut a, "hi").await;
    assert_eq!(wss_next_text(&mut a).await, "echo hi");

    // A message larger than one TLS record (16 KiB) and than one read.
    let big = "x".repeat(100_000);
    wss_send(&mut a, &big).await;
    assert_eq!(wss_next_text(&mut a).await, format!("echo {big}"));

    for client in [&mut a, &mut b] {
        wss_send(client, "sub").await;
        assert_eq!(wss_next_text(client).await, "ack sub");
    }
    wss_send(&mut a, "pub:hello room").await;
    assert_eq!(wss_next_text(&mut a).await, "ack pub:hello room");
    assert_eq!(wss_next_text(&mut b).await, "hello room");
    assert_eq!(server.handle.publish("room", "from the server"), 2);
    assert_eq!(wss_next_text(&mut a).await, "from the server");
    assert_eq!(wss_next_text(&mut b).await, "from the server");

    // Many messages queued at once reach the peer whole and in order.
    for i in 0..200 {
        server.handle.publish("room", format!("burst {i}"));
    }
    for i in 0..200 {
        assert_eq!(wss_next_text(&mut b).await, format!("burst {i}"));
    }

    // A clean close from the client ends the connection on both sides.
    use futures_util::StreamExt;
    a.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(deadline, a.next()).await {
            Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => continue,
            Err(_) => panic!("the server did not finish the close"),
        }
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.handle.peer_count() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "peer not gone");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn wss_and_https_are_served_by_every_worker() {
    let cert = TestCert::new();
    let config = tls_config_with(&cert.cert_path(), &cert.key_path(), "workers = 2\n", "");
    let app = App::with_config(config)
        .websocket("/ws", room())
        .route("/hello", get(|| async { "hello over tls" }));
    let server = start(app).await;
    // Connections alternate between the workers; every one is served.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut client = wss_connect(&server, &cert, "/ws").await;
        wss_send(&mut client, "sub").await;
        assert_eq!(wss_next_text(&mut client).await, "ack sub");
        clients.push(client);
    }
    for _ in 0..4 {
        let mut http1 = https1(&server, &cert).await;
        let response = http1.send_request(request("/hello")).await.unwrap();
        assert_eq!(body_text(response).await, "hello over tls");
    }
    wss_send(&mut clients[0], "pub:across workers").await;
    assert_eq!(
        wss_next_text(&mut clients[0]).await,
        "ack pub:across workers"
    );
    for client in &mut clients[1..] {
        assert_eq!(wss_next_text(client).await, "across workers");
    }
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_without_a_handshake() {
    let cert = TestCert::new();
    let config = tls_config_with(
        &cert.cert_path(),
        &cert.key_path(),
        "workers = 1\nmax_connections = 1\n",
        "",
    );
    let server = start(App::with_config(config).websocket("/ws", room())).await;
    let mut first = wss_connect(&server, &cert, "/ws").await;
    wss_send(&mut first, "hi").await;
    assert_eq!(wss_next_text(&mut first).await, "echo hi");

    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let refused = tokio::time::timeout(PATIENCE, connector(&[&cert], &[]).connect(name, tcp))
        .await
        .expect("the server neither finished nor refused the handshake");
    assert!(refused.is_err(), "a connection past the limit was served");

    // The one within the limit goes on.
    wss_send(&mut first, "still here").await;
    assert_eq!(wss_next_text(&mut first).await, "echo still here");
}
