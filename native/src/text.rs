//! Values from field text, as Arrow's casts and analyzer/request_line.py give them.

/// Seconds since the epoch of a CLF timestamp `dd/Mon/yyyy:HH:MM:SS +hhmm` (26 bytes, shape
/// already checked), or None when it is not one of the plain cases: out-of-range parts, unknown
/// month names and far years are left to Arrow's `strptime`, whose rules decide them.
pub fn clf_seconds(t: &[u8]) -> Option<i64> {
    let num = |a: usize, b: usize| -> i64 {
        t[a..b]
            .iter()
            .fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'))
    };
    let day = num(0, 2);
    let month = month_number(&t[3..6])?;
    let year = num(7, 11);
    let (hour, minute, second) = (num(12, 14), num(15, 17), num(18, 20));
    let (off_h, off_m) = (num(22, 24), num(24, 26));
    // strptime accepts days 1-31 in any month (31 Feb is 2 Mar) and seconds up to 61
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 61 {
        return None;
    }
    if off_h > 23 || off_m > 59 || !(1000..=9999).contains(&year) {
        return None;
    }
    let offset = (off_h * 3600 + off_m * 60) * if t[21] == b'-' { -1 } else { 1 };
    let days = days_from_civil(year, month, 1) + day - 1;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn month_number(name: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let lower = [
        name[0].to_ascii_lowercase(),
        name[1].to_ascii_lowercase(),
        name[2].to_ascii_lowercase(),
    ];
    MONTHS
        .iter()
        .position(|m| **m == lower)
        .map(|i| i as i64 + 1)
}

/// Days from 1970-01-01 to the date (proleptic Gregorian), H. Hinnant's algorithm.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `\d+` text as an integer (at most 18 digits: always fits).
pub fn digits(t: &[u8]) -> i64 {
    t.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0'))
}

// analyzer/request_line.py: TOKEN = [!#$%&'*+.^_`|~0-9A-Za-z-]
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b)
}

/// `^[A-Za-z][A-Za-z0-9+.-]*/[^ ]*$`
fn is_protocol(w: &[u8]) -> bool {
    if !w.first().is_some_and(u8::is_ascii_alphabetic) || w.contains(&b' ') {
        return false;
    }
    match w.iter().position(|&b| b == b'/') {
        Some(slash) => w[1..slash]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)),
        None => false,
    }
}

pub type Span = Option<(usize, usize)>;

fn nonempty(a: usize, b: usize) -> Span {
    (b > a).then_some((a, b))
}

/// (method, target, protocol) of a request line, as byte ranges of `r`; None where
/// analyzer.request_line.split_request gives null.
pub fn split_request(r: &[u8]) -> (Span, Span, Span) {
    let n = r.len();
    let mut spaces = memchr::memchr_iter(b' ', r);
    let Some(first) = spaces.next() else {
        return (None, None, None);
    };
    let second = spaces.next();
    let more = spaces.next().is_some();
    if first == 0 || !r[..first].iter().all(|&b| is_token_byte(b)) {
        return (None, None, None);
    }
    let method = Some((0, first));
    match (second, more) {
        (None, _) => return (method, nonempty(first + 1, n), None),
        (Some(second), false) if is_protocol(&r[second + 1..]) => {
            return (method, nonempty(first + 1, second), Some((second + 1, n)));
        }
        _ => {}
    }
    // ^(?P<method>TOKEN) +(?P<target>.*?)(?: +(?P<protocol>PROTOCOL))? *$, as RE2 runs it: every
    // space after the method first, then the shortest target after which the rest is spaces,
    // a protocol and spaces, or only spaces; a target never holds a newline (RE2's ".")
    let mut start = first;
    while start < n && r[start] == b' ' {
        start += 1;
    }
    let mut end = n;
    while end > start && r[end - 1] == b' ' {
        end -= 1;
    }
    let clean = |a: usize, b: usize| !r[a..b].contains(&b'\n');
    let last_space = r[start..end]
        .iter()
        .rposition(|&b| b == b' ')
        .map(|s| start + s);
    if let Some(space) = last_space {
        if is_protocol(&r[space + 1..end]) {
            let mut cut = space;
            while cut > start && r[cut - 1] == b' ' {
                cut -= 1;
            }
            if clean(start, cut) {
                return (method, nonempty(start, cut), Some((space + 1, end)));
            }
        }
    }
    if clean(start, end) {
        return (method, nonempty(start, end), None);
    }
    // a newline in a protocol right after the method's spaces: one space given back to sit
    // between an empty target and the protocol
    if last_space.is_none() && start - first >= 2 && is_protocol(&r[start..end]) {
        return (method, None, Some((start, end)));
    }
    (None, None, None)
}

/// The value as sent, as analyzer/parse/escapes.py's `decode_escapes` gives it for the
/// "apache" and "nginx" styles: `\xhh` and `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\v`, `\f`
/// decoded, any other backslash kept; bytes that do not form UTF-8 then written as `\xhh`
/// (Python's "backslashreplace").
pub fn decode_escapes(value: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut raw = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b != b'\\' || i + 1 >= value.len() {
            raw.push(b);
            i += 1;
            continue;
        }
        let code = value[i + 1];
        let byte = match code {
            b'x' => match (
                value.get(i + 2).and_then(hex),
                value.get(i + 3).and_then(hex),
            ) {
                (Some(high), Some(low)) => {
                    raw.push(high * 16 + low);
                    i += 4;
                    continue;
                }
                _ => None,
            },
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'b' => Some(0x08),
            b'v' => Some(0x0b),
            b'f' => Some(0x0c),
            _ => None,
        };
        match byte {
            Some(decoded) => {
                raw.push(decoded);
                i += 2;
            }
            None => {
                raw.push(b'\\');
                i += 1;
            }
        }
    }
    backslash_replaced(&raw, out);
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

/// `raw` as UTF-8, each byte of an invalid sequence written as `\xhh` (lowercase, as Python's
/// "backslashreplace" error handler writes it).
pub fn backslash_replaced(raw: &[u8], out: &mut Vec<u8>) {
    let mut rest = raw;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.extend_from_slice(valid.as_bytes());
                return;
            }
            Err(error) => {
                let (valid, after) = rest.split_at(error.valid_up_to());
                out.extend_from_slice(valid);
                let bad = error.error_len().unwrap_or(after.len());
                for &b in &after[..bad] {
                    out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                }
                rest = &after[bad..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        decode_escapes(value, &mut out);
        out
    }

    fn split(r: &[u8]) -> (Option<&[u8]>, Option<&[u8]>, Option<&[u8]>) {
        let (m, t, p) = split_request(r);
        let cut = |s: Span| s.map(|(a, b)| &r[a..b]);
        (cut(m), cut(t), cut(p))
    }

    #[test]
    fn request_lines_split_as_the_general_pattern_does() {
        let get: Option<&[u8]> = Some(b"GET");
        let http: Option<&[u8]> = Some(b"HTTP/1.1");
        assert_eq!(split(b"GET   HTTP/1.1"), (get, http, None));
        assert_eq!(
            split(b"GET   HTTP/1.1\n"),
            (get, None, Some(&b"HTTP/1.1\n"[..]))
        );
        assert_eq!(split(b"GET  x\n"), (None, None, None));
        assert_eq!(
            split(b"GET HTTP/1.1  "),
            (get, Some(&b"HTTP/1.1"[..]), None)
        );
        assert_eq!(
            split(b"GET /a b  HTTP/1.1 "),
            (get, Some(&b"/a b"[..]), http)
        );
        assert_eq!(split(b"GET \n HTTP"), (None, None, None));
        assert_eq!(
            split(b"GET /a b HTTP/1.1\n"),
            (get, Some(&b"/a b"[..]), Some(&b"HTTP/1.1\n"[..]))
        );
    }

    #[test]
    fn escapes_as_python_decodes_them() {
        assert_eq!(decoded(br#"a \"b\" c"#), br#"a "b" c"#.to_vec());
        assert_eq!(decoded(br"\x16\x03\x01"), vec![0x16, 0x03, 0x01]);
        assert_eq!(decoded(br"\xe9t\xe9"), br"\xe9t\xe9".to_vec());
        assert_eq!(decoded(br"\xc3\xa9"), "é".as_bytes().to_vec());
        assert_eq!(decoded(br"\q\x4"), br"\q\x4".to_vec());
        assert_eq!(decoded(br"\\x41\"), br"\x41\".to_vec());
        assert_eq!(decoded(br"\xed\xa0\x80"), br"\xed\xa0\x80".to_vec());
    }
}
