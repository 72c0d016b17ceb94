//! What [`EventStream::push`](super::EventStream::push) accepts: a string, a
//! JSON value, an [`SseEvent`], or several of any of them.
//!
//! Everything given to one `push` is encoded into one buffer and queued as one
//! chunk, so the events of a push reach the client together and in order.

use std::borrow::Cow;

use bytes::BytesMut;
use crosswire_proto::sse::{SseEvent, encode_data_into, encode_event_into};

/// Values that encode to one or more events.
///
/// A string is one event whose `data` is the string (`"hi"` gives
/// `data: hi\n\n`); a JSON value is one event holding its compact JSON text;
/// an [`SseEvent`] sets any field; a `Vec`, array or slice is one event per
/// item, as h3's `push([...])`.
///
/// ```
/// use crosswire::sse::{IntoEvents, SseEvent};
///
/// fn wire(events: impl IntoEvents) -> Vec<u8> {
///     let mut out = bytes::BytesMut::new();
///     events.encode_into(&mut out);
///     out.to_vec()
/// }
///
/// assert_eq!(wire("hello world"), b"data: hello world\n\n");
/// assert_eq!(wire(["a", "b"]), b"data: a\n\ndata: b\n\n");
/// assert_eq!(wire(SseEvent::new().event("tick").data("1")), b"event: tick\ndata: 1\n\n");
/// assert_eq!(wire(serde_json::json!({ "n": 1 })), b"data: {\"n\":1}\n\n");
/// ```
pub trait IntoEvents {
    /// Appends the encoded events to `out`.
    fn encode_into(self, out: &mut BytesMut);
}

impl IntoEvents for &str {
    fn encode_into(self, out: &mut BytesMut) {
        encode_data_into(self, out);
    }
}

impl IntoEvents for &&str {
    fn encode_into(self, out: &mut BytesMut) {
        encode_data_into(self, out);
    }
}

impl IntoEvents for String {
    fn encode_into(self, out: &mut BytesMut) {
        encode_data_into(&self, out);
    }
}

impl IntoEvents for &String {
    fn encode_into(self, out: &mut BytesMut) {
        encode_data_into(self, out);
    }
}

impl IntoEvents for Cow<'_, str> {
    fn encode_into(self, out: &mut BytesMut) {
        encode_data_into(&self, out);
    }
}

impl IntoEvents for SseEvent {
    fn encode_into(self, out: &mut BytesMut) {
        encode_event_into(&self, out);
    }
}

impl IntoEvents for &SseEvent {
    fn encode_into(self, out: &mut BytesMut) {
        encode_event_into(self, out);
    }
}

impl IntoEvents for serde_json::Value {
    fn encode_into(self, out: &mut BytesMut) {
        (&self).encode_into(out);
    }
}

impl IntoEvents for &serde_json::Value {
    fn encode_into(self, out: &mut BytesMut) {
        // `Value`'s Display is compact JSON and cannot fail; it has no line
        // breaks unless a string holds one, and those are escaped.
        encode_data_into(&self.to_string(), out);
    }
}

impl<T: IntoEvents> IntoEvents for Vec<T> {
    fn encode_into(self, out: &mut BytesMut) {
        for item in self {
            item.encode_into(out);
        }
    }
}

impl<T: IntoEvents, const N: usize> IntoEvents for [T; N] {
    fn encode_into(self, out: &mut BytesMut) {
        for item in self {
            item.encode_into(out);
        }
    }
}

impl<'a, T> IntoEvents for &'a [T]
where
    &'a T: IntoEvents,
{
    fn encode_into(self, out: &mut BytesMut) {
        for item in self {
            item.encode_into(out);
        }
    }
}

impl<'a, T, const N: usize> IntoEvents for &'a [T; N]
where
    &'a T: IntoEvents,
{
    fn encode_into(self, out: &mut BytesMut) {
        self.as_slice().encode_into(out);
    }
}

impl<'a, T> IntoEvents for &'a Vec<T>
where
    &'a T: IntoEvents,
{
    fn encode_into(self, out: &mut BytesMut) {
        self.as_slice().encode_into(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(events: impl IntoEvents) -> String {
        let mut out = BytesMut::new();
        events.encode_into(&mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    // The borrowed forms are what is under test here.
    #[allow(clippy::needless_borrows_for_generic_args)]
    fn several_strings_are_several_events() {
        let expected = "data: a\n\ndata: b\n\n";
        assert_eq!(wire(vec!["a", "b"]), expected);
        assert_eq!(wire(vec!["a".to_owned(), "b".to_owned()]), expected);
        assert_eq!(wire(&["a", "b"]), expected);
        assert_eq!(wire(&["a", "b"][..]), expected);
        assert_eq!(wire(&vec!["a".to_owned(), "b".to_owned()]), expected);
        assert_eq!(wire(Vec::<String>::new()), "");
    }

    #[test]
    fn events_keep_their_fields() {
        let events = [SseEvent::new().id("1").data("a"), SseEvent::from("b")];
        assert_eq!(wire(&events), "id: 1\ndata: a\n\ndata: b\n\n");
    }

    #[test]
    fn json_strings_with_line_breaks_stay_on_one_line() {
        assert_eq!(
            wire(serde_json::json!({ "text": "a\nb" })),
            "data: {\"text\":\"a\\nb\"}\n\n"
        );
    }
}
