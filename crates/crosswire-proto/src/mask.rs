//! Client-to-server payload masking.
//!
//! Every byte a client sends is XORed with a 4-byte key, so unmasking touches
//! every payload byte and sits on the hot path of the decoder. This module does
//! it eight bytes at a time without `unsafe`, and supports resuming in the
//! middle of a frame because the decoder unmasks payloads as they trickle in.

/// XORs `buf` in place with `mask`, starting `offset` bytes into the mask.
///
/// `offset` is the number of bytes of the same frame's payload already
/// unmasked; only its value modulo 4 matters. Applying the same mask twice
/// restores the original bytes, so this function both masks and unmasks.
///
/// ```
/// use crosswire_proto::apply_mask;
///
/// let mask = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"\x7f\x9f\x4d\x51\x58";
/// // Unmask the first two bytes, then resume at offset 2.
/// let (head, tail) = payload.split_at_mut(2);
/// apply_mask(head, mask, 0);
/// apply_mask(tail, mask, 2);
/// assert_eq!(&payload, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], mask: [u8; 4], offset: usize) {
    // Rotate the key so that index 0 of `key` applies to `buf[0]`; from then on
    // every 4-aligned position of `buf` starts a fresh key cycle.
    let key = rotate(mask, offset);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);

    let (words, rest) = buf.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ wide).to_ne_bytes();
    }
    // Eight is a multiple of four, so the tail starts at key phase 0 again.
    for (byte, k) in rest.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

/// The mask as seen from `offset` bytes into the payload.
fn rotate(mask: [u8; 4], offset: usize) -> [u8; 4] {
    let mut key = mask;
    key.rotate_left(offset % 4);
    key
}

#[cfg(test)]
mod tests {
    use super::apply_mask;
    use proptest::prelude::*;

    fn naive(buf: &mut [u8], mask: [u8; 4], offset: usize) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte ^= mask[(offset + i) % 4];
        }
    }

    #[test]
    fn rfc_example_unmasks_to_hello() {
        let mut payload = *b"\x7f\x9f\x4d\x51\x58";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn empty_buffer_is_untouched() {
        let mut payload: [u8; 0] = [];
        apply_mask(&mut payload, [1, 2, 3, 4], 3);
    }

    proptest! {
        #[test]
        fn matches_naive_loop(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            offset in 0usize..64,
        ) {
            let mut fast = data.clone();
            let mut slow = data;
            apply_mask(&mut fast, mask, offset);
            naive(&mut slow, mask, offset);
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn split_application_matches_whole(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            mask in any::<[u8; 4]>(),
            split in any::<prop::sample::Index>(),
        ) {
            let mut whole = data.clone();
            apply_mask(&mut whole, mask, 0);

            let mut pieces = data;
            let at = split.index(pieces.len() + 1);
            let (head, tail) = pieces.split_at_mut(at);
            apply_mask(head, mask, 0);
            apply_mask(tail, mask, at);
            prop_assert_eq!(whole, pieces);
        }
    }
}
