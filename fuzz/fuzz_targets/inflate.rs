//! Feeds arbitrary bytes to the permessage-deflate inflater as one message
//! cut into pieces, and checks that the output never grows past the cap,
//! however the data inflates.
//!
//! Input layout: one byte selecting the cap (0 to 255 × 64 bytes), one byte
//! selecting the window (low nibble, 8 to 15) and context takeover (bit 7),
//! one byte `n` for the piece length (1 to 256), then the compressed data.
#![no_main]

use crosswire_proto::deflate::{InflateError, Inflater};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [cap, window, piece, compressed @ ..] = data else {
        return;
    };
    let limit = usize::from(*cap) * 64;
    let bits = 8 + (window & 0x07);
    let mut inflater = Inflater::new(bits, window & 0x80 == 0);
    let piece = usize::from(*piece) + 1;

    // Two messages in a row, so the state carried between them is exercised.
    for _ in 0..2 {
        let mut out = Vec::new();
        let mut result = Ok(());
        for chunk in compressed.chunks(piece) {
            result = inflater.inflate(chunk, &mut out, limit);
            check(&out, limit);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = inflater.finish(&mut out, limit);
            check(&out, limit);
        }
        match result {
            Ok(()) => assert!(out.len() <= limit),
            Err(InflateError::TooLarge { limit: reported }) => assert_eq!(reported, limit),
            Err(_) => return,
        }
    }
});

/// The cap holds for what was written and for what was allocated.
fn check(out: &[u8], limit: usize) {
    assert!(
        out.len() <= limit + 1,
        "wrote {} bytes past a cap of {limit}",
        out.len()
    );
}
