use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use axum::routing::get;
use crosswire::config::Workers;
use crosswire::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::*;

fn app(per_address: u32, workers: usize) -> App {
    let mut config = Config::default();
    config.server.max_connections_per_ip = per_address;
    config.server.workers = Workers::Count(NonZeroUsize::new(workers).unwrap());
    config.metrics.enabled = true;
    App::with_config(config)
        .websocket(
            "/ws",
            hooks().open(|peer: Peer| async move { peer.send("hello") }),
        )
        .route("/", get(|| async { "ok" }))
}

/// A socket from `source` (any address of the loopback network) to `server`.
async fn connect_from(source: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("a loopback source address");
    socket.connect(server).await.unwrap()
}

/// The whole answer to `request`, sent from `source`.
async fn http_from(source: [u8; 4], server: SocketAddr, request: &str) -> String {
    let mut stream = connect_from(source, server).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn assert_refused(response: &str) {
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("retry-after: 1\r\n"), "{response}");
    assert!(lower.contains("your address"), "{response}");
}

async fn one_address_cannot_take_more_than_its_share(workers: usize) {
    let server = start(app(3, workers)).await;
    let crowded = [127, 0, 0, 1];
    let other = [127, 0, 0, 2];

    // Three WebSockets from one address: the limit.
    let mut peers = Vec::new();
    for _ in 0..3 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "hello");
        peers.push(client);
    }

    // Its fourth connection, plain HTTP or an upgrade, gets 503.
    assert_refused(&http_from(crowded, server.addr, GET).await);
    let upgrade = upgrade_request(server.addr, "/ws", "");
    assert_refused(&http_from(crowded, server.addr, &upgrade).await);

    // Another address is served, over HTTP and WebSocket.
    let answer = http_from(other, server.addr, GET).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let stream = connect_from(other, server.addr).await;
    let (mut stream, _) = upgrade_stream(stream, server.addr, "/ws", "").await;
    let mut first = [0u8; 7];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(&first[2..], b"hello");

    // The refusals are counted.
    let metrics = http_from(
        other,
        server.addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        metrics
            .contains("crosswire_connections_refused_total{reason=\"max_connections_per_ip\"} 2"),
        "{metrics}"
    );

    // The address's open peers are untouched, and once one leaves the
    // address may connect again (the count drops when the server has seen
    // the close).
    send_text(&mut peers[0], "still here").await;
    drop(peers.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = http_from(crowded, server.addr, GET).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert_refused(&answer);
        assert!(tokio::time::Instant::now() < deadline, "no slot freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn with_one_worker() {
    one_address_cannot_take_more_than_its_share(1).await;
}

#[tokio::test]
async fn with_two_workers() {
    one_address_cannot_take_more_than_its_share(2).await;
}

#[tokio::test]
async fn without_a_limit_one_address_opens_many() {
    let server = start(app(0, 1)).await;
    let mut peers = Vec::new();
    for _ in 0..50 {
        let mut client = connect(&server, "/ws").await;
        assert_eq!(next_text(&mut client).await, "hello");
        peers.push(client);
    }
    let answer = raw_http(server.addr, GET).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
