//! An event stream parser written from the WHATWG HTML standard's
//! "Interpreting an event stream" steps, used as the oracle for the encoder.
//! It is deliberately literal: one field at a time, exactly as a browser's
//! `EventSource` reads the stream.

/// One dispatched `MessageEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// The event type (`message` when the stream named none).
    pub kind: String,
    pub data: String,
    pub last_event_id: String,
}

/// What a client ends up with after reading a whole stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub events: Vec<Dispatched>,
    /// The reconnection time, if a valid `retry` field set one.
    pub retry: Option<u64>,
}

/// Parses a complete stream. An event not ended by a blank line before the
/// end of the stream is discarded, as the standard says.
pub fn parse(stream: &[u8]) -> Parsed {
    // "Streams must be decoded using the UTF-8 decode algorithm", which
    // strips one leading byte order mark.
    let text = String::from_utf8_lossy(stream);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);

    let mut parsed = Parsed::default();
    let mut data = String::new();
    let mut kind = String::new();
    let mut last_event_id_buffer = String::new();

    for line in lines(text) {
        let Some(line) = line else {
            // The text ended without a final line break: an unfinished line.
            break;
        };
        if line.is_empty() {
            // Dispatch the event: the source's last event id becomes the
            // buffer's, even when no event is dispatched.
            let last_event_id = last_event_id_buffer.clone();
            if data.is_empty() {
                kind.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            parsed.events.push(Dispatched {
                kind: if kind.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut kind)
                },
                data: std::mem::take(&mut data),
                last_event_id,
            });
            kind.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line, ""),
        };
        match field {
            "event" => kind = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => last_event_id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Too large for a u64: keep the previous value.
                if let Ok(millis) = value.parse() {
                    parsed.retry = Some(millis);
                }
            }
            _ => {}
        }
    }
    parsed
}

/// Lines ended by CRLF, LF or CR; the last item is `None` when the text does
/// not end with a line break (that line is incomplete).
fn lines(text: &str) -> Vec<Option<&str>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        match rest.find(['\r', '\n']) {
            Some(at) => {
                out.push(Some(&rest[..at]));
                let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[at + skip..];
            }
            None => {
                if !rest.is_empty() {
                    out.push(None);
                }
                return out;
            }
        }
    }
}
