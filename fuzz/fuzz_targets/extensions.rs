//! Feeds arbitrary text to the `Sec-WebSocket-Extensions` parser and the
//! permessage-deflate negotiation, and checks that an accepted offer's
//! answer is itself a valid offer that negotiates to the same agreement.
#![no_main]

use crosswire_proto::deflate::{Policy, negotiate, parse_extensions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_extensions(header);
    for policy in [
        Policy::default(),
        Policy::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true),
    ] {
        let agreement = negotiate(header, policy);
        // Negotiation fails exactly when the header does not parse.
        assert_eq!(agreement.is_err(), parsed.is_err());
        let Ok(Some(agreement)) = agreement else {
            continue;
        };
        let answer = agreement.response();
        let again = negotiate(&answer, Policy::default())
            .expect("an answer parses")
            .expect("an answer is an acceptable offer");
        assert_eq!(again, agreement, "{header:?} answered {answer:?}");
    }
});
