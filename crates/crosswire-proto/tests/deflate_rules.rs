//! The framing rules permessage-deflate adds (RFC 7692, section 6), and the
//! message limit applied to inflated size.

mod common;

use common::{FIN, client_frame, client_header, decode_chunks, split_at_points};
use crosswire_proto::deflate::{Deflater, InflateParams};
use crosswire_proto::{Decoder, DecoderConfig, Event, ProtocolError};

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const PING: u8 = 0x9;
const RSV1: u8 = 0x40;
const MASK: [u8; 4] = [1, 2, 3, 4];

fn deflate_config(limit: usize) -> DecoderConfig {
    DecoderConfig::new(limit, limit).with_inflate(InflateParams {
        window_bits: 15,
        no_context_takeover: true,
    })
}

fn compressed(data: &[u8]) -> Vec<u8> {
    Deflater::new(15, true).compress(data)
}

#[test]
fn rsv1_marks_a_compressed_message_only_when_deflate_was_negotiated() {
    let frame = client_frame(FIN | RSV1 | TEXT, &compressed(b"Hello"), MASK);
    let (events, error) = decode_chunks(deflate_config(1 << 20), [&frame[..]]);
    assert_eq!(error, None);
    assert_eq!(events, [Event::Text("Hello".into())]);

    let (_, error) = decode_chunks(DecoderConfig::default(), [&frame[..]]);
    assert_eq!(error.map(|e| e.close_code()), Some(1002));
}

#[test]
fn rsv1_on_a_continuation_frame_is_a_protocol_error() {
    let data = compressed(b"Hello, fragmented world");
    let mut stream = client_frame(RSV1 | TEXT, &data[..4], MASK);
    stream.extend(client_frame(FIN | RSV1 | CONTINUATION, &data[4..], MASK));
    let (events, error) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert!(events.is_empty());
    assert_eq!(error, Some(ProtocolError::ReservedBits));
    assert_eq!(ProtocolError::ReservedBits.close_code(), 1002);
}

#[test]
fn rsv1_on_a_control_frame_is_a_protocol_error() {
    let stream = client_frame(FIN | RSV1 | PING, b"", MASK);
    let (_, error) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert_eq!(error, Some(ProtocolError::ReservedBits));
}

#[test]
fn uncompressed_messages_still_pass_when_deflate_was_negotiated() {
    let stream = client_frame(FIN | BINARY, b"\x00\x01", MASK);
    let (events, error) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert_eq!(error, None);
    assert_eq!(events, [Event::Binary(vec![0, 1].into())]);
}

#[test]
fn a_deflate_bomb_fails_with_1009_without_buffering_the_bomb() {
    // Ten megabytes of zeros compress to about ten kilobytes.
    let bomb = compressed(&vec![0u8; 10 << 20]);
    assert!(bomb.len() < 16 << 10, "{}", bomb.len());
    let limit = 1 << 20;
    let mut decoder = Decoder::new(deflate_config(limit));
    let mut buf = bytes::BytesMut::from(&client_frame(FIN | RSV1 | BINARY, &bomb, MASK)[..]);
    let error = decoder.decode(&mut buf).expect_err("over the limit");
    assert_eq!(error, ProtocolError::MessageTooLarge { limit });
    assert_eq!(error.close_code(), 1009);
}

#[test]
fn a_bomb_sent_in_small_fragments_fails_as_early() {
    let bomb = compressed(&vec![b'a'; 4 << 20]);
    let limit = 64 << 10;
    let mut stream = Vec::new();
    let chunks: Vec<&[u8]> = bomb.chunks(100).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut first = if i == 0 { RSV1 | TEXT } else { CONTINUATION };
        if i == chunks.len() - 1 {
            first |= FIN;
        }
        stream.extend(client_frame(first, chunk, MASK));
    }
    let reads = (1..stream.len() / 512).map(|i| i * 512).collect();
    let (events, error) = decode_chunks(deflate_config(limit), split_at_points(&stream, reads));
    assert!(events.is_empty());
    assert_eq!(error, Some(ProtocolError::MessageTooLarge { limit }));
}

#[test]
fn corrupt_deflate_data_closes_with_1007() {
    let stream = client_frame(FIN | RSV1 | BINARY, &[0xff; 8], MASK);
    let (_, error) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert_eq!(error, Some(ProtocolError::InvalidCompressedData));
    assert_eq!(error.map(|e| e.close_code()), Some(1007));
}

#[test]
fn invalid_utf8_inside_a_compressed_text_message_closes_with_1007() {
    let stream = client_frame(FIN | RSV1 | TEXT, &compressed(b"ok \xff"), MASK);
    let (_, error) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert_eq!(error, Some(ProtocolError::InvalidUtf8));
}

#[test]
fn a_huge_declared_compressed_frame_is_refused_before_its_payload() {
    let header = client_header(FIN | RSV1 | BINARY, 8 << 20, MASK);
    let (_, error) = decode_chunks(deflate_config(1 << 20), [&header[..]]);
    assert!(matches!(error, Some(ProtocolError::FrameTooLarge { .. })));
}

#[test]
fn the_error_does_not_depend_on_where_the_payload_is_split() {
    // Invalid UTF-8 that inflates fine, then bytes that are not deflate data.
    let mut payload = compressed(b"ok \xff and more");
    payload.extend_from_slice(&[0xff; 8]);
    let stream = client_frame(FIN | RSV1 | TEXT, &payload, MASK);
    let (_, whole) = decode_chunks(deflate_config(1 << 20), [&stream[..]]);
    assert_eq!(whole, Some(ProtocolError::InvalidUtf8));
    for point in 0..stream.len() {
        let (_, split) = decode_chunks(
            deflate_config(1 << 20),
            split_at_points(&stream, vec![point]),
        );
        assert_eq!(split, whole, "split at {point}");
    }
}

#[test]
fn output_past_the_limit_before_a_bad_code_is_1009_however_split() {
    // A fixed-Huffman block: one literal, then a code that is not valid.
    let payload = [0xaa, 0x87, 0x7d, 0x04, 0x02];
    let stream = client_frame(FIN | RSV1 | BINARY, &payload, MASK);
    let config = DecoderConfig::new(64, 0).with_inflate(InflateParams {
        window_bits: 15,
        no_context_takeover: false,
    });
    let (_, whole) = decode_chunks(config, [&stream[..]]);
    assert_eq!(whole, Some(ProtocolError::MessageTooLarge { limit: 0 }));
    for point in 0..stream.len() {
        let (_, split) = decode_chunks(config, split_at_points(&stream, vec![point]));
        assert_eq!(split, whole, "split at {point}");
    }
}
