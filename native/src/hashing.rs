//! The 64-bit string hash of analyzer/summary/bounded.py (`hash_strings`), in one pass over the
//! bytes: the NumPy path computes the same values in several passes of 8 bytes per input byte.

const LENGTH: u64 = 0x9E37_79B9_7F4A_7C15;
const BASE: u64 = 0x0000_0100_0000_01B3;

/// splitmix64's finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hash of one string: the sum of its bytes times BASE**(position + 1) (mod 2**64), plus
/// its length times LENGTH, mixed.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    // Horner's rule from the last byte: (((b[n-1]) * B + b[n-2]) * B + ...) * B
    let summed = bytes.iter().rev().fold(0u64, |acc, &b| {
        acc.wrapping_add(u64::from(b)).wrapping_mul(BASE)
    });
    mix(summed.wrapping_add((bytes.len() as u64).wrapping_mul(LENGTH)))
}

/// The hash of each string `data[offsets[i]..offsets[i + 1]]`, each cut before its first
/// `stop` byte when one is given. Offsets must grow within `data` (checked by the caller).
pub fn hash_all(data: &[u8], offsets: &[i64], stop: Option<u8>) -> Vec<u64> {
    offsets
        .windows(2)
        .map(|w| {
            let string = &data[w[0] as usize..w[1] as usize];
            let cut = match stop {
                Some(byte) => memchr::memchr(byte, string).map_or(string, |at| &string[..at]),
                None => string,
            };
            hash_bytes(cut)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_string_hashes_its_length_alone() {
        assert_eq!(hash_bytes(b""), mix(0));
    }

    #[test]
    fn a_byte_is_weighted_by_its_position() {
        let expected = 97u64
            .wrapping_mul(BASE)
            .wrapping_add(98u64.wrapping_mul(BASE.wrapping_mul(BASE)))
            .wrapping_add(2u64.wrapping_mul(LENGTH));
        assert_eq!(hash_bytes(b"ab"), mix(expected));
    }

    #[test]
    fn a_stop_byte_cuts_the_string() {
        let data = b"/a?b/c/d?";
        assert_eq!(
            hash_all(data, &[0, 4, 7, 9], Some(b'?')),
            vec![hash_bytes(b"/a"), hash_bytes(b"/c/"), hash_bytes(b"d")]
        );
    }
}
