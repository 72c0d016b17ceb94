//! Property test: whatever an event's fields hold (CR, LF and CRLF runs, NUL,
//! byte order marks, emoji, colons, long lines), a client that follows the
//! WHATWG parsing rules gets back exactly the events that were encoded, one
//! per event, with no event injected or lost, and comments stay invisible.

#[path = "sse/whatwg.rs"]
mod whatwg;

use bytes::BytesMut;
use crosswire_proto::sse::{SseEvent, encode_comment_into, encode_event_into};
use proptest::collection::vec;
use proptest::prelude::*;
use whatwg::{Dispatched, parse};

/// Text built from the pieces most likely to break a line-based format.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\r\r\n\n".to_owned()),
        Just("\0".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("😀".to_owned()),
        Just(":".to_owned()),
        Just(" ".to_owned()),
        Just("data: ".to_owned()),
        Just("event: x".to_owned()),
        Just("id: 9".to_owned()),
        Just("retry: 1".to_owned()),
        "[a-zA-Z0-9 ]{1,12}",
        "\\PC{1,6}",
        (1usize..5000).prop_map(|n| "L".repeat(n)),
    ];
    vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

#[derive(Debug, Clone)]
enum Item {
    Event(SseEvent),
    Comment(String),
}

fn event() -> impl Strategy<Value = SseEvent> {
    (
        proptest::option::of(tricky_text()),
        proptest::option::of(tricky_text()),
        proptest::option::of(any::<u64>()),
        tricky_text(),
        proptest::option::of(tricky_text()),
    )
        .prop_map(|(id, name, retry, data, comment)| {
            let mut event = SseEvent::new().data(data);
            event.id = id;
            event.event = name;
            event.retry = retry;
            event.comment = comment;
            event
        })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => event().prop_map(Item::Event),
        1 => tricky_text().prop_map(Item::Comment),
    ]
}

fn without_cr_lf(text: &str) -> String {
    text.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// What the client should see for a sequence of pushes.
fn expected(items: &[Item]) -> (Vec<Dispatched>, Option<u64>) {
    let mut events = Vec::new();
    let mut last_event_id = String::new();
    let mut retry = None;
    for item in items {
        let Item::Event(event) = item else { continue };
        if let Some(id) = &event.id {
            // NUL goes with CR and LF: the standard ignores an id that holds
            // NUL, and the client would resume from the id before it.
            last_event_id = without_cr_lf(id).replace('\0', "");
        }
        retry = event.retry.or(retry);
        let kind = event
            .event
            .as_deref()
            .map(without_cr_lf)
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "message".to_owned());
        events.push(Dispatched {
            kind,
            data: event.data.replace("\r\n", "\n").replace('\r', "\n"),
            last_event_id: last_event_id.clone(),
        });
    }
    (events, retry)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoded_events_parse_back_to_what_was_pushed(items in vec(item(), 0..8)) {
        let mut wire = BytesMut::new();
        for item in &items {
            match item {
                Item::Event(event) => encode_event_into(event, &mut wire),
                Item::Comment(text) => encode_comment_into(text, &mut wire),
            }
        }
        let parsed = parse(&wire);
        let (events, retry) = expected(&items);
        prop_assert_eq!(parsed.events, events);
        prop_assert_eq!(parsed.retry, retry);
    }

    #[test]
    fn a_single_event_is_exactly_one_dispatch_whatever_its_data(data in tricky_text()) {
        let mut wire = BytesMut::new();
        encode_event_into(&SseEvent::new().data(data.clone()), &mut wire);
        let parsed = parse(&wire);
        prop_assert_eq!(parsed.events.len(), 1);
        prop_assert_eq!(&parsed.events[0].data, &data.replace("\r\n", "\n").replace('\r', "\n"));
    }
}

#[test]
fn the_parser_follows_the_standard_on_hand_written_streams() {
    let parsed = parse(b"\xef\xbb\xbfdata:a\ndata\n: note\nid: 7\r\nevent:x\n\nretry: 1x\nretry: 25\ndata: b\n\ndata: unfinished");
    assert_eq!(
        parsed.events,
        [
            Dispatched {
                kind: "x".into(),
                data: "a\n".into(),
                last_event_id: "7".into()
            },
            Dispatched {
                kind: "message".into(),
                data: "b".into(),
                last_event_id: "7".into()
            },
        ]
    );
    assert_eq!(parsed.retry, Some(25));
}
