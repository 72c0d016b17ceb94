//! Property tests: the events decoded from a client stream do not depend on
//! how the stream is split into reads.

mod common;

use common::{FIN, client_frame, client_header, decode_chunks, header, split_at_points};
use crosswire_proto::{CloseFrame, DecoderConfig, Event};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A control frame, as sent and as expected back.
#[derive(Debug, Clone)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

impl Control {
    fn first_byte(&self) -> u8 {
        match self {
            Control::Ping(_) => FIN | PING,
            Control::Pong(_) => FIN | PONG,
        }
    }

    fn payload(&self) -> &[u8] {
        match self {
            Control::Ping(payload) | Control::Pong(payload) => payload,
        }
    }

    fn event(&self) -> Event {
        match self {
            Control::Ping(payload) => Event::Ping(payload.clone().into()),
            Control::Pong(payload) => Event::Pong(payload.clone().into()),
        }
    }
}

/// One item of the conversation: a data message, possibly fragmented with
/// control frames between its fragments, or a lone control frame.
#[derive(Debug, Clone)]
enum Item {
    Data {
        text: bool,
        payload: Vec<u8>,
        /// Where the payload is cut into fragments.
        cuts: Vec<Index>,
        /// Control frames sent after the fragment of the same index.
        interleaved: Vec<Option<Control>>,
    },
    Control(Control),
}

fn control() -> impl Strategy<Value = Control> {
    let payload = vec(any::<u8>(), 0..=125);
    prop_oneof![
        payload.clone().prop_map(Control::Ping),
        payload.prop_map(Control::Pong),
    ]
}

fn data_payload(text: bool) -> BoxedStrategy<Vec<u8>> {
    if text {
        prop_oneof![
            8 => "\\PC{0,200}".prop_map(String::into_bytes),
            1 => "[a-zκό€𝄞]{20000,20050}".prop_map(String::into_bytes),
        ]
        .boxed()
    } else {
        prop_oneof![
            8 => vec(any::<u8>(), 0..300),
            1 => vec(any::<u8>(), 65_530..65_600),
        ]
        .boxed()
    }
}

fn item() -> impl Strategy<Value = Item> {
    let data = any::<bool>().prop_flat_map(|text| {
        (
            data_payload(text),
            vec(any::<Index>(), 0..4),
            vec(proptest::option::of(control()), 0..4),
        )
            .prop_map(move |(payload, cuts, interleaved)| Item::Data {
                text,
                payload,
                cuts,
                interleaved,
            })
    });
    prop_oneof![3 => data, 1 => control().prop_map(Item::Control)]
}

fn closing() -> impl Strategy<Value = Option<Option<CloseFrame>>> {
    let code = prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999];
    let frame = (code, "\\PC{0,30}").prop_map(|(code, reason)| CloseFrame::new(code, reason));
    proptest::option::of(proptest::option::of(frame))
}

/// Yields a fresh pseudo-random mask for every frame.
struct Masks(u64);

impl Masks {
    fn next(&mut self) -> [u8; 4] {
        // xorshift64: plenty for varying masks, and reproducible from the seed.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 as u32).to_le_bytes()
    }
}

/// The encoded client stream and the events it must decode to.
fn conversation(
    items: &[Item],
    close: &Option<Option<CloseFrame>>,
    seed: u64,
) -> (Vec<u8>, Vec<Event>) {
    let mut masks = Masks(seed | 1);
    let mut stream = Vec::new();
    let mut events = Vec::new();
    for item in items {
        match item {
            Item::Control(control) => {
                stream.extend(client_frame(
                    control.first_byte(),
                    control.payload(),
                    masks.next(),
                ));
                events.push(control.event());
            }
            Item::Data {
                text,
                payload,
                cuts,
                interleaved,
            } => {
                let points = cuts
                    .iter()
                    .map(|cut| cut.index(payload.len() + 1))
                    .collect();
                let fragments = split_at_points(payload, points);
                let last = fragments.len() - 1;
                for (i, fragment) in fragments.iter().enumerate() {
                    let opcode = match (i, text) {
                        (0, true) => TEXT,
                        (0, false) => BINARY,
                        _ => CONTINUATION,
                    };
                    let fin = if i == last { FIN } else { 0 };
                    stream.extend(client_frame(fin | opcode, fragment, masks.next()));
                    if i != last
                        && let Some(Some(control)) = interleaved.get(i)
                    {
                        stream.extend(client_frame(
                            control.first_byte(),
                            control.payload(),
                            masks.next(),
                        ));
                        events.push(control.event());
                    }
                }
                let bytes = payload.clone().into();
                events.push(if *text {
                    Event::Text(bytes)
                } else {
                    Event::Binary(bytes)
                });
            }
        }
    }
    if let Some(close) = close {
        let payload = close.as_ref().map_or_else(Vec::new, |frame| {
            let mut payload = frame.code.to_be_bytes().to_vec();
            payload.extend_from_slice(frame.reason.as_bytes());
            payload
        });
        stream.extend(client_frame(FIN | CLOSE, &payload, masks.next()));
        events.push(Event::Close(close.clone()));
        // Anything after a close is never decoded.
        stream.extend_from_slice(b"\x00\x00 ignored");
    }
    (stream, events)
}

/// A frame that may break any rule: random flags, opcode, mask bit and length.
fn wild_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        prop::bool::weighted(0.9),
        vec(any::<u8>(), 0..140),
        any::<[u8; 4]>(),
    )
        .prop_map(|(first_byte, masked, payload, mask)| {
            if masked {
                client_frame(first_byte, &payload, mask)
            } else {
                let mut frame = header(first_byte, payload.len());
                frame.extend_from_slice(&payload);
                frame
            }
        })
}

/// Mostly well-formed frames with a sprinkling of wild ones.
fn mixed_frame() -> impl Strategy<Value = Vec<u8>> {
    let opcode = prop::sample::select(vec![CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG]);
    let plausible = (
        any::<bool>(),
        opcode,
        vec(any::<u8>(), 0..20),
        any::<[u8; 4]>(),
    )
        .prop_map(|(fin, opcode, payload, mask)| {
            let fin = if fin || opcode & 0x8 != 0 { FIN } else { 0 };
            client_frame(fin | opcode, &payload, mask)
        });
    let truncated = (any::<u8>(), 0usize..100_000, any::<[u8; 4]>())
        .prop_map(|(first_byte, len, mask)| client_header(first_byte, len, mask));
    prop_oneof![8 => plausible, 2 => wild_frame(), 1 => truncated]
}

fn offsets(len: usize, cuts: &[Index]) -> Vec<usize> {
    cuts.iter().map(|cut| cut.index(len + 1)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn randomly_split_stream_decodes_to_the_sent_messages(
        items in vec(item(), 0..6),
        close in closing(),
        seed in any::<u64>(),
        cuts in vec(any::<Index>(), 0..24),
    ) {
        let (stream, expected) = conversation(&items, &close, seed);
        let config = DecoderConfig::default();

        let whole = decode_chunks(config, [&stream[..]]);
        prop_assert_eq!(&whole, &(expected, None));

        let chunks = split_at_points(&stream, offsets(stream.len(), &cuts));
        prop_assert_eq!(decode_chunks(config, chunks), whole);
    }

    #[test]
    fn byte_at_a_time_decodes_to_the_sent_messages(
        items in vec(item(), 0..3),
        seed in any::<u64>(),
    ) {
        let (stream, expected) = conversation(&items, &None, seed);
        let chunks = stream.chunks(1);
        prop_assert_eq!(decode_chunks(DecoderConfig::default(), chunks), (expected, None));
    }

    #[test]
    fn splitting_never_changes_events_or_error(
        frames in vec(mixed_frame(), 0..12),
        cuts in vec(any::<Index>(), 0..16),
        limits in (0usize..200, 0usize..400),
    ) {
        let stream = frames.concat();
        let config = DecoderConfig::new(limits.0, limits.1);
        let whole = decode_chunks(config, [&stream[..]]);
        let chunks = split_at_points(&stream, offsets(stream.len(), &cuts));
        prop_assert_eq!(decode_chunks(config, chunks), whole);
    }
}
