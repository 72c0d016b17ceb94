//! Topic names as NATS subjects.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The subject of `topic` under `prefix`: `<prefix>.t<base64url(topic)>`.
///
/// Any topic maps to exactly one token of `A-Z a-z 0-9 - _` (never a space,
/// dot or wildcard), and distinct topics to distinct subjects.
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
    out.push('t');
    URL_SAFE_NO_PAD.encode_string(topic.as_bytes(), out);
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
            let decoded = URL_SAFE_NO_PAD.decode(&token[1..]).unwrap();
            assert_eq!(decoded, topic.as_bytes());
        }
    }
}
