//! The escape-free shape of a format, matched the way the format's `fast_regex` matches it.
//!
//! A format is literals and fields; each field has the escape-free pattern of its kind and
//! shape (analyzer/formats/fields.py, `FieldSpec.pattern(fast=True)`). RE2 takes the first
//! match in priority order; for every pattern here that order is: "-" first where the pattern
//! starts with a `-|` alternative, then the other ends of the field's text, longest first (a
//! bracketed host literal, `\[...\]`, comes before the other host ends). Where a field's run
//! cannot hold the first byte of the literal after it (nearly always), the longest run is the
//! only candidate; otherwise (`%v:%p`: a host name may hold ":") the candidates are tried in
//! that order, within a step budget.

/// How a field's text is recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pat {
    /// `[0-9A-Za-z_.:%\[\]-]*`
    Address,
    /// `[^\s"\\]*` (RE2's `\s`: tab, newline, form feed, carriage return, space)
    Token,
    /// `[^"\\\r\n\x00]*`, between double quotes
    Quoted,
    /// `\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}`, in brackets or not
    ClfTime { brackets: bool },
    /// `\d{3}`
    Status,
    /// `-|\d{1,18}`
    Int,
    /// `-|\d{1,15}(?:\.\d{1,9})?`
    Seconds,
    /// `\d{1,15}\.\d{3}` (NGINX's `$request_time`)
    Millis,
    /// `\[[0-9A-Fa-f:.]*\]|[^\s:]*(?::+[^\s\d:][^\s:]*)*` (Apache's `%v`, `%V`)
    Host,
    /// `-|[A-Za-z_-]*(?:, *[A-Za-z_-]+)*` (an Allow header's list of methods)
    Methods,
}

/// A field's pattern; `dash` when the format puts `-|` in front of it (a conditional field).
#[derive(Clone, Copy, Debug)]
pub struct FieldPat {
    pub pat: Pat,
    pub dash: bool,
}

pub enum Piece {
    Lit(Vec<u8>),
    Field(FieldPat),
}

/// The outcome of matching one line.
pub enum Matched {
    Yes,
    No,
    /// too many candidates were tried: the caller gives the block to the Arrow path
    OverBudget,
}

type Class = [bool; 256];

macro_rules! class_of {
    ($f:ident) => {{
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = $f(b as u8);
            b += 1;
        }
        table
    }};
}

const fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}
const fn is_address(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'%' | b'[' | b']' | b'-')
}
const fn is_token(b: u8) -> bool {
    !is_space(b) && !matches!(b, b'"' | b'\\')
}
const fn is_quoted(b: u8) -> bool {
    !matches!(b, b'"' | b'\\' | b'\r' | b'\n' | 0)
}
const fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}
const fn is_int(b: u8) -> bool {
    b.is_ascii_digit() || b == b'-'
}
const fn is_decimal(b: u8) -> bool {
    b.is_ascii_digit() || b == b'.' || b == b'-'
}
const fn is_not_space(b: u8) -> bool {
    !is_space(b)
}
const fn is_method_list(b: u8) -> bool {
    b.is_ascii_alphabetic() || matches!(b, b'_' | b'-' | b',' | b' ')
}
const fn is_ipv6_literal(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

static ADDRESS: Class = class_of!(is_address);
static TOKEN: Class = class_of!(is_token);
static QUOTED: Class = class_of!(is_quoted);
static DIGIT: Class = class_of!(is_digit);
static INT: Class = class_of!(is_int);
static DECIMAL: Class = class_of!(is_decimal);
static NOT_SPACE: Class = class_of!(is_not_space);
static METHOD_LIST: Class = class_of!(is_method_list);
static IPV6_LITERAL: Class = class_of!(is_ipv6_literal);

impl Pat {
    /// Every byte the field's text may hold ("-" included for a conditional field).
    fn class(self) -> &'static Class {
        match self {
            Pat::Address => &ADDRESS,
            Pat::Token | Pat::ClfTime { .. } => &TOKEN,
            Pat::Quoted => &QUOTED,
            Pat::Status | Pat::Int => &INT,
            Pat::Seconds | Pat::Millis => &DECIMAL,
            Pat::Host => &NOT_SPACE,
            Pat::Methods => &METHOD_LIST,
        }
    }
}

fn run(class: &Class, body: &[u8], pos: usize) -> usize {
    body[pos..]
        .iter()
        .position(|&b| !class[b as usize])
        .unwrap_or(body.len() - pos)
}

/// `run(&QUOTED, ..)` with SIMD searches: quoted text (a user agent) is most of a line.
fn quoted_run(body: &[u8], pos: usize) -> usize {
    let hay = &body[pos..];
    let stop = memchr::memchr3(b'"', b'\\', 0, hay).unwrap_or(hay.len());
    // a line holds no newline, and a carriage return is rare: one more pass over the run
    memchr::memchr2(b'\r', b'\n', &hay[..stop]).unwrap_or(stop)
}

fn run_of(pat: Pat, body: &[u8], pos: usize) -> usize {
    match pat {
        Pat::Quoted => quoted_run(body, pos),
        Pat::Address => run(&ADDRESS, body, pos),
        _ => run(&TOKEN, body, pos),
    }
}

/// Ends of the field's text starting at `pos`, in RE2's priority order, into `out`.
fn candidates(field: FieldPat, body: &[u8], pos: usize, out: &mut Vec<usize>) {
    out.clear();
    let dash = body.get(pos) == Some(&b'-');
    if field.dash && dash {
        out.push(pos + 1);
    }
    match field.pat {
        Pat::Address | Pat::Token | Pat::Quoted => {
            let n = run_of(field.pat, body, pos);
            out.extend((0..=n).rev().map(|k| pos + k));
        }
        Pat::Status => {
            if run(&DIGIT, body, pos) >= 3 {
                out.push(pos + 3);
            }
        }
        Pat::Int => {
            if dash {
                out.push(pos + 1);
            } else {
                let n = run(&DIGIT, body, pos).min(18);
                out.extend((1..=n).rev().map(|k| pos + k));
            }
        }
        Pat::Seconds => {
            if dash {
                out.push(pos + 1);
                return;
            }
            let n = run(&DIGIT, body, pos).min(15);
            for d in (1..=n).rev() {
                let at = pos + d;
                if body.get(at) == Some(&b'.') {
                    let f = run(&DIGIT, body, at + 1).min(9);
                    out.extend((1..=f).rev().map(|k| at + 1 + k));
                }
                out.push(at);
            }
        }
        Pat::Millis => {
            let n = run(&DIGIT, body, pos);
            if (1..=15).contains(&n)
                && body.get(pos + n) == Some(&b'.')
                && run(&DIGIT, body, pos + n + 1) >= 3
            {
                out.push(pos + n + 4);
            }
        }
        Pat::Host => host_ends(body, pos, out),
        Pat::Methods => {
            if dash {
                out.push(pos + 1);
            }
            method_list_ends(body, pos, out);
        }
        Pat::ClfTime { brackets } => out.extend(clf_end(brackets, body, pos)),
    }
}

/// The end of a CLF timestamp at `pos` (in brackets or not), if there is one.
fn clf_end(brackets: bool, body: &[u8], pos: usize) -> Option<usize> {
    let len = 26 + 2 * usize::from(brackets);
    let text = body.get(pos..pos + len)?;
    let inner = if brackets {
        if text[0] != b'[' || text[len - 1] != b']' {
            return None;
        }
        &text[1..len - 1]
    } else {
        text
    };
    clf_shape(inner).then_some(pos + len)
}

/// The ends of `\[[0-9A-Fa-f:.]*\]` first, then those of `[^\s:]*(?::+[^\s\d:][^\s:]*)*`,
/// longest first: one pass over the run of non-space bytes finds where the second pattern can
/// stop (after a byte that is not ":", or at the start), so a long run costs its length once.
fn host_ends(body: &[u8], pos: usize, out: &mut Vec<usize>) {
    if body.get(pos) == Some(&b'[') {
        let n = run(&IPV6_LITERAL, body, pos + 1);
        if body.get(pos + 1 + n) == Some(&b']') {
            out.push(pos + n + 2);
        }
    }
    let n = run(&NOT_SPACE, body, pos);
    let start = out.len();
    out.push(pos); // the empty text
    let mut after_colons = false; // inside ":+", waiting for the byte that starts a word
    for (k, &b) in body[pos..pos + n].iter().enumerate() {
        if b == b':' {
            after_colons = true;
            continue;
        }
        if after_colons && b.is_ascii_digit() {
            break; // ":" then a digit: no match reaches further
        }
        after_colons = false;
        out.push(pos + k + 1);
    }
    out[start..].reverse();
}

/// The ends of `[A-Za-z_-]*(?:, *[A-Za-z_-]+)*`, longest first.
fn method_list_ends(body: &[u8], pos: usize, out: &mut Vec<usize>) {
    let start = out.len();
    out.push(pos);
    let mut in_word = true; // the first word may be empty
    for (k, &b) in body[pos..].iter().enumerate() {
        if b.is_ascii_alphabetic() || b == b'_' || b == b'-' {
            in_word = true;
            out.push(pos + k + 1);
        } else if b == b',' && in_word {
            in_word = false;
        } else if b == b' ' && !in_word {
            continue;
        } else {
            break;
        }
    }
    out[start..].reverse();
}

/// Whether `t` (a run of the field's class) is a whole match of the field's pattern.
fn full(field: FieldPat, t: &[u8]) -> bool {
    if field.dash && t == b"-" {
        return true;
    }
    let digits = |t: &[u8]| t.iter().all(u8::is_ascii_digit);
    match field.pat {
        Pat::Address | Pat::Token | Pat::Quoted => true,
        Pat::Status => t.len() == 3 && digits(t),
        Pat::Int => t == b"-" || ((1..=18).contains(&t.len()) && digits(t)),
        Pat::Seconds => {
            if t == b"-" {
                return true;
            }
            let (whole, fraction) = match t.iter().position(|&b| b == b'.') {
                Some(dot) => (&t[..dot], Some(&t[dot + 1..])),
                None => (t, None),
            };
            (1..=15).contains(&whole.len())
                && digits(whole)
                && fraction.is_none_or(|f| (1..=9).contains(&f.len()) && digits(f))
        }
        Pat::Millis => {
            let n = t.len();
            (5..=19).contains(&n) && t[n - 4] == b'.' && digits(&t[..n - 4]) && digits(&t[n - 3..])
        }
        Pat::Host | Pat::Methods => {
            let mut ends = Vec::new();
            candidates(
                FieldPat {
                    pat: field.pat,
                    dash: false,
                },
                t,
                0,
                &mut ends,
            );
            ends.contains(&t.len())
        }
        Pat::ClfTime { .. } => false, // never a run: see `Matcher::new`
    }
}

/// `\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}` on exactly 26 bytes.
fn clf_shape(t: &[u8]) -> bool {
    const SHAPE: &[u8; 26] = b"dd/aaa/dddd:dd:dd:dd sdddd";
    t.len() == 26
        && SHAPE.iter().zip(t).all(|(&s, &b)| match s {
            b'd' => b.is_ascii_digit(),
            b'a' => b.is_ascii_alphabetic(),
            b's' => b == b'+' || b == b'-',
            _ => b == s,
        })
}

/// How a field's end is found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// where the run of its class stops: what follows cannot be in the field (then the text
    /// must match the field's pattern whole)
    Run,
    /// a CLF timestamp's fixed length
    Fixed,
    /// the candidates in priority order, each tried with what follows
    Search,
}

pub struct Matcher {
    pieces: Vec<Piece>,
    /// for each piece that is a field: its index among the fields
    field_index: Vec<usize>,
    /// for each field: how its end is found
    ends: Vec<Ends>,
    /// no field needs a search: a line is matched left to right, without backtracking
    linear: bool,
    pub fields: usize,
}

impl Matcher {
    pub fn new(pieces: Vec<Piece>) -> Matcher {
        let mut field_index = Vec::with_capacity(pieces.len());
        let mut ends = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            field_index.push(ends.len());
            if let Piece::Field(field) = piece {
                // every end lies in the run of the field's class, so where what follows
                // cannot be in the field, the run's end is the only end that can match
                let bounded = match pieces.get(i + 1) {
                    None => true,
                    Some(Piece::Lit(lit)) => !field.pat.class()[lit[0] as usize],
                    Some(Piece::Field(_)) => false,
                };
                ends.push(match field.pat {
                    Pat::ClfTime { .. } => Ends::Fixed,
                    _ if bounded => Ends::Run,
                    _ => Ends::Search,
                });
            }
        }
        let fields = ends.len();
        let linear = !ends.contains(&Ends::Search);
        Matcher {
            pieces,
            field_index,
            ends,
            linear,
            fields,
        }
    }

    /// Match `body` (the line without its newline) whole; `spans[f]` gets field f's text.
    /// `escaped`: as the format's full pattern matches a line whose quoted text has escapes
    /// (`(?:[^"\\]|\\.)*` between its quotes) and that may end in blanks (`[ \t]*$`), for a
    /// format where that gives the same fields (see `Plan`'s `escapes`).
    pub fn matches(
        &self,
        body: &[u8],
        spans: &mut [(u32, u32)],
        scratch: &mut Scratch,
        escaped: bool,
    ) -> Matched {
        if self.linear {
            let found = self.linear_match(body, spans, escaped, &mut scratch.last_time);
            return if found { Matched::Yes } else { Matched::No };
        }
        let mut budget = 64 + 8 * body.len();
        let mut state = State {
            scratch,
            budget: &mut budget,
            escaped,
        };
        match self.from(0, body, 0, spans, &mut state, 0) {
            Some(true) => Matched::Yes,
            Some(false) => Matched::No,
            None => Matched::OverBudget,
        }
    }

    /// The end of a field that needs no search, or None when it cannot match here.
    fn determined_end(
        &self,
        f: usize,
        field: FieldPat,
        body: &[u8],
        pos: usize,
        escaped: bool,
        last_time: &mut Vec<u8>,
    ) -> Option<usize> {
        if let (Ends::Fixed, Pat::ClfTime { brackets }) = (self.ends[f], field.pat) {
            if field.dash && body.get(pos) == Some(&b'-') {
                return Some(pos + 1); // (a timestamp never starts with "-")
            }
            // neighbouring lines mostly log the same second: its shape was checked already
            let len = 26 + 2 * usize::from(brackets);
            if body.get(pos..pos + len) == Some(last_time.as_slice()) {
                return Some(pos + len);
            }
            let end = clf_end(brackets, body, pos)?;
            last_time.clear();
            last_time.extend_from_slice(&body[pos..end]);
            return Some(end);
        }
        let end = pos
            + match field.pat {
                Pat::Quoted if escaped => escaped_run(body, pos),
                Pat::Quoted | Pat::Address | Pat::Token => run_of(field.pat, body, pos),
                other => run(other.class(), body, pos),
            };
        full(field, &body[pos..end]).then_some(end)
    }

    /// A line of a format whose fields need no search, left to right.
    fn linear_match(
        &self,
        body: &[u8],
        spans: &mut [(u32, u32)],
        escaped: bool,
        last_time: &mut Vec<u8>,
    ) -> bool {
        let mut pos = 0;
        for (index, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Lit(lit) => {
                    if !has_at(body, pos, lit) {
                        return false;
                    }
                    pos += lit.len();
                }
                Piece::Field(field) => {
                    let f = self.field_index[index];
                    let Some(end) = self.determined_end(f, *field, body, pos, escaped, last_time)
                    else {
                        return false;
                    };
                    spans[f] = (pos as u32, end as u32);
                    pos = end;
                }
            }
        }
        at_end(body, pos, escaped)
    }

    fn from(
        &self,
        index: usize,
        body: &[u8],
        pos: usize,
        spans: &mut [(u32, u32)],
        state: &mut State<'_>,
        depth: usize,
    ) -> Option<bool> {
        let Some(piece) = self.pieces.get(index) else {
            return Some(at_end(body, pos, state.escaped));
        };
        match piece {
            Piece::Lit(lit) => {
                if has_at(body, pos, lit) {
                    self.from(index + 1, body, pos + lit.len(), spans, state, depth)
                } else {
                    Some(false)
                }
            }
            Piece::Field(field) => {
                let f = self.field_index[index];
                if self.ends[f] != Ends::Search {
                    let Some(end) = self.determined_end(
                        f,
                        *field,
                        body,
                        pos,
                        state.escaped,
                        &mut state.scratch.last_time,
                    ) else {
                        return Some(false);
                    };
                    spans[f] = (pos as u32, end as u32);
                    return self.from(index + 1, body, end, spans, state, depth);
                }
                // each nesting level keeps its own candidate list
                if state.scratch.lists.len() <= depth {
                    state.scratch.lists.push(Vec::new());
                }
                let mut ends = std::mem::take(&mut state.scratch.lists[depth]);
                candidates(*field, body, pos, &mut ends);
                let next_lit = match self.pieces.get(index + 1) {
                    Some(Piece::Lit(lit)) => Some(lit.as_slice()),
                    _ => None,
                };
                let mut result = Some(false);
                for &end in &ends {
                    *state.budget = state.budget.checked_sub(1)?;
                    if next_lit.is_some_and(|lit| !has_at(body, end, lit)) {
                        continue;
                    }
                    spans[f] = (pos as u32, end as u32);
                    match self.from(index + 1, body, end, spans, state, depth + 1) {
                        Some(false) => {}
                        other => {
                            result = other;
                            break;
                        }
                    }
                }
                state.scratch.lists[depth] = ends;
                result
            }
        }
    }
}

/// What a search carries along.
struct State<'s> {
    scratch: &'s mut Scratch,
    budget: &'s mut usize,
    escaped: bool,
}

/// Whether a match that got to `pos` is a match of the whole line.
fn at_end(body: &[u8], pos: usize, escaped: bool) -> bool {
    pos == body.len() || (escaped && body[pos..].iter().all(|&b| b == b' ' || b == b'\t'))
}

/// The run of `(?:[^"\\]|\\.)*`: to the first quote that no backslash escapes.
fn escaped_run(body: &[u8], pos: usize) -> usize {
    let mut at = pos;
    while let Some(k) = memchr::memchr2(b'"', b'\\', &body[at..]) {
        at += k;
        if body[at] == b'"' || at + 1 >= body.len() {
            return at - pos;
        }
        at += 2;
    }
    body.len() - pos
}

/// `body[pos..]` starts with `lit` (a literal is a few bytes: no call to memcmp).
#[inline]
fn has_at(body: &[u8], pos: usize, lit: &[u8]) -> bool {
    body.len() >= pos + lit.len() && lit.iter().zip(&body[pos..]).all(|(a, b)| a == b)
}

#[derive(Default)]
pub struct Scratch {
    lists: Vec<Vec<usize>>,
    /// the last CLF timestamp whose shape was checked
    last_time: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(pat: Pat, dash: bool, text: &[u8]) -> Vec<usize> {
        let mut out = Vec::new();
        candidates(FieldPat { pat, dash }, text, 0, &mut out);
        out
    }

    #[test]
    fn host_ends_in_priority_order() {
        assert_eq!(ends(Pat::Host, false, b"a:b:80 x"), vec![3, 1, 0]);
        assert_eq!(ends(Pat::Host, false, b"[::1]:80"), vec![5, 1, 0]);
        assert_eq!(ends(Pat::Host, false, b"a::b"), vec![4, 1, 0]);
    }

    #[test]
    fn method_list_ends_in_priority_order() {
        assert_eq!(
            ends(Pat::Methods, false, b"GET, HEAD\""),
            vec![9, 8, 7, 6, 3, 2, 1, 0]
        );
        assert_eq!(ends(Pat::Methods, false, b"A,,B"), vec![1, 0]);
        assert_eq!(ends(Pat::Methods, true, b"-\""), vec![1, 1, 1, 0]);
    }
}
