//! Where an idle WebSocket connection's bytes go, pinned as upper bounds,
//! and the task an open event stream keeps.
//!
//! Each part a connection keeps while it waits for its client is measured
//! with `size_of` (its inline size) plus what it holds on the heap, so that a
//! change that makes an idle connection bigger fails here, with the part
//! named, before it shows in the `conns` benchmark. The table in
//! BENCHMARKS.md ("Where an idle connection's bytes go") is these figures.

use std::mem::size_of;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;

use super::test_sockets::loopback_pair;
use super::tracker::Tracker;
use super::upgrade::connection_task;
use crate::config::{MetricsConfig, OverflowPolicy, SseConfig, WebSocketConfig};
use crate::shared::Shared;
use crate::ws::footprint::{ReaderWake, parked_size, reader_size, writer_future_size};
use crate::ws::{
    DynHandler, Outbox, Peer, Transport, UpgradeRequest, dyn_handler, hooks, serve_connection,
};

/// What a tokio task costs around its future: the header (state, queue
/// link, vtable, owner id: 32 bytes), the scheduler handle and task id
/// (16), the stage's tag (8 at most) and the trailer (list links, join
/// waker, hooks: 48), the whole cell aligned to 128 bytes on x86-64 and
/// aarch64 (tokio 1.54, `runtime/task/core.rs`).
fn tokio_cell(future: usize) -> usize {
    (32 + 16 + future + 8 + 48).next_multiple_of(128)
}

/// The request of the `conns` benchmark's client, as the peer keeps it.
fn bench_request() -> UpgradeRequest {
    let request = http::Request::get("/ws/chat")
        .header("host", "127.0.0.1:4000")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    let remote: SocketAddr = "127.0.0.2:50000".parse().expect("addr");
    UpgradeRequest::new(
        &parts,
        remote,
        Arc::from("/ws/chat"),
        Vec::new(),
        Vec::new(),
        None,
    )
}

fn parts() -> (Arc<Shared>, Arc<Outbox>, Peer, Arc<dyn DynHandler>) {
    let config = WebSocketConfig::default();
    let shared = Arc::new(Shared::new(
        config.clone(),
        SseConfig::default(),
        1,
        None,
        64 << 20,
        1001,
        &MetricsConfig::default(),
    ));
    let outbox = Arc::new(
        Outbox::new(config.send_queue_bytes, OverflowPolicy::Close)
            .with_budget(Arc::clone(&shared.queue_budget), 0),
    );
    let peer = Peer::new(
        Arc::clone(&shared),
        Arc::clone(&outbox),
        bench_request(),
        None,
        None,
    );
    let handler = dyn_handler(hooks());
    (shared, outbox, peer, handler)
}

/// The bounds below are for optimized builds (what the `conns` benchmark
/// measures); an unoptimized build keeps more locals apart, so its futures
/// get the second figure.
fn bound(release: usize, debug: usize) -> usize {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

#[tokio::test]
async fn an_idle_connection_stays_within_its_byte_budget() {
    let (_shared, outbox, peer, handler) = parts();
    peer.subscribe("chat");

    // The connection's one task: the reader and the writer, the hooks'
    // dispatch and the closing handshake, after the upgrade.
    let mut request = http::Request::new(());
    let on_upgrade = hyper::upgrade::on(&mut request);
    let guard = Arc::new(Tracker::new(1)).guard(0);
    let task = connection_task(guard, on_upgrade, peer.clone(), Arc::clone(&handler));
    let connection_future = std::mem::size_of_val(&task);
    drop(task);
    assert!(
        connection_future <= bound(408, 2048),
        "connection future: {connection_future} bytes"
    );
    assert!(
        tokio_cell(connection_future) <= bound(512, 2176),
        "connection task: {} bytes",
        tokio_cell(connection_future)
    );
    // The same without hyper in front (the direct upgrade path).
    let (direct_socket, _direct_client) = loopback_pair().await;
    let direct = serve_connection(
        Transport::Tcp(direct_socket),
        bytes::Bytes::new(),
        peer.clone(),
        Arc::clone(&handler),
        Arc::new(Tracker::new(1)).guard(0),
    );
    let direct_future = std::mem::size_of_val(&direct);
    drop(direct);
    assert!(
        tokio_cell(direct_future) <= bound(512, 2176),
        "direct connection task: {} bytes",
        tokio_cell(direct_future)
    );
    // The span and the connection's guard live in the reader's waker block.
    assert!(
        size_of::<ReaderWake>() <= 72,
        "reader waker: {} bytes",
        size_of::<ReaderWake>()
    );

    // What a quiet connection keeps in place of its task once parked
    // (`ws/park.rs`): its socket, the reader's state, the peer, the handler
    // and the waker block's handle, behind one waker.
    assert!(
        parked_size() <= 224,
        "parked connection: {} bytes",
        parked_size()
    );

    // Parts of that future.
    assert!(
        reader_size() <= 120,
        "reader state: {} bytes",
        reader_size()
    );
    let (server, _client) = loopback_pair().await;
    let writer_future = writer_future_size(Arc::clone(&outbox), Transport::Tcp(server));
    assert!(
        writer_future <= bound(88, 512),
        "writer future: {writer_future} bytes"
    );

    // What the connection keeps on the heap besides its task. Each `Arc`
    // adds its two counts (16 bytes).
    let outbox_size = size_of::<Outbox>();
    assert!(outbox_size <= 264, "outbox: {outbox_size} bytes");
    let (peer_inner, topic_list) = peer.footprint();
    assert!(peer_inner <= 136, "peer: {peer_inner} bytes");
    // One topic is kept inline.
    assert_eq!(topic_list, 0, "topic list: {topic_list} bytes");
    let (request_inner, request_heap) = peer.request().footprint();
    assert!(request_inner <= 152, "request: {request_inner} bytes");
    assert!(
        request_heap <= 160,
        "request url and headers: {request_heap} bytes"
    );
    assert!(size_of::<TcpStream>() <= 40);
    assert!(size_of::<tracing::Span>() <= 40);
}

#[tokio::test]
async fn an_open_event_streams_task_stays_small() {
    // An event stream is answered on the direct path, then written by a
    // task of its own for as long as it is open: that task (its span
    // included) is what it costs besides the stream's own state and the
    // handler's. The connection's first task, sized for every state before
    // (the first read, routing, an upgrade, hyper), ends when it starts.
    let config = crate::config::Config::default();
    let routes = super::service::Routes::new(
        super::priority::Tiers::build(Vec::new()).expect("no routes"),
        axum::Router::new(),
        super::priority::Tiers::build(Vec::new()).expect("no routes"),
        &config,
        None,
        None,
    )
    .expect("routes");
    let routes = Arc::new(routes);
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let remote: SocketAddr = "127.0.0.2:50000".parse().expect("addr");

    let (server, _client) = loopback_pair().await;
    let guard = Arc::clone(&routes.tracker).guard(0);
    let first = super::accept::http_connection(
        server,
        remote,
        &routes,
        &stop,
        std::time::Duration::from_secs(10),
        guard,
    );
    let first_task = std::mem::size_of_val(&first);
    assert!(
        first_task <= bound(1176, 4096),
        "HTTP connection's first task: {first_task} bytes"
    );

    let (server, _client) = loopback_pair().await;
    let slot = super::tracker::ConnectionSlot::new(Arc::clone(&routes.tracker).guard(0));
    let next = super::accept::HyperNext::new(
        Arc::clone(&routes),
        remote,
        slot,
        stop.clone(),
        std::time::Duration::from_secs(10),
    );
    let reply = super::direct_response::Reply::new(
        axum::response::Response::new(axum::body::Body::empty()),
        false,
        bytes::Bytes::new(),
        config.server.max_header_bytes,
        config.sse.send_timeout,
    );
    let responding =
        tracing::Instrument::instrument(reply.send(server, Box::new(next)), tracing::Span::none());
    let future = std::mem::size_of_val(&responding);
    assert!(
        future <= bound(480, 4096),
        "event stream's task future: {future} bytes"
    );
    assert!(
        tokio_cell(future) <= bound(640, 4224),
        "event stream's task: {} bytes",
        tokio_cell(future)
    );
}
