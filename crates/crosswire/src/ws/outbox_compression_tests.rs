//! Permessage-deflate pushes of the send queue: the compressed form is
//! shared, built once, and taken only by peers that negotiated it.

use crosswire_proto::OpCode;
use crosswire_proto::deflate::{Inflater, Policy, negotiate};

use super::*;

fn peer_deflate(offer: &str, policy: Policy, threshold: usize) -> PeerDeflate {
    let agreement = negotiate(offer, policy)
        .expect("valid offer")
        .expect("accepted offer");
    PeerDeflate::new(agreement, threshold)
}

fn shared_outbox() -> Outbox {
    let policy = Policy::default()
        .server_no_context_takeover(true)
        .client_no_context_takeover(true);
    Outbox::new(1 << 20, OverflowPolicy::Close).with_deflate(Some(peer_deflate(
        "permessage-deflate",
        policy,
        64,
    )))
}

/// Everything queued, as the writer would put it on the wire.
fn queued(outbox: &Outbox) -> Vec<u8> {
    let state = outbox.lock();
    let mut out = Vec::new();
    for chunk in &state.chunks {
        chunk.append_to(&mut out);
    }
    out.extend_from_slice(&state.tail);
    out
}

/// The payloads of the frames in `wire` (all short enough for a
/// 7- or 16-bit length), with their RSV1 bit.
fn frames(mut wire: &[u8]) -> Vec<(bool, Vec<u8>)> {
    // 7- and 16-bit lengths only: the tests send less than 64 KiB.
    let mut out = Vec::new();
    while let [b0, b1, rest @ ..] = wire {
        let (len, rest) = match b1 & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([rest[0], rest[1]])),
                &rest[2..],
            ),
            len => (usize::from(len), rest),
        };
        out.push((b0 & 0x40 != 0, rest[..len].to_vec()));
        wire = &rest[len..];
    }
    out
}

fn inflate(inflater: &mut Inflater, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    inflater.inflate(data, &mut out, 1 << 20).expect("valid");
    inflater.finish(&mut out, 1 << 20).expect("valid");
    out
}

/// Pseudo-random bytes (xorshift), which deflate cannot shrink.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Hex digits: compressible about twofold, so a long run stays
/// large enough to be queued by reference once compressed.
fn hex(len: usize) -> Bytes {
    Bytes::from(
        noise(len)
            .iter()
            .map(|b| b"0123456789abcdef"[usize::from(b & 15)])
            .collect::<Vec<_>>(),
    )
}

fn json(len: usize) -> Bytes {
    let unit = b"{\"user\":\"someone\",\"message\":\"hello\"}";
    Bytes::from(unit.iter().copied().cycle().take(len).collect::<Vec<_>>())
}

#[test]
fn a_publish_is_compressed_once_and_shared_while_plain_peers_share_the_plain_frame() {
    let (a, b) = (shared_outbox(), shared_outbox());
    let plain = Outbox::new(1 << 20, OverflowPolicy::Close);
    let frame = OutFrame::new(OpCode::Text, hex(8000));
    for outbox in [&a, &b, &plain] {
        assert_eq!(outbox.push(&frame), Pushed::Queued);
    }
    let shared_payload = |outbox: &Outbox| match &outbox.lock().chunks[0] {
        Chunk::Shared(wire) => (wire.header()[0], wire.payload().as_ptr()),
        Chunk::Inline(_) | Chunk::Framed(..) => panic!("a large frame is queued by reference"),
    };
    let (a_first, a_ptr) = shared_payload(&a);
    let (b_first, b_ptr) = shared_payload(&b);
    assert_eq!(b_first, a_first);
    let (plain_first, plain_ptr) = shared_payload(&plain);
    assert_eq!(a_first, 0xC1, "FIN, RSV1, text");
    assert_eq!(a_ptr, b_ptr, "compressed once, shared");
    assert_eq!(plain_first, 0x81);
    assert_eq!(plain_ptr, frame.payload().as_ptr());
    let (rsv1, data) = frames(&queued(&a)).remove(0);
    assert!(rsv1);
    assert_eq!(
        inflate(&mut Inflater::new(15, true), &data),
        frame.payload()
    );
}

#[test]
fn short_and_opted_out_messages_go_plain() {
    let outbox = shared_outbox();
    outbox.push(&OutFrame::new(OpCode::Text, json(63)));
    outbox.push(&OutFrame::new(OpCode::Text, json(500)).uncompressed());
    outbox.push(&OutFrame::new(OpCode::Text, json(500)));
    outbox.push(&OutFrame::new(OpCode::Ping, json(100)));
    let rsv1: Vec<bool> = frames(&queued(&outbox)).iter().map(|f| f.0).collect();
    assert_eq!(rsv1, [false, false, true, false]);
}

#[test]
fn incompressible_messages_go_plain() {
    let outbox = shared_outbox();
    let noise = noise(400);
    outbox.push(&OutFrame::new(OpCode::Binary, Bytes::from(noise.clone())));
    assert_eq!(frames(&queued(&outbox)), [(false, noise)]);
}

#[test]
fn a_small_client_window_gets_longer_messages_plain() {
    let policy = Policy::default().server_no_context_takeover(true);
    let outbox = Outbox::new(1 << 20, OverflowPolicy::Close).with_deflate(Some(peer_deflate(
        "permessage-deflate; server_max_window_bits=8",
        policy,
        64,
    )));
    outbox.push(&OutFrame::new(OpCode::Text, json(256)));
    outbox.push(&OutFrame::new(OpCode::Text, json(257)));
    let rsv1: Vec<bool> = frames(&queued(&outbox)).iter().map(|f| f.0).collect();
    assert_eq!(rsv1, [true, false]);
}

#[test]
fn a_per_peer_context_carries_over_between_messages() {
    let outbox = Outbox::new(1 << 20, OverflowPolicy::Close).with_deflate(Some(peer_deflate(
        "permessage-deflate",
        Policy::default(),
        64,
    )));
    assert!(
        outbox.lock().deflater.is_none(),
        "no state before compressing"
    );
    let message = json(300);
    outbox.push(&OutFrame::new(OpCode::Text, message.clone()));
    outbox.push(&OutFrame::new(OpCode::Text, message.clone()));
    assert!(outbox.lock().deflater.is_some());
    let sent = frames(&queued(&outbox));
    assert!(
        sent[1].1.len() < sent[0].1.len(),
        "the second refers to the first"
    );
    let mut inflater = Inflater::new(15, false);
    for (rsv1, data) in sent {
        assert!(rsv1);
        assert_eq!(inflate(&mut inflater, &data), message);
    }
}
