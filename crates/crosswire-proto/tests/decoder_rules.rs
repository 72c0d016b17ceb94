//! One test per decoding rule of RFC 6455 that a server must enforce.

mod common;

use bytes::BytesMut;
use common::{FIN, client_frame, client_header, decode_chunks, header, split_at_points};
use crosswire_proto::{CloseFrame, Decoder, DecoderConfig, Event, ProtocolError};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn decode(stream: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
    decode_chunks(DecoderConfig::default(), [stream])
}

fn decode_with(config: DecoderConfig, stream: &[u8]) -> (Vec<Event>, Option<ProtocolError>) {
    decode_chunks(config, [stream])
}

fn error_of(stream: &[u8]) -> ProtocolError {
    decode(stream).1.expect("the stream breaks a rule")
}

fn frames(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

#[test]
fn rfc_masked_hello_is_decoded() {
    let stream = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(decode(&stream), (vec![Event::Text("Hello".into())], None));
}

#[test]
fn binary_message_may_hold_any_bytes() {
    let stream = client_frame(FIN | BINARY, &[0xff, 0x00, 0xed, 0xa0], MASK);
    let expected = Event::Binary(vec![0xff, 0x00, 0xed, 0xa0].into());
    assert_eq!(decode(&stream), (vec![expected], None));
}

#[test]
fn empty_messages_are_decoded() {
    let stream = frames(&[
        client_frame(FIN | TEXT, b"", MASK),
        client_frame(BINARY, b"", MASK),
        client_frame(FIN | CONTINUATION, b"", MASK),
    ]);
    let expected = vec![Event::Text("".into()), Event::Binary("".into())];
    assert_eq!(decode(&stream), (expected, None));
}

#[test]
fn fragments_are_assembled_into_one_message() {
    let stream = frames(&[
        client_frame(TEXT, b"Hel", MASK),
        client_frame(CONTINUATION, b"lo, ", [1, 2, 3, 4]),
        client_frame(FIN | CONTINUATION, b"world", [9, 8, 7, 6]),
    ]);
    assert_eq!(
        decode(&stream),
        (vec![Event::Text("Hello, world".into())], None)
    );
}

#[test]
fn control_frames_may_interleave_a_fragmented_message() {
    let stream = frames(&[
        client_frame(BINARY, b"ab", MASK),
        client_frame(FIN | PING, b"ping", MASK),
        client_frame(CONTINUATION, b"cd", MASK),
        client_frame(FIN | PONG, b"pong", MASK),
        client_frame(FIN | CONTINUATION, b"ef", MASK),
    ]);
    let expected = vec![
        Event::Ping("ping".into()),
        Event::Pong("pong".into()),
        Event::Binary("abcdef".into()),
    ];
    assert_eq!(decode(&stream), (expected, None));
}

#[test]
fn several_events_are_drained_from_one_buffer() {
    let stream = frames(&[
        client_frame(FIN | PING, b"", MASK),
        client_frame(FIN | TEXT, b"a", MASK),
        client_frame(FIN | BINARY, b"b", MASK),
    ]);
    let mut buf = BytesMut::from(&stream[..]);
    let mut decoder = Decoder::new(DecoderConfig::default());
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Event::Ping("".into()))));
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Event::Text("a".into()))));
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(Event::Binary("b".into())))
    );
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn unmasked_frame_is_rejected() {
    let mut stream = header(FIN | TEXT, 5);
    stream.extend_from_slice(b"Hello");
    let error = error_of(&stream);
    assert_eq!(error, ProtocolError::UnmaskedFrame);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn reserved_bits_are_rejected() {
    for rsv in [0x40, 0x20, 0x10] {
        let error = error_of(&client_frame(FIN | rsv | TEXT, b"x", MASK));
        assert_eq!(error, ProtocolError::ReservedBits, "rsv {rsv:#x}");
        assert_eq!(error.close_code(), 1002);
    }
}

#[test]
fn reserved_bits_are_rejected_on_control_frames() {
    let error = error_of(&client_frame(FIN | 0x40 | PING, b"", MASK));
    assert_eq!(error, ProtocolError::ReservedBits);
}

#[test]
fn unknown_opcodes_are_rejected() {
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        let error = error_of(&client_frame(FIN | opcode, b"", MASK));
        assert_eq!(error, ProtocolError::UnknownOpcode(opcode));
        assert_eq!(error.close_code(), 1002);
    }
}

#[test]
fn fragmented_control_frame_is_rejected() {
    for opcode in [PING, PONG, CLOSE] {
        let error = error_of(&client_frame(opcode, b"", MASK));
        assert_eq!(error, ProtocolError::FragmentedControlFrame);
        assert_eq!(error.close_code(), 1002);
    }
}

#[test]
fn control_frame_over_125_bytes_is_rejected() {
    let error = error_of(&client_frame(FIN | PING, &[0; 126], MASK));
    assert_eq!(error, ProtocolError::ControlFrameTooLong);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn control_frame_of_125_bytes_is_accepted() {
    let (events, error) = decode(&client_frame(FIN | PING, &[7; 125], MASK));
    assert_eq!(error, None);
    assert_eq!(events, [Event::Ping(vec![7; 125].into())]);
}

#[test]
fn continuation_without_a_message_is_rejected() {
    let error = error_of(&client_frame(FIN | CONTINUATION, b"x", MASK));
    assert_eq!(error, ProtocolError::UnexpectedContinuation);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn continuation_after_a_completed_message_is_rejected() {
    let stream = frames(&[
        client_frame(FIN | TEXT, b"done", MASK),
        client_frame(FIN | CONTINUATION, b"more", MASK),
    ]);
    assert_eq!(
        decode(&stream),
        (
            vec![Event::Text("done".into())],
            Some(ProtocolError::UnexpectedContinuation)
        )
    );
}

#[test]
fn new_message_inside_a_fragmented_one_is_rejected() {
    let stream = frames(&[
        client_frame(TEXT, b"first", MASK),
        client_frame(FIN | BINARY, b"second", MASK),
    ]);
    let error = error_of(&stream);
    assert_eq!(error, ProtocolError::ExpectedContinuation);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn oversized_frame_is_rejected_from_its_header_alone() {
    let config = DecoderConfig::new(100, 1000);
    let stream = client_header(FIN | BINARY, 101, MASK);
    // No payload byte has been sent yet.
    let error = decode_with(config, &stream).1.expect("frame too large");
    assert_eq!(
        error,
        ProtocolError::FrameTooLarge {
            size: 101,
            limit: 100
        }
    );
    assert_eq!(error.close_code(), 1009);
}

#[test]
fn frame_at_the_size_limit_is_accepted() {
    let config = DecoderConfig::new(100, 100);
    let (events, error) = decode_with(config, &client_frame(FIN | BINARY, &[1; 100], MASK));
    assert_eq!(error, None);
    assert_eq!(events.len(), 1);
}

#[test]
fn oversized_message_is_rejected_when_its_declared_lengths_pass_the_limit() {
    let config = DecoderConfig::new(100, 150);
    let mut stream = client_frame(BINARY, &[1; 100], MASK);
    // Only the header of the second fragment: 100 + 51 > 150.
    stream.extend_from_slice(&client_header(FIN | CONTINUATION, 51, MASK));
    let error = decode_with(config, &stream).1.expect("message too large");
    assert_eq!(error, ProtocolError::MessageTooLarge { limit: 150 });
    assert_eq!(error.close_code(), 1009);
}

#[test]
fn length_with_most_significant_bit_is_rejected() {
    let mut stream = vec![FIN | BINARY, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
    stream.extend_from_slice(&MASK);
    let error = error_of(&stream);
    assert_eq!(error, ProtocolError::InvalidLength);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn non_minimal_length_encoding_is_accepted() {
    let mut stream = vec![FIN | BINARY, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 2];
    stream.extend_from_slice(&MASK);
    stream.extend_from_slice(&[b'h' ^ MASK[0], b'i' ^ MASK[1]]);
    assert_eq!(decode(&stream), (vec![Event::Binary("hi".into())], None));
}

#[test]
fn invalid_utf8_in_text_is_rejected() {
    let error = error_of(&client_frame(FIN | TEXT, b"ok\xff", MASK));
    assert_eq!(error, ProtocolError::InvalidUtf8);
    assert_eq!(error.close_code(), 1007);
}

#[test]
fn invalid_utf8_is_reported_before_the_rest_of_the_frame_arrives() {
    let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
    let stream = client_frame(FIN | TEXT, payload, MASK);
    // Header (6 bytes) and the payload up to and including the 0xA0 byte.
    let partial = &stream[..6 + 13];
    let error = decode(partial).1;
    assert_eq!(error, Some(ProtocolError::InvalidUtf8));
}

#[test]
fn invalid_utf8_in_an_early_fragment_is_reported_before_the_message_ends() {
    let stream = frames(&[
        client_frame(TEXT, b"fine", MASK),
        client_frame(CONTINUATION, b"\xf4\x90\x80\x80", MASK),
    ]);
    assert_eq!(decode(&stream).1, Some(ProtocolError::InvalidUtf8));
}

#[test]
fn character_split_across_fragments_is_valid() {
    let stream = frames(&[
        client_frame(TEXT, b"\xe2\x82", MASK),
        client_frame(FIN | CONTINUATION, b"\xac", MASK),
    ]);
    assert_eq!(decode(&stream), (vec![Event::Text("€".into())], None));
}

#[test]
fn text_ending_inside_a_character_is_rejected() {
    let stream = frames(&[
        client_frame(TEXT, b"ok", MASK),
        client_frame(FIN | CONTINUATION, b"\xe2\x82", MASK),
    ]);
    let error = error_of(&stream);
    assert_eq!(error, ProtocolError::InvalidUtf8);
    assert_eq!(error.close_code(), 1007);
}

#[test]
fn single_frame_text_ending_inside_a_character_is_rejected() {
    assert_eq!(
        error_of(&client_frame(FIN | TEXT, b"\xe2\x82", MASK)),
        ProtocolError::InvalidUtf8
    );
}

#[test]
fn empty_close_gives_close_without_frame() {
    let (events, error) = decode(&client_frame(FIN | CLOSE, b"", MASK));
    assert_eq!(error, None);
    assert_eq!(events, [Event::Close(None)]);
}

#[test]
fn close_with_code_and_reason_is_decoded() {
    let (events, error) = decode(&client_frame(FIN | CLOSE, b"\x03\xe8bye", MASK));
    assert_eq!(error, None);
    assert_eq!(events, [Event::Close(Some(CloseFrame::new(1000, "bye")))]);
}

#[test]
fn close_with_one_byte_payload_is_rejected() {
    let error = error_of(&client_frame(FIN | CLOSE, b"\x03", MASK));
    assert_eq!(error, ProtocolError::InvalidClosePayload);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn close_with_a_code_not_allowed_on_the_wire_is_rejected() {
    for code in [
        0u16,
        999,
        1004,
        1005,
        1006,
        1015,
        1016,
        2999,
        5000,
        u16::MAX,
    ] {
        let error = error_of(&client_frame(FIN | CLOSE, &code.to_be_bytes(), MASK));
        assert_eq!(error, ProtocolError::InvalidCloseCode(code));
        assert_eq!(error.close_code(), 1002);
    }
}

#[test]
fn close_with_invalid_utf8_reason_is_rejected_as_protocol_error() {
    let error = error_of(&client_frame(FIN | CLOSE, b"\x03\xe8\xed\xa0\x80", MASK));
    assert_eq!(error, ProtocolError::InvalidCloseReason);
    assert_eq!(error.close_code(), 1002);
}

#[test]
fn bytes_after_close_are_left_alone() {
    let mut stream = client_frame(FIN | CLOSE, b"", MASK);
    stream.extend_from_slice(b"trailing garbage");
    let mut buf = BytesMut::from(&stream[..]);
    let mut decoder = Decoder::new(DecoderConfig::default());
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Event::Close(None))));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(&buf[..], b"trailing garbage");
}

#[test]
fn error_is_repeated_after_it_is_reported() {
    let mut buf = BytesMut::from(&header(FIN | TEXT, 0)[..]);
    let mut decoder = Decoder::new(DecoderConfig::default());
    assert_eq!(decoder.decode(&mut buf), Err(ProtocolError::UnmaskedFrame));
    buf.extend_from_slice(&client_frame(FIN | TEXT, b"late", MASK));
    assert_eq!(decoder.decode(&mut buf), Err(ProtocolError::UnmaskedFrame));
}

#[test]
fn header_errors_are_reported_from_the_first_two_bytes() {
    let mut buf = BytesMut::from(&[FIN | 0x3, 0x80 | 126][..]);
    let mut decoder = Decoder::new(DecoderConfig::default());
    assert_eq!(
        decoder.decode(&mut buf),
        Err(ProtocolError::UnknownOpcode(3))
    );
}

#[test]
fn partial_payload_is_consumed_as_it_arrives() {
    let stream = client_frame(FIN | BINARY, &[5; 1000], MASK);
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut buf = BytesMut::from(&stream[..500]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.is_empty(), "buffered payload should have been taken");
    buf.extend_from_slice(&stream[500..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(Event::Binary(vec![5; 1000].into())))
    );
}

#[test]
fn fully_buffered_frame_is_handed_out_without_copying() {
    let stream = client_frame(FIN | TEXT, &[b'z'; 300], MASK);
    let mut buf = BytesMut::from(&stream[..]);
    let range = buf.as_ptr_range();
    let mut decoder = Decoder::new(DecoderConfig::default());
    let Ok(Some(Event::Text(text))) = decoder.decode(&mut buf) else {
        panic!("expected a text message");
    };
    assert_eq!(&text[..], &[b'z'; 300][..]);
    assert!(range.contains(&text.as_ptr()), "payload was copied");
}

#[test]
fn single_frame_messages_split_anywhere_decode_alike() {
    // Each message one final frame: whole in one read (handed out without
    // assembling), or split in its header or its payload (assembled).
    let stream = frames(&[
        client_frame(FIN | TEXT, "κόσμε".as_bytes(), MASK),
        client_frame(FIN | BINARY, &[7; 300], MASK),
        client_frame(FIN | TEXT, b"", MASK),
        client_frame(FIN | BINARY, b"b", MASK),
    ]);
    let whole = decode(&stream);
    assert_eq!(whole.1, None);
    assert_eq!(whole.0.len(), 4);
    for at in 0..=stream.len() {
        for second in [at / 3, at + 1, at + 9] {
            let chunks = split_at_points(&stream, vec![at, second.min(stream.len())]);
            assert_eq!(
                decode_chunks(DecoderConfig::default(), chunks),
                whole,
                "at {at} and {second}"
            );
        }
    }
}

#[test]
fn a_frame_whose_payload_came_after_its_header_is_not_copied() {
    let stream = client_frame(FIN | BINARY, &[9; 300], MASK);
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut buf = BytesMut::from(&stream[..6]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(&stream[6..]);
    let range = buf.as_ptr_range();
    let Ok(Some(Event::Binary(data))) = decoder.decode(&mut buf) else {
        panic!("expected a binary message");
    };
    assert_eq!(&data[..], &[9; 300][..]);
    assert!(range.contains(&data.as_ptr()), "payload was copied");
}

#[test]
fn splitting_the_stream_does_not_change_the_events() {
    let stream = frames(&[
        client_frame(TEXT, "κόσμε".as_bytes(), MASK),
        client_frame(FIN | PING, b"p", MASK),
        client_frame(FIN | CONTINUATION, &[b'x'; 200], MASK),
        client_frame(FIN | CLOSE, b"\x03\xe8", MASK),
    ]);
    let whole = decode(&stream);
    for at in 0..=stream.len() {
        let chunks = split_at_points(&stream, vec![at, at / 2]);
        assert_eq!(
            decode_chunks(DecoderConfig::default(), chunks),
            whole,
            "at {at}"
        );
    }
}

#[test]
fn a_message_may_come_in_up_to_max_fragments_frames() {
    let config = DecoderConfig::default().with_max_fragments(4);
    let mut stream = client_frame(TEXT, b"a", MASK);
    for _ in 0..2 {
        stream.extend(client_frame(CONTINUATION, b"b", MASK));
    }
    stream.extend(client_frame(CONTINUATION | FIN, b"c", MASK));
    let (events, error) = decode_chunks(config, [stream.as_slice()]);
    assert_eq!(error, None);
    assert_eq!(events, vec![Event::Text("abbc".into())]);
}

#[test]
fn a_hundred_thousand_empty_continuations_fail_at_the_fragment_limit() {
    let mut stream = client_frame(TEXT, b"", MASK);
    let empty = client_frame(CONTINUATION, b"", MASK);
    for _ in 0..100_000 {
        stream.extend_from_slice(&empty);
    }
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut buf = BytesMut::from(stream.as_slice());
    let error = match decoder.decode(&mut buf) {
        Ok(Some(event)) => panic!("unexpected {event:?}"),
        Ok(None) => panic!("the decoder kept waiting"),
        Err(error) => error,
    };
    assert_eq!(error, ProtocolError::TooManyFragments { limit: 1024 });
    assert_eq!(error.close_code(), 1009);
    // It stopped at the limit: the rest of the stream was never parsed.
    assert!(buf.len() > (100_000 - 1100) * empty.len());
}
