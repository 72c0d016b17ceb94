//! Feeds arbitrary bytes to the decoder, whole and split at fuzzer-chosen
//! points, and checks that it never panics and that the split never changes
//! the outcome.
//!
//! Input layout: one byte selecting the size limits and permessage-deflate,
//! one byte `n` for the number of split points (up to 15), `n`
//! little-endian `u16` offsets into the stream, then the stream itself.
#![no_main]

use bytes::BytesMut;
use crosswire_proto::deflate::InflateParams;
use crosswire_proto::{Decoder, DecoderConfig, Event, ProtocolError, is_valid_close_code};
use libfuzzer_sys::fuzz_target;

/// Everything the decoder reported for one stream.
type Outcome = (Vec<Event>, Option<ProtocolError>);

fuzz_target!(|data: &[u8]| {
    let Some((&limits, rest)) = data.split_first() else {
        return;
    };
    let Some((&split_count, rest)) = rest.split_first() else {
        return;
    };
    let offsets_len = usize::from(split_count % 16) * 2;
    if rest.len() < offsets_len {
        return;
    }
    let (offsets, stream) = rest.split_at(offsets_len);

    let config = config_from(limits);
    let whole = decode(config, [stream]);
    check_events(&whole.0);

    let mut points: Vec<usize> = offsets
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (stream.len() + 1))
        .collect();
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for point in points {
        chunks.push(&stream[start..point]);
        start = point;
    }
    chunks.push(&stream[start..]);

    let split = decode(config, chunks);
    assert_eq!(whole, split, "splitting the stream changed the outcome");
});

/// Small limits half of the time, so the size checks are exercised too, and
/// permessage-deflate negotiated half of the time (bit 6), with or without
/// client context takeover (bit 5).
fn config_from(selector: u8) -> DecoderConfig {
    let config = if selector & 0x80 == 0 {
        DecoderConfig::default()
    } else {
        let frame = usize::from(selector & 0x0F) * 16;
        let message = usize::from((selector >> 4) & 0x03) * 64;
        DecoderConfig::new(frame, message)
    };
    if selector & 0x40 == 0 {
        return config;
    }
    config.with_inflate(InflateParams {
        window_bits: 15,
        no_context_takeover: selector & 0x20 != 0,
    })
}

fn decode<'a>(config: DecoderConfig, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut decoder = Decoder::new(config);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(error) => return (events, Some(error)),
            }
        }
    }
    (events, None)
}

/// What every successfully decoded event promises.
fn check_events(events: &[Event]) {
    for event in events {
        match event {
            Event::Text(text) => assert!(std::str::from_utf8(text).is_ok(), "text is not utf-8"),
            Event::Ping(payload) | Event::Pong(payload) => assert!(payload.len() <= 125),
            Event::Close(Some(close)) => assert!(is_valid_close_code(close.code)),
            Event::Binary(_) | Event::Close(None) => {}
        }
    }
}
