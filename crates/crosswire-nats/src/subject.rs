//! Topic names as NATS subjects.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha1::{Digest, Sha1};

/// Topics up to this many bytes are spelled out in their token; a longer
/// one is named by a hash. A subject goes on the protocol's control line
/// (`SUB`, `PUB`), which the server limits to 4 KiB by default and answers
/// past it by closing the connection: a topic name a client chose would
/// otherwise cut the node off the broker, again at every reconnect.
const SPELLED_OUT: usize = 768;

/// The subject of `topic` under `prefix`: `<prefix>.t<base64url(topic)>`,
/// or `<prefix>.s<base64url(sha1(topic))>` for a topic longer than 768
/// bytes.
///
/// Any topic maps to exactly one token of `A-Z a-z 0-9 - _` (never a space,
/// dot or wildcard) of at most 1 025 characters, and distinct topics to
/// distinct subjects (for long ones, as far as SHA-1 tells them apart; the
/// message's envelope names its topic either way, and that is where it is
/// delivered).
///
/// ```
/// assert_eq!(crosswire_nats::subject("app", "chat"), "app.tY2hhdA");
/// assert_eq!(crosswire_nats::subject("app", ""), "app.t");
/// assert!(!crosswire_nats::subject("app", "a b.*>").contains(' '));
/// ```
pub fn subject(prefix: &str, topic: &str) -> String {
    let mut subject = String::with_capacity(prefix.len() + 2 + topic.len().div_ceil(3) * 4);
    subject.push_str(prefix);
    subject.push('.');
    push_token(&mut subject, topic);
    subject
}

/// `topic` as one subject token: `t<base64url(topic)>`.
pub(crate) fn token(topic: &str) -> String {
    let mut token = String::with_capacity(1 + topic.len().div_ceil(3) * 4);
    push_token(&mut token, topic);
    token
}

fn push_token(out: &mut String, topic: &str) {
    if topic.len() <= SPELLED_OUT {
        out.push('t');
        URL_SAFE_NO_PAD.encode_string(topic.as_bytes(), out);
    } else {
        out.push('s');
        URL_SAFE_NO_PAD.encode_string(Sha1::digest(topic.as_bytes()), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_is_one_safe_token() {
        let long = "é".repeat(512);
        for topic in [
            "chat",
            "",
            "room 1",
            "a.b",
            "*",
            ">",
            "日本語 チャット",
            &long,
        ] {
            let subject = subject("p", topic);
            let token = subject.strip_prefix("p.").unwrap();
            assert!(!token.is_empty());
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{topic:?} -> {token}"
            );
            assert!(token.len() <= 1 + SPELLED_OUT.div_ceil(3) * 4, "{topic:?}");
            if topic.len() <= SPELLED_OUT {
                let decoded = URL_SAFE_NO_PAD.decode(&token[1..]).unwrap();
                assert_eq!(decoded, topic.as_bytes());
            }
        }
    }

    #[test]
    fn a_long_topic_is_named_by_its_hash_and_stays_distinct() {
        let long = "x".repeat(100_000);
        let longer = "x".repeat(100_001);
        let a = subject("p", &long);
        let b = subject("p", &longer);
        assert!(a.starts_with("p.s") && b.starts_with("p.s"));
        assert_eq!(a.len(), "p.s".len() + 27);
        assert_ne!(a, b);
        // A hashed token cannot spell a short topic's token.
        assert_ne!(a, subject("p", &a[3..]));
        assert!(subject("p", &"y".repeat(SPELLED_OUT)).starts_with("p.t"));
    }
}
