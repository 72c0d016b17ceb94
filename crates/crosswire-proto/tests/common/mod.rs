//! Client-side framing for the decoder tests: the crate only encodes server
//! frames, so the tests build masked client frames themselves.

use bytes::BytesMut;
use crosswire_proto::{Decoder, DecoderConfig, Event, ProtocolError};

/// FIN bit of the first header byte.
pub(crate) const FIN: u8 = 0x80;

/// A masked client frame with the minimal length encoding.
///
/// `first_byte` carries FIN, the RSV bits and the opcode, exactly as on the wire.
pub(crate) fn client_frame(first_byte: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut frame = client_header(first_byte, payload.len(), mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// A masked client frame header announcing `len` payload bytes, without the payload.
pub(crate) fn client_header(first_byte: u8, len: usize, mask: [u8; 4]) -> Vec<u8> {
    let mut frame = header(first_byte, len);
    frame[1] |= 0x80;
    frame.extend_from_slice(&mask);
    frame
}

/// The first bytes of a header without the mask bit, mask key or payload.
pub(crate) fn header(first_byte: u8, len: usize) -> Vec<u8> {
    let mut frame = vec![first_byte];
    match len {
        0..=125 => frame.push(len as u8),
        126..=0xFFFF => {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame
}

/// Events and the final error (if any) from feeding `chunks` in order, draining after each.
pub(crate) fn decode_chunks<'a>(
    config: DecoderConfig,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Event>, Option<ProtocolError>) {
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

/// `stream` cut at the given offsets (sorted here; duplicates give empty chunks).
pub(crate) fn split_at_points(stream: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.sort_unstable();
    let mut chunks = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for point in points {
        let point = point.min(stream.len());
        chunks.push(&stream[start..point]);
        start = point;
    }
    chunks.push(&stream[start..]);
    chunks
}
