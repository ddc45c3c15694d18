//! Strings dictionary-encoded as Arrow's `dictionary_encode` encodes them (codes in order of
//! first appearance, nulls left out), hashing each string once with a word-at-a-time hash.

use crate::folding::intern;

/// A fast hash of a string, for interning only (not stored: see hashing.rs for that one).
fn word_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517C_C1B7_2722_0A95;
    let mut words = bytes.chunks_exact(8);
    let mut h = bytes.len() as u64;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let tail = words
        .remainder()
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    crate::hashing::mix((h.rotate_left(5) ^ tail).wrapping_mul(K))
}

/// Strings numbered: each one's code, the first row of each code and, for strings cut at a
/// stop byte, the distinct cut strings themselves (bytes, and offsets into them).
pub struct Encoded {
    pub codes: Vec<i32>,
    pub firsts: Vec<i64>,
    pub values: Option<(Vec<u8>, Vec<i64>)>,
}

/// The code of each string `data[offsets[i]..offsets[i + 1]]` (-1 where `valid` says null),
/// each cut before its first `stop` byte when one is given, numbered from 0 in order of first
/// appearance, and the first row of each code.
pub fn encode(data: &[u8], offsets: &[i64], valid: Option<&[bool]>, stop: Option<u8>) -> Encoded {
    let n = offsets.len().saturating_sub(1);
    let string = |row: usize| {
        let whole = &data[offsets[row] as usize..offsets[row + 1] as usize];
        match stop {
            Some(byte) => memchr::memchr(byte, whole).map_or(whole, |at| &whole[..at]),
            None => whole,
        }
    };
    let rows: Vec<usize> = (0..n).filter(|&r| valid.is_none_or(|v| v[r])).collect();
    let (ids, firsts) = intern(
        rows.len(),
        |i| word_hash(string(rows[i])),
        |a, b| string(rows[a]) == string(rows[b]),
    );
    let mut codes = vec![-1i32; n];
    for (&row, &id) in rows.iter().zip(&ids) {
        codes[row] = id as i32;
    }
    let firsts: Vec<i64> = firsts.iter().map(|&i| rows[i] as i64).collect();
    let values = stop.map(|_| {
        let mut bytes = Vec::new();
        let mut ends = vec![0i64];
        for &row in &firsts {
            bytes.extend_from_slice(string(row as usize));
            ends.push(bytes.len() as i64);
        }
        (bytes, ends)
    });
    Encoded {
        codes,
        firsts,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_first_appearance_and_nulls_stay_out() {
        let data = b"GETPOSTGETxGET";
        let offsets = [0, 3, 7, 10, 11, 14, 14];
        let valid = [true, true, true, false, true, true];
        let out = encode(data, &offsets, Some(&valid), None);
        assert_eq!(out.codes, vec![0, 1, 0, -1, 0, 2]);
        assert_eq!(out.firsts, vec![0, 1, 5]);
        assert!(out.values.is_none());
    }

    #[test]
    fn strings_that_share_a_prefix_are_told_apart() {
        let data = b"abcdefghiabcdefghj";
        assert_eq!(encode(data, &[0, 9, 18], None, None).codes, vec![0, 1]);
    }

    #[test]
    fn a_stop_byte_cuts_each_string() {
        let data = b"/a?x/a/a?y/b";
        let out = encode(data, &[0, 4, 6, 10, 12], None, Some(b'?'));
        assert_eq!(out.codes, vec![0, 0, 0, 1]);
        assert_eq!(out.firsts, vec![0, 3]);
        assert_eq!(out.values, Some((b"/a/b".to_vec(), vec![0, 2, 4])));
    }
}
