//! Once both close frames have crossed, the server closes the TCP
//! connection first (RFC 6455 §7.1.1), whoever started the close: a client
//! waits for exactly that, so a server that waited for the client's hang-up
//! instead would hold every closed connection open for its close timeout.
//! After a protocol error, where the client may still be sending, the
//! server reads and drops what comes until the client hangs up, so its
//! close frame is not lost to a reset. A client that never answers the
//! server's close is hung up on once the close timeout has passed, once.

use std::time::Duration;

use crosswire::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// Far longer than any wait below: a hang-up seen in time is not the
/// close timeout's.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// Well under [`CLOSE_TIMEOUT`].
const PROMPTLY: Duration = Duration::from_secs(2);

async fn server() -> TestServer {
    let mut config = Config::default();
    config.websocket.close_timeout = CLOSE_TIMEOUT;
    config.server.shutdown_timeout = CLOSE_TIMEOUT;
    start(echo_app(config)).await
}

fn close_frame(code: u16) -> Vec<u8> {
    client_frame(0x88, &code.to_be_bytes())
}

/// Reads until the server ends the connection, which must happen within
/// `within`; what arrives meanwhile must be nothing.
async fn hung_up_within(stream: &mut TcpStream, within: Duration) {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(within, stream.read(&mut buf))
        .await
        .expect("the server closes the connection");
    match read {
        Ok(n) => assert_eq!(n, 0, "nothing follows the close frame"),
        Err(error) => panic!("the connection was reset, not closed: {error}"),
    }
}

#[tokio::test]
async fn after_the_clients_close_the_server_hangs_up_at_once() {
    let server = server().await;
    let mut stream = raw_upgrade(server.addr, "/").await;
    stream.write_all(&close_frame(1000)).await.unwrap();
    assert_eq!(raw_read_close(&mut stream).await, Some(1000));
    hung_up_within(&mut stream, PROMPTLY).await;
    // Gone for the server too, though the client has not hung up: a
    // shutdown has no connection left to wait for.
    stops_within(server, PROMPTLY).await;
    drop(stream);
}

#[tokio::test]
async fn after_the_servers_close_is_answered_the_server_hangs_up_at_once() {
    let server = server().await;
    let mut stream = raw_upgrade(server.addr, "/").await;
    wait_for(PATIENCE, || server.handle.peers().len() == 1).await;
    let peer = server.handle.peers().pop().unwrap();
    peer.close(4000, "bye").unwrap();
    assert_eq!(raw_read_close(&mut stream).await, Some(4000));
    stream.write_all(&close_frame(4000)).await.unwrap();
    hung_up_within(&mut stream, PROMPTLY).await;
    stops_within(server, PROMPTLY).await;
    drop(stream);
}

#[tokio::test]
async fn after_a_protocol_error_the_close_frame_is_not_lost_to_a_reset() {
    let server = server().await;
    let mut stream = raw_upgrade(server.addr, "/").await;
    // A text frame with a reserved bit set and no extension to claim it,
    // and more frames behind it in the same write: they are in the
    // server's socket when it fails the connection. Closing a socket with
    // unread data resets it, which would throw away the close frame.
    let mut bytes = client_frame(0xc1, b"bad");
    for _ in 0..64 {
        bytes.extend(client_frame(0x81, b"sent after the bad frame"));
    }
    stream.write_all(&bytes).await.unwrap();
    assert_eq!(raw_read_close(&mut stream).await, Some(1002));
    hung_up_within(&mut stream, PROMPTLY).await;
    // The server serves others all along.
    assert_serves(&server).await;
    // It holds the connection, dropping what arrives, until the client
    // hangs up: a shutdown waits for it.
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stopping.is_finished(), "the server waits for the client");
    stream
        .write_all(&client_frame(0x81, b"still talking"))
        .await
        .unwrap();
    drop(stream);
    tokio::time::timeout(PROMPTLY, stopping)
        .await
        .expect("the server stops once the client hung up")
        .unwrap();
}

#[tokio::test]
async fn a_servers_close_left_unanswered_ends_after_one_close_timeout() {
    const SHORT: Duration = Duration::from_secs(2);
    let mut config = Config::default();
    config.websocket.close_timeout = SHORT;
    config.server.shutdown_timeout = CLOSE_TIMEOUT;
    let server = start(echo_app(config)).await;
    let mut stream = raw_upgrade(server.addr, "/").await;
    wait_for(PATIENCE, || server.handle.peers().len() == 1).await;
    let peer = server.handle.peers().pop().unwrap();
    peer.close(4000, "bye").unwrap();
    assert_eq!(raw_read_close(&mut stream).await, Some(4000));
    let closed_at = tokio::time::Instant::now();
    // The client never answers and never hangs up. The server waits one
    // close timeout for the answer, then ends the connection, without
    // waiting a second one for the client to hang up first; a shutdown
    // waits for exactly that end.
    stops_within(server, SHORT + SHORT * 3 / 4).await;
    assert!(
        closed_at.elapsed() >= SHORT / 2,
        "the client had the close timeout to answer"
    );
    drop(stream);
}

/// Shuts `server` down, which waits for every connection to end.
async fn stops_within(server: TestServer, within: Duration) {
    tokio::time::timeout(within, server.shutdown())
        .await
        .expect("no connection is left open");
}

async fn wait_for(within: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "not in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
