//! Feeds arbitrary request heads to the whole upgrade path: header parsing
//! into an `http::HeaderMap`, `validate_request`, the deflate negotiation and
//! the 101 headers, and checks that each refusal has the status it promises.
//!
//! Input layout: one byte selecting the method and HTTP version, then header
//! lines (`name: value`, separated by `\n`).
#![no_main]

use crosswire_proto::deflate::Policy;
use crosswire_proto::{HandshakeError, validate_request};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use libfuzzer_sys::fuzz_target;

const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::HEAD, Method::OPTIONS];
const VERSIONS: [Version; 4] = [
    Version::HTTP_11,
    Version::HTTP_10,
    Version::HTTP_2,
    Version::HTTP_09,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, head)) = data.split_first() else {
        return;
    };
    let method = &METHODS[usize::from(selector & 3)];
    let version = VERSIONS[usize::from((selector >> 2) & 3)];
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }

    match validate_request(method, version, &headers) {
        Ok(handshake) => {
            assert_eq!(handshake.accept().len(), 28);
            let response = handshake.response_headers();
            assert_eq!(response["sec-websocket-accept"], handshake.accept());
            for policy in [
                Policy::default(),
                Policy::default().server_no_context_takeover(true),
            ] {
                match handshake.negotiate_deflate(policy) {
                    Ok(Some(agreement)) => {
                        HeaderValue::from_str(&agreement.response())
                            .expect("an answer is a valid header value");
                    }
                    Ok(None) => {}
                    Err(error) => {
                        assert_eq!(error, HandshakeError::InvalidExtensions);
                        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
                    }
                }
            }
        }
        Err(error) => {
            let status = error.status();
            assert!(
                [
                    StatusCode::BAD_REQUEST,
                    StatusCode::METHOD_NOT_ALLOWED,
                    StatusCode::UPGRADE_REQUIRED
                ]
                .contains(&status),
                "{error}: {status}"
            );
            assert!(!error.reason().is_empty());
        }
    }
});
