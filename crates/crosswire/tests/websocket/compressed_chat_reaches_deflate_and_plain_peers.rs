use crosswire::config::{Compression, Config};
use crosswire::prelude::*;

use crate::deflate_client::DeflateClient;
use crate::support::*;

/// The seed's chat: everyone subscribes to "chat"; a message is published to
/// the others and acknowledged to the sender.
fn chat(compression: Compression) -> App {
    let mut config = Config::default();
    config.websocket.compression = compression;
    App::with_config(config).websocket(
        "/chat",
        hooks()
            .open(|peer: Peer| async move {
                peer.subscribe("chat");
            })
            .message(|peer: Peer, message: Message| async move {
                let text = message.text().into_owned();
                if text == "raw please" {
                    let _ = peer.send_uncompressed("x".repeat(200));
                    return;
                }
                peer.publish("chat", json!({ "user": peer.to_string(), "message": text }));
                peer.send(format!("sent: {text}"));
            }),
    )
}

fn long_line(n: usize) -> String {
    format!("message {n}: the quick brown fox jumps over the lazy dog, again and again")
}

#[tokio::test]
async fn shared_compression_reaches_deflate_peers_compressed_and_plain_peers_plain() {
    let server = start(chat(Compression::Shared)).await;
    let offer = "permessage-deflate; client_max_window_bits";
    let mut alice = DeflateClient::connect(server.addr, "/chat", offer).await;
    let mut bob = DeflateClient::connect(server.addr, "/chat", offer).await;
    let mut plain = connect(&server, "/chat").await;
    assert_eq!(
        alice.extensions.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    // Let every peer's `open` (and its subscribe) run.
    let mut probe = DeflateClient::connect(server.addr, "/chat", offer).await;
    probe.send_text("ready?", false).await;
    let (ack, _) = probe.next_text().await;
    assert_eq!(ack, "sent: ready?");
    for client in [&mut alice, &mut bob] {
        let (hello, _) = client.next_text().await;
        assert!(hello.contains("ready?"), "{hello}");
    }
    let _ = next_text(&mut plain).await;

    for n in 0..3 {
        let line = long_line(n);
        alice.send_text(&line, true).await;
        let (ack, ack_compressed) = alice.next_text().await;
        assert_eq!(ack, format!("sent: {line}"));
        assert!(ack_compressed, "a message over the threshold is compressed");

        let (published, compressed) = bob.next_text().await;
        assert!(compressed);
        let value: serde_json::Value = serde_json::from_str(&published).unwrap();
        assert_eq!(value["message"], line.as_str());

        let value = next_json(&mut plain).await;
        assert_eq!(value["message"], line.as_str());
    }

    // Under the threshold (64 bytes), messages go plain even to deflate peers.
    alice.send_text("hi", true).await;
    let (ack, compressed) = alice.next_text().await;
    assert_eq!(ack, "sent: hi");
    assert!(!compressed);

    // A send opted out of compression goes plain.
    alice.send_text("raw please", false).await;
    let (raw, compressed) = alice.next_text().await;
    assert_eq!(raw.len(), 200);
    assert!(!compressed);
}

#[tokio::test]
async fn per_peer_compression_keeps_a_context_across_messages() {
    let server = start(chat(Compression::PerPeer)).await;
    let mut alice = DeflateClient::connect(server.addr, "/chat", "permessage-deflate").await;
    assert_eq!(alice.extensions.as_deref(), Some("permessage-deflate"));
    let mut sizes = Vec::new();
    for _ in 0..3 {
        let line = long_line(7);
        alice.send_text(&line, true).await;
        let frame = alice.next_frame().await;
        assert!(frame.rsv1);
        sizes.push(frame.payload.len());
    }
    // The repeats refer back to the first message.
    assert!(sizes[1] < sizes[0], "{sizes:?}");
    assert!(sizes[2] < sizes[0], "{sizes:?}");
}

#[tokio::test]
async fn per_peer_messages_inflate_in_order_with_context_takeover() {
    let server = start(chat(Compression::PerPeer)).await;
    let mut alice = DeflateClient::connect(server.addr, "/chat", "permessage-deflate").await;
    for n in 0..20 {
        let line = long_line(n);
        alice.send_text(&line, n % 3 != 0).await;
        let (ack, compressed) = alice.next_text().await;
        assert_eq!(ack, format!("sent: {line}"));
        assert!(compressed);
    }
}
