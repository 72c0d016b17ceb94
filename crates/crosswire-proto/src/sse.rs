//! Server-Sent Events wire format (the `text/event-stream` of the WHATWG HTML
//! standard), as a pure formatter.
//!
//! The stream that owns a connection, its queue and its timers lives in the
//! `crosswire` crate; this module only turns an [`SseEvent`] or a comment into
//! bytes. Keeping it apart makes the injection rules testable on their own:
//! whatever a field holds, an encoded event is exactly one event on the wire.
//!
//! # Rules
//!
//! - `id` and `event` are single-line fields: CR and LF are removed, so a
//!   value can never end the field early and smuggle in another field.
//! - `data` is split on `\r\n`, `\r` or `\n`, and every line (an empty one
//!   too) gets its own `data: ` prefix, so a blank line, which would end the
//!   event, can never appear inside it. The client joins the lines with `\n`.
//! - `retry` is an integer number of milliseconds (the type sees to that).
//! - A comment becomes one `: ` line per line of its text.
//! - Every event and every comment ends with a blank line.
//!
//! ```
//! use crosswire_proto::sse::{SseEvent, encode_event};
//!
//! let event = SseEvent::new().id("1").event("custom-event").retry(10).data("hello world");
//! assert_eq!(
//!     &encode_event(&event)[..],
//!     b"id: 1\nevent: custom-event\nretry: 10\ndata: hello world\n\n"
//! );
//! ```

use bytes::{BufMut, Bytes, BytesMut};

/// One event for the wire: optional `id`, `event` name and `retry` delay,
/// the `data` text, and an optional comment.
///
/// Every event carries at least one `data:` line (an empty `data` gives
/// `data: `), so a browser's `EventSource` dispatches every event that is
/// sent, as h3 does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The event id, which the client sends back as `Last-Event-ID` when it
    /// reconnects. `Some("")` resets the client's last event id.
    pub id: Option<String>,
    /// The event name (`addEventListener(name, ...)` on the client); the
    /// client treats a missing or empty name as `message`.
    pub event: Option<String>,
    /// The delay the client should wait before reconnecting, in milliseconds.
    pub retry: Option<u64>,
    /// The payload text; each of its lines becomes one `data:` line.
    pub data: String,
    /// A comment written before the fields; clients ignore it.
    pub comment: Option<String>,
}

impl SseEvent {
    /// An event with empty data and no other field.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the id.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the event name.
    #[must_use]
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// Sets the reconnection delay, in milliseconds.
    #[must_use]
    pub fn retry(mut self, millis: u64) -> Self {
        self.retry = Some(millis);
        self
    }

    /// Sets the data.
    #[must_use]
    pub fn data(mut self, data: impl Into<String>) -> Self {
        self.data = data.into();
        self
    }

    /// Sets a comment, written before the fields.
    #[must_use]
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Bytes this event takes on the wire, give or take a few per line break.
    fn size_hint(&self) -> usize {
        let field = |value: &Option<String>| value.as_ref().map_or(0, |v| v.len() + 8);
        field(&self.id)
            + field(&self.event)
            + field(&self.comment)
            + self.retry.map_or(0, |_| 28)
            + self.data.len()
            + 8
    }
}

impl From<&str> for SseEvent {
    fn from(data: &str) -> Self {
        Self::new().data(data)
    }
}

impl From<String> for SseEvent {
    fn from(data: String) -> Self {
        Self::new().data(data)
    }
}

/// Encodes one event.
pub fn encode_event(event: &SseEvent) -> Bytes {
    let mut out = BytesMut::with_capacity(event.size_hint());
    encode_event_into(event, &mut out);
    out.freeze()
}

/// Appends one encoded event to `out` (to send several events as one write).
pub fn encode_event_into(event: &SseEvent, out: &mut BytesMut) {
    if let Some(comment) = &event.comment {
        put_lines(out, b":", comment);
    }
    if let Some(id) = &event.id {
        // A client ignores an id holding NUL, keeping the one before it, and
        // would resume from there: NUL goes with CR and LF.
        put_single_line(out, b"id: ", id, b"\r\n\0");
    }
    if let Some(name) = &event.event {
        put_single_line(out, b"event: ", name, b"\r\n");
    }
    if let Some(retry) = event.retry {
        out.put_slice(b"retry: ");
        out.put_slice(retry.to_string().as_bytes());
        out.put_u8(b'\n');
    }
    put_lines(out, b"data:", &event.data);
    out.put_u8(b'\n');
}

/// Encodes an event that has only `data` (what a plain string push or a topic
/// publish sends).
///
/// ```
/// assert_eq!(&crosswire_proto::sse::encode_data("a\nb")[..], b"data: a\ndata: b\n\n");
/// ```
pub fn encode_data(data: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 8);
    encode_data_into(data, &mut out);
    out.freeze()
}

/// Appends an event that has only `data` to `out`.
pub fn encode_data_into(data: &str, out: &mut BytesMut) {
    put_lines(out, b"data:", data);
    out.put_u8(b'\n');
}

/// Encodes a comment: one `: ` line per line of `text`, then a blank line.
/// Clients ignore comments; servers send them to keep idle connections open.
///
/// ```
/// assert_eq!(&crosswire_proto::sse::encode_comment("keep-alive")[..], b": keep-alive\n\n");
/// ```
pub fn encode_comment(text: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 4);
    encode_comment_into(text, &mut out);
    out.freeze()
}

/// Appends an encoded comment to `out`.
pub fn encode_comment_into(text: &str, out: &mut BytesMut) {
    put_lines(out, b":", text);
    out.put_u8(b'\n');
}

/// Writes `prefix` + `value` + `\n` with every byte of `removed` (CR and LF
/// at least) taken out of `value`.
fn put_single_line(out: &mut BytesMut, prefix: &[u8], value: &str, removed: &[u8]) {
    out.put_slice(prefix);
    for part in value.as_bytes().split(|b| removed.contains(b)) {
        out.put_slice(part);
    }
    out.put_u8(b'\n');
}

/// Writes one `{field} {line}\n` per line of `text` (at least one, so empty
/// text still gives `{field} \n`).
fn put_lines(out: &mut BytesMut, field: &[u8], text: &str) {
    for line in Lines::new(text) {
        out.put_slice(field);
        out.put_u8(b' ');
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
}

/// The lines of a text split on `\r\n`, `\r` or `\n`, the way the event
/// stream parser splits them. Unlike `str::lines`, a lone `\r` is a break and
/// a trailing break yields a last, empty line.
#[derive(Debug)]
struct Lines<'a> {
    rest: Option<&'a str>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self { rest: Some(text) }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let text = self.rest?;
        // A byte scan: both breaks are ASCII, so a byte index is a char
        // boundary; `memchr2` looks at a word (or a vector) at a time.
        match memchr::memchr2(b'\r', b'\n', text.as_bytes()) {
            None => {
                self.rest = None;
                Some(text)
            }
            Some(at) => {
                let skip = if text[at..].starts_with("\r\n") { 2 } else { 1 };
                self.rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(event: &SseEvent) -> String {
        String::from_utf8(encode_event(event).to_vec()).unwrap()
    }

    #[test]
    fn a_plain_data_event() {
        assert_eq!(
            wire(&SseEvent::new().data("hello world")),
            "data: hello world\n\n"
        );
        assert_eq!(&encode_data("hello world")[..], b"data: hello world\n\n");
    }

    #[test]
    fn every_field_in_order() {
        let event = SseEvent::new()
            .id("1")
            .event("custom-event")
            .retry(10)
            .data("hello world");
        assert_eq!(
            wire(&event),
            "id: 1\nevent: custom-event\nretry: 10\ndata: hello world\n\n"
        );
    }

    #[test]
    fn an_event_name_cannot_inject_fields() {
        let event = SseEvent::new()
            .event("message\nevent: admin\ndata: INJECTED")
            .data("x");
        assert_eq!(
            wire(&event),
            "event: messageevent: admindata: INJECTED\ndata: x\n\n"
        );
    }

    #[test]
    fn an_id_loses_cr_and_lf() {
        let event = SseEvent::new().id("4\r\n2\r").data("x");
        assert_eq!(wire(&event), "id: 42\ndata: x\n\n");
    }

    #[test]
    fn an_id_loses_nul_which_would_make_clients_ignore_it() {
        let event = SseEvent::new().id("4\u{0}2").event("a\u{0}b").data("x");
        assert_eq!(wire(&event), "id: 42\nevent: a\u{0}b\ndata: x\n\n");
    }

    #[test]
    fn data_cannot_inject_an_event_boundary() {
        let event = SseEvent::new().data("hi\n\nevent: system\ndata: INJECTED");
        assert_eq!(
            wire(&event),
            "data: hi\ndata: \ndata: event: system\ndata: data: INJECTED\n\n"
        );
    }

    #[test]
    fn data_splits_on_crlf_cr_and_lf() {
        assert_eq!(
            wire(&SseEvent::new().data("a\r\nb\rc\nd\r\r\ne\n")),
            "data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\ndata: \n\n"
        );
    }

    #[test]
    fn empty_data_is_one_empty_data_line() {
        assert_eq!(wire(&SseEvent::new()), "data: \n\n");
        assert_eq!(
            wire(&SseEvent::new().retry(3000)),
            "retry: 3000\ndata: \n\n"
        );
    }

    #[test]
    fn an_empty_id_is_written_so_it_can_reset_the_client() {
        assert_eq!(wire(&SseEvent::new().id("").data("x")), "id: \ndata: x\n\n");
    }

    #[test]
    fn comments_get_one_line_each() {
        assert_eq!(&encode_comment("ping")[..], b": ping\n\n");
        assert_eq!(&encode_comment("a\r\nb\nc")[..], b": a\n: b\n: c\n\n");
        assert_eq!(&encode_comment("")[..], b": \n\n");
        assert_eq!(
            wire(&SseEvent::new().comment("note\nmore").data("x")),
            ": note\n: more\ndata: x\n\n"
        );
    }

    #[test]
    fn several_events_append_to_one_buffer() {
        let mut out = BytesMut::new();
        encode_event_into(&SseEvent::from("a"), &mut out);
        encode_data_into("b", &mut out);
        encode_comment_into("c", &mut out);
        assert_eq!(&out[..], b"data: a\n\ndata: b\n\n: c\n\n");
    }

    #[test]
    fn lines_match_the_parser_rules() {
        let lines = |text| Lines::new(text).collect::<Vec<_>>();
        assert_eq!(lines(""), [""]);
        assert_eq!(lines("a"), ["a"]);
        assert_eq!(lines("a\n"), ["a", ""]);
        assert_eq!(lines("\r\n"), ["", ""]);
        assert_eq!(lines("\n\r"), ["", "", ""]);
        assert_eq!(lines("a\r\r\nb"), ["a", "", "b"]);
    }
}
