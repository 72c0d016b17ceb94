use crosswire::config::{Compression, Config};
use crosswire::prelude::*;

use crate::support::*;

fn echo(compression: Compression) -> App {
    let mut config = Config::default();
    config.websocket.compression = compression;
    App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    )
}

fn extensions_header(response: &str) -> Option<String> {
    response.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("sec-websocket-extensions")
            .then(|| value.trim().to_owned())
    })
}

async fn answer(server: &TestServer, offer: &str) -> String {
    let extra = format!("Sec-WebSocket-Extensions: {offer}\r\n");
    raw_http(server.addr, &upgrade_request(server.addr, "/", &extra)).await
}

#[tokio::test]
async fn the_first_acceptable_offer_is_taken_and_bad_ones_declined() {
    let server = start(echo(Compression::PerPeer)).await;
    let response = answer(
        &server,
        "permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=10; \
         client_max_window_bits=12",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert_eq!(
        extensions_header(&response).as_deref(),
        Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12")
    );

    let response = answer(&server, "permessage-deflate; server_max_window_bits").await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert_eq!(extensions_header(&response), None);
}

#[tokio::test]
async fn a_malformed_extensions_header_is_answered_400() {
    let server = start(echo(Compression::Shared)).await;
    let response = answer(&server, "permessage-deflate; =15").await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(response.contains("Sec-WebSocket-Extensions"), "{response}");
}

#[tokio::test]
async fn compression_off_declines_every_offer() {
    let server = start(echo(Compression::Off)).await;
    let response = answer(&server, "permessage-deflate").await;
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    assert_eq!(extensions_header(&response), None);
}

#[tokio::test]
async fn rsv1_without_a_negotiated_extension_closes_1002() {
    let server = start(echo(Compression::Shared)).await;
    let mut raw = raw_upgrade(server.addr, "/").await;
    tokio::io::AsyncWriteExt::write_all(
        &mut raw,
        &client_frame(0xC1, b"\xf2\x48\xcd\xc9\xc9\x07\x00"),
    )
    .await
    .unwrap();
    assert_eq!(raw_read_close(&mut raw).await, Some(1002));
}
