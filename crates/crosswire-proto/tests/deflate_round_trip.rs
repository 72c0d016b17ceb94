//! Property tests of permessage-deflate: messages compressed by zlib (through
//! flate2, as a browser's zlib would) in every window size, with and without
//! context takeover, cut into fragments and reads at random points, decode to
//! exactly what was sent.

mod common;

use common::{FIN, client_frame, decode_chunks, split_at_points};
use crosswire_proto::deflate::InflateParams;
use crosswire_proto::{DecoderConfig, Event};
use flate2::{Compress, Compression, FlushCompress};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const RSV1: u8 = 0x40;

/// One message the client sends.
#[derive(Debug, Clone)]
struct Sent {
    text: bool,
    payload: Vec<u8>,
    compressed: bool,
    /// Where the (compressed) payload is cut into fragments.
    cuts: Vec<Index>,
}

fn sent() -> impl Strategy<Value = Sent> {
    let text = "[ab \u{e9}\u{4e2d}{}\":,]{0,600}".prop_map(|s| (true, s.into_bytes()));
    let binary = vec(0u8..6, 0..3000).prop_map(|b| (false, b));
    (
        prop_oneof![text, binary],
        prop::bool::weighted(0.8),
        vec(any::<Index>(), 0..4),
    )
        .prop_map(|((text, payload), compressed, cuts)| Sent {
            text,
            payload,
            compressed,
            cuts,
        })
}

/// A client's compressor: zlib raw deflate, sync-flushed, tail removed.
struct Client {
    compress: Compress,
    takeover: bool,
}

impl Client {
    fn new(window_bits: u8, level: u32, takeover: bool) -> Self {
        // zlib cannot compress with a window of 8; a client granted 8 uses 9
        // at most, which is what real zlib-based clients do too.
        let bits = window_bits.max(9);
        Self {
            compress: Compress::new_with_window_bits(Compression::new(level), false, bits),
            takeover,
        }
    }

    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let mut input = data;
        loop {
            out.reserve(256);
            let before = self.compress.total_in();
            self.compress
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .expect("zlib accepts any input");
            input = &input[(self.compress.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.is_empty() {
            // Nothing new since the last flush (an empty message after
            // another one): zlib emits nothing, and a client sends the
            // single empty stored block of RFC 7692 section 7.2.3.6.
            return vec![0x00];
        }
        assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
        out.truncate(out.len() - 4);
        if !self.takeover {
            self.compress.reset();
        }
        out
    }
}

/// The wire bytes of `messages` and the events they must decode to.
fn conversation(messages: &[Sent], client: &mut Client) -> (Vec<u8>, Vec<Event>) {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (n, message) in messages.iter().enumerate() {
        let wire = if message.compressed {
            client.compress(&message.payload)
        } else {
            message.payload.clone()
        };
        let mut cuts: Vec<usize> = message
            .cuts
            .iter()
            .map(|i| i.index(wire.len() + 1))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let fragments = split_at_points(&wire, cuts);
        let last = fragments.len() - 1;
        for (i, fragment) in fragments.iter().enumerate() {
            let mut first = if i == 0 {
                let opcode = if message.text { TEXT } else { BINARY };
                opcode | if message.compressed { RSV1 } else { 0 }
            } else {
                CONTINUATION
            };
            if i == last {
                first |= FIN;
            }
            let mask = [n as u8, 0x5a, i as u8, 0xc3];
            stream.extend(client_frame(first, fragment, mask));
        }
        let payload = message.payload.clone().into();
        expected.push(if message.text {
            Event::Text(payload)
        } else {
            Event::Binary(payload)
        });
    }
    (stream, expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn compressed_messages_round_trip_in_every_window_and_split(
        messages in vec(sent(), 1..6),
        window_bits in 8u8..=15,
        level in 0u32..=9,
        takeover in any::<bool>(),
        points in vec(any::<Index>(), 0..8),
    ) {
        let mut client = Client::new(window_bits, level, takeover);
        let (stream, expected) = conversation(&messages, &mut client);
        let points = points.iter().map(|i| i.index(stream.len() + 1)).collect();
        let config = DecoderConfig::new(1 << 20, 1 << 20).with_inflate(InflateParams {
            window_bits,
            no_context_takeover: !takeover,
        });
        let (events, error) = decode_chunks(config, split_at_points(&stream, points));
        prop_assert_eq!(error, None);
        prop_assert_eq!(events, expected);
    }
}

/// Two empty messages in a row under context takeover: the second has nothing
/// to flush, so its payload is the lone empty stored block.
#[test]
fn an_empty_message_after_another_decodes_empty() {
    let empty = Sent {
        text: true,
        payload: Vec::new(),
        compressed: true,
        cuts: Vec::new(),
    };
    let mut client = Client::new(8, 0, true);
    let messages = [empty.clone(), empty];
    let (stream, expected) = conversation(&messages, &mut client);
    let config = DecoderConfig::new(1 << 20, 1 << 20).with_inflate(InflateParams {
        window_bits: 8,
        no_context_takeover: false,
    });
    let (events, error) = decode_chunks(config, [stream.as_slice()]);
    assert_eq!(error, None);
    assert_eq!(events, expected);
}
