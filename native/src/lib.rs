//! logscan's native parsing kernel: one pass over a block of log lines for the lines of the
//! format's escape-free shape (see analyzer/kernel.py for what it covers and how its output
//! joins the Arrow path's).

mod columns;
mod counts;
mod encoding;
mod folding;
mod hashing;
mod matcher;
mod smallest;
mod text;

use std::panic::{catch_unwind, AssertUnwindSafe};

use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use columns::{Bitmap, ClfCache, Numbers, Strings, Times};
use counts::{Counting, Groups};
use matcher::{FieldPat, Matched, Matcher, Pat, Piece, Scratch};

pyo3::create_exception!(_native, KernelError, pyo3::exceptions::PyException);

/// What a field's text becomes.
#[derive(Clone, Copy)]
enum Out {
    Skip,
    /// string, "-" -> null
    Text,
    /// string as logged, split into method / target / protocol
    Request,
    Status,
    Int,
    Port,
    /// float64 seconds: divided by `divide` when > 0, else multiplied by `multiply`
    Seconds {
        divide: f64,
        multiply: f64,
    },
    Time {
        brackets: bool,
    },
}

enum Column {
    None,
    Str(Strings),
    Request(Box<[Strings; 4]>),
    I16(Numbers<i16>),
    I32(Numbers<i32>),
    I64(Numbers<i64>),
    F64(Numbers<f64>),
    Time(Times),
}

/// What `Plan` is told to count by: the indices of the vhost, status, request and time among
/// the fields, and the statuses whose rows are built.
type CountingArgs = (
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Option<usize>,
    Vec<i16>,
);

/// A format compiled for the kernel.
#[pyclass(frozen, module = "analyzer._native")]
struct Plan {
    matcher: Matcher,
    outs: Vec<Out>,
    /// for each field: the server escapes its bytes, so a line read as the full pattern reads
    /// it has its escapes decoded (analyzer.parse.block._exact)
    decode: Vec<bool>,
    /// lines with escapes in their quoted text, or blanks at their end, are read as the
    /// format's full pattern reads them (see `Matcher::matches`)
    escapes: bool,
    counting: Option<Counting>,
}

fn parse_pat(name: &str) -> PyResult<Pat> {
    Ok(match name {
        "address" => Pat::Address,
        "token" => Pat::Token,
        "quoted" => Pat::Quoted,
        "clf_time" => Pat::ClfTime { brackets: false },
        "clf_time_brackets" => Pat::ClfTime { brackets: true },
        "status" => Pat::Status,
        "int" => Pat::Int,
        "seconds" => Pat::Seconds,
        "millis" => Pat::Millis,
        "host" => Pat::Host,
        "methods" => Pat::Methods,
        other => return Err(PyValueError::new_err(format!("unknown pattern {other:?}"))),
    })
}

fn parse_out(name: &str, pat: Pat, scale: f64) -> PyResult<Out> {
    Ok(match name {
        "skip" => Out::Skip,
        "text" => Out::Text,
        "request" => Out::Request,
        "status" => Out::Status,
        "int" => Out::Int,
        "port" => Out::Port,
        "seconds" if scale == 1.0 => Out::Seconds {
            divide: 0.0,
            multiply: 1.0,
        },
        "seconds" if scale < 1.0 => Out::Seconds {
            divide: (1.0 / scale).round(),
            multiply: 1.0,
        },
        "seconds" => Out::Seconds {
            divide: 0.0,
            multiply: scale,
        },
        "time" => match pat {
            Pat::ClfTime { brackets } => Out::Time { brackets },
            _ => {
                return Err(PyValueError::new_err(
                    "a time output needs a CLF time pattern",
                ))
            }
        },
        other => return Err(PyValueError::new_err(format!("unknown output {other:?}"))),
    })
}

#[pymethods]
impl Plan {
    /// `pieces`: a literal (bytes, not empty) or a field (pattern name, whether "-" is tried
    /// first, output name, scale, whether its escapes are decoded). `escapes`: whether lines
    /// with escapes or trailing blanks are read too (the caller has checked that the format's
    /// full pattern reads them as `Matcher::matches` does). `counting`: None, or the indices
    /// among the fields (or None) of the vhost, status, request and time, and the statuses
    /// whose rows are built: the other rows are then counted (see counts.rs), not built.
    #[new]
    #[pyo3(signature = (pieces, escapes=false, counting=None))]
    fn new(
        pieces: &Bound<'_, PyList>,
        escapes: bool,
        counting: Option<CountingArgs>,
    ) -> PyResult<Plan> {
        let mut compiled = Vec::new();
        let mut outs = Vec::new();
        let mut decode = Vec::new();
        for item in pieces.iter() {
            if let Ok(lit) = item.extract::<Vec<u8>>() {
                if lit.is_empty() {
                    return Err(PyValueError::new_err("empty literal"));
                }
                compiled.push(Piece::Lit(lit));
                continue;
            }
            let (pat, dash, out, scale, decoded): (String, bool, String, f64, bool) =
                item.extract()?;
            let pat = parse_pat(&pat)?;
            outs.push(parse_out(&out, pat, scale)?);
            decode.push(decoded);
            compiled.push(Piece::Field(FieldPat { pat, dash }));
        }
        let counting = match counting {
            None => None,
            Some((vhost, status, request, time, classed)) => {
                let counted = Counting {
                    vhost,
                    status,
                    request,
                    time,
                    classed,
                };
                check_counting(&counted, &outs)?;
                Some(counted)
            }
        };
        Ok(Plan {
            matcher: Matcher::new(compiled),
            outs,
            decode,
            escapes,
            counting,
        })
    }
}

/// The fields a Summary reads must be built with the outputs counting reads them as.
fn check_counting(c: &Counting, outs: &[Out]) -> PyResult<()> {
    let is = |field: Option<usize>, ok: fn(Out) -> bool| {
        field.is_none_or(|f| outs.get(f).is_some_and(|&o| ok(o)))
    };
    if is(c.vhost, |o| matches!(o, Out::Text))
        && is(c.status, |o| matches!(o, Out::Status))
        && is(c.request, |o| matches!(o, Out::Request))
        && is(c.time, |o| matches!(o, Out::Time { .. }))
    {
        Ok(())
    } else {
        Err(PyValueError::new_err(
            "counting reads fields that are not built as it reads them",
        ))
    }
}

/// The fields' text on one matched line: spans of the line, or their decoded escapes.
struct Row<'a> {
    body: &'a [u8],
    spans: &'a [(u32, u32)],
    /// per field: Some when the text was decoded (into `decoded`)
    decoded: &'a [Option<usize>],
    buffers: &'a [Vec<u8>],
}

impl Row<'_> {
    fn text(&self, f: usize) -> &[u8] {
        match self.decoded[f] {
            Some(b) => &self.buffers[b],
            None => &self.body[self.spans[f].0 as usize..self.spans[f].1 as usize],
        }
    }
}

/// Decode the escapes of the fields that have any, on a line read as the full pattern reads
/// it (`decoded[f]`: the buffer that holds field f's text).
fn decode_row(
    plan: &Plan,
    body: &[u8],
    spans: &[(u32, u32)],
    decoded: &mut [Option<usize>],
    buffers: &mut Vec<Vec<u8>>,
) {
    let mut used = 0;
    for (f, &(a, b)) in spans.iter().enumerate() {
        let t = &body[a as usize..b as usize];
        decoded[f] = None;
        if plan.decode[f] && memchr::memchr(b'\\', t).is_some() {
            if buffers.len() <= used {
                buffers.push(Vec::new());
            }
            text::decode_escapes(t, &mut buffers[used]);
            decoded[f] = Some(used);
            used += 1;
        }
    }
}

/// The scan of one block, before it becomes Python objects.
struct Scan {
    /// per line: 0 not of the format's escape-free shape, 1 counted, 2 built
    fast: Vec<u8>,
    all_utf8: bool,
    columns: Vec<Column>,
    groups: Option<Groups>,
}

const COUNTED: u8 = 1;
const BUILT: u8 = 2;

/// Count a matched line into `groups` when it is an ordinary row (see counts.rs); false when
/// it is to be built.
fn counted(
    c: &Counting,
    outs: &[Out],
    line: &Row<'_>,
    row: usize,
    caches: &mut [ClfCache],
    groups: &mut Groups,
) -> bool {
    let text = |f: usize| line.text(f);
    let value = |f: Option<usize>| f.map(text).filter(|t| *t != b"-");
    let status = value(c.status).map(|t| text::digits(t) as i16);
    if status.is_some_and(|s| c.classed.contains(&s)) {
        return false;
    }
    // every timestamp of the line (a begin and an end time): one that only Arrow's strptime
    // can judge may reject the line, so such a line is built and settled with the others
    let mut time = None;
    for (f, cache) in caches.iter_mut().enumerate() {
        let Out::Time { brackets } = outs[f] else {
            continue;
        };
        let Some(t) = value(Some(f)) else { continue };
        let inner = if brackets { &t[1..t.len() - 1] } else { t };
        match cache.micros(t, inner) {
            Some(micros) if c.time == Some(f) => time = Some(micros),
            Some(_) => {}
            None => return false,
        }
    }
    let (method, target, protocol) = match c.request.map(text) {
        Some(r) => {
            let (m, t, p) = text::split_request(r);
            let cut = |span: text::Span| span.map(|(a, b)| &r[a..b]);
            (cut(m), cut(t), cut(p))
        }
        None => (None, None, None),
    };
    groups.add(row, value(c.vhost), method, protocol, status, target, time);
    true
}

fn new_column(out: Out, rows: usize) -> Column {
    match out {
        Out::Skip => Column::None,
        Out::Text => Column::Str(Strings::with_capacity(rows)),
        Out::Request => Column::Request(Box::new(std::array::from_fn(|_| {
            Strings::with_capacity(rows)
        }))),
        Out::Status => Column::I16(Numbers::with_capacity(rows)),
        Out::Int => Column::I64(Numbers::with_capacity(rows)),
        Out::Port => Column::I32(Numbers::with_capacity(rows)),
        Out::Seconds { .. } => Column::F64(Numbers::with_capacity(rows)),
        Out::Time { .. } => Column::Time(Times::with_capacity(rows)),
    }
}

fn push_value(column: &mut Column, out: Out, t: &[u8]) {
    let dash = t == b"-";
    match (column, out) {
        (Column::None, _) => {}
        (Column::Str(s), _) => s.push((!dash).then_some(t)),
        (Column::Request(parts), _) => {
            let (method, target, protocol) = text::split_request(t);
            parts[0].push(Some(t));
            for (part, span) in parts[1..].iter_mut().zip([method, target, protocol]) {
                part.push(span.map(|(a, b)| &t[a..b]));
            }
        }
        (Column::I16(n), _) => n.push((!dash).then(|| text::digits(t) as i16)),
        (Column::I64(n), _) => n.push((!dash).then(|| text::digits(t))),
        (Column::I32(n), _) => n.push(
            (!dash)
                .then(|| text::digits(t))
                .and_then(|v| i32::try_from(v).ok()),
        ),
        (Column::F64(n), Out::Seconds { divide, multiply }) => {
            // the text is `\d{1,15}(\.\d{1,9})?`: ASCII, and Rust's parse rounds correctly, as
            // Arrow's cast does
            let value = (!dash).then(|| {
                let number: f64 = std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::NAN);
                if divide > 0.0 {
                    number / divide
                } else if multiply == 1.0 {
                    number
                } else {
                    number * multiply
                }
            });
            n.push(value);
        }
        (Column::Time(times), Out::Time { .. }) if dash => times.push_null(),
        (Column::Time(times), Out::Time { brackets }) => {
            let inner = if brackets { &t[1..t.len() - 1] } else { t };
            times.push(t, inner);
        }
        _ => unreachable!("column and output built together"),
    }
}

fn scan(plan: &Plan, data: &[u8], offsets: &[i32], max_line: usize) -> Option<Scan> {
    let lines = offsets.len().saturating_sub(1);
    let not_utf8 = invalid_lines(data, offsets);
    let all_utf8 = not_utf8.is_empty();
    let mut not_utf8 = not_utf8.into_iter().peekable();
    // counting, few rows are built: their columns start small and grow
    let reserve = if plan.counting.is_some() {
        lines / 16
    } else {
        lines
    };
    let mut columns: Vec<Column> = plan.outs.iter().map(|&o| new_column(o, reserve)).collect();
    let mut fast = vec![0u8; lines];
    let mut spans = vec![(0u32, 0u32); plan.matcher.fields];
    let mut scratch = Scratch::default();
    let mut groups = plan.counting.as_ref().map(|_| Groups::new());
    // one cache per field (only the time fields' are used)
    let mut caches: Vec<ClfCache> = plan.outs.iter().map(|_| ClfCache::default()).collect();
    let mut decoded: Vec<Option<usize>> = vec![None; plan.matcher.fields];
    let plain: Vec<Option<usize>> = vec![None; plan.matcher.fields];
    let mut buffers: Vec<Vec<u8>> = Vec::new();
    for (i, is_fast) in fast.iter_mut().enumerate() {
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        let line = &data[start..end];
        // taken off the bad lines before any other test, or an over-long bad line would stay
        // first and hide every bad line after it
        let bad = not_utf8.next_if_eq(&i).is_some();
        if line.len() > max_line || !line.ends_with(b"\n") {
            continue;
        }
        if bad {
            continue; // decoded with \xHH escapes by the Arrow path: never its fast shape
        }
        let mut body = &line[..line.len() - 1];
        if body.ends_with(b"\r") {
            body = &body[..body.len() - 1];
        }
        let mut escaped = false;
        match plan.matcher.matches(body, &mut spans, &mut scratch, false) {
            Matched::Yes => {}
            Matched::OverBudget => return None,
            Matched::No if !plan.escapes => continue,
            Matched::No => match plan.matcher.matches(body, &mut spans, &mut scratch, true) {
                Matched::No => continue,
                Matched::OverBudget => return None,
                Matched::Yes => escaped = true,
            },
        }
        if escaped {
            decode_row(plan, body, &spans, &mut decoded, &mut buffers);
        }
        let row = Row {
            body,
            spans: &spans,
            decoded: if escaped { &decoded } else { &plain },
            buffers: &buffers,
        };
        if let (Some(c), Some(g)) = (&plan.counting, &mut groups) {
            if counted(c, &plan.outs, &row, i, &mut caches, g) {
                *is_fast = COUNTED;
                continue;
            }
        }
        *is_fast = BUILT;
        for (f, (column, &out)) in columns.iter_mut().zip(&plan.outs).enumerate() {
            push_value(column, out, row.text(f));
        }
    }
    Some(Scan {
        fast,
        all_utf8,
        columns,
        groups,
    })
}

/// The lines (ascending) that are not UTF-8: one validation of the block, resumed after each
/// bad line (a line ends in a newline, so no character runs across lines).
fn invalid_lines(data: &[u8], offsets: &[i32]) -> Vec<usize> {
    let mut bad = Vec::new();
    let mut pos = offsets.first().map_or(0, |&o| o as usize);
    let end = offsets.last().map_or(0, |&o| o as usize);
    while pos < end {
        let Err(error) = std::str::from_utf8(&data[pos..end]) else {
            break;
        };
        let at = pos + error.valid_up_to();
        let line = offsets.partition_point(|&o| o as usize <= at) - 1;
        bad.push(line);
        pos = offsets[line + 1] as usize;
    }
    bad
}

/// A NumPy array that owns the vector's memory, its spare capacity given back first (a block's
/// columns are kept while later blocks are read: a reserve for every line of the block, held
/// by a column of the few built rows, was most of a long stream's memory).
fn array<'py, T: numpy::Element>(py: Python<'py>, mut values: Vec<T>) -> Bound<'py, PyAny> {
    values.shrink_to_fit();
    values.into_pyarray(py).into_any()
}

fn bitmap<'py>(py: Python<'py>, b: Bitmap) -> PyResult<Bound<'py, PyAny>> {
    let nulls = b.nulls;
    let bytes = array(py, b.bytes);
    Ok(PyTuple::new(py, [bytes, nulls.into_pyobject(py)?.into_any()])?.into_any())
}

fn strings<'py>(py: Python<'py>, s: Strings) -> PyResult<Bound<'py, PyAny>> {
    let items = [
        array(py, s.offsets),
        array(py, s.data),
        bitmap(py, s.valid)?,
    ];
    Ok(PyTuple::new(py, items)?.into_any())
}

fn numbers<'py, T: numpy::Element>(py: Python<'py>, n: Numbers<T>) -> PyResult<Bound<'py, PyAny>> {
    let items = [array(py, n.values), bitmap(py, n.valid)?];
    Ok(PyTuple::new(py, items)?.into_any())
}

fn column<'py>(py: Python<'py>, c: Column) -> PyResult<Bound<'py, PyAny>> {
    Ok(match c {
        Column::None => py.None().into_bound(py),
        Column::Str(s) => strings(py, s)?,
        Column::Request(parts) => {
            let [request, method, target, protocol] = *parts;
            let items = [
                strings(py, request)?,
                strings(py, method)?,
                strings(py, target)?,
                strings(py, protocol)?,
            ];
            PyTuple::new(py, items)?.into_any()
        }
        Column::I16(n) => numbers(py, n)?,
        Column::I32(n) => numbers(py, n)?,
        Column::I64(n) => numbers(py, n)?,
        Column::F64(n) => numbers(py, n)?,
        Column::Time(t) => {
            let items = [
                numbers(py, t.micros)?,
                array(py, t.unsure_rows),
                strings(py, t.unsure_text)?,
            ];
            PyTuple::new(py, items)?.into_any()
        }
    })
}

/// The counted groups: (vhost, method, protocol, status, count, first, last, row, target,
/// minute, minute count).
fn groups<'py>(py: Python<'py>, g: Groups) -> PyResult<Bound<'py, PyAny>> {
    let items = [
        strings(py, g.vhost)?,
        strings(py, g.method)?,
        strings(py, g.protocol)?,
        numbers(py, g.status)?,
        array(py, g.count),
        numbers(py, g.first)?,
        numbers(py, g.last)?,
        array(py, g.row),
        strings(py, g.target)?,
        array(py, g.minute),
        array(py, g.minute_count),
    ];
    Ok(PyTuple::new(py, items)?.into_any())
}

/// Scan a block: `data` its bytes, `offsets` (int32) where each line starts, then its end.
///
/// Returns None when a line needed more matching steps than the budget (the caller parses the
/// block with the Arrow path), else a dict: `fast` (uint8 per line: 0 the line has not the
/// format's escape-free shape, 1 it was counted, 2 it was built), `all_utf8`, `columns` (one
/// entry per field, None for fields not built) for the built lines, in line order, and with a
/// counting plan `groups` (see `groups`).
#[pyfunction]
fn scan_block<'py>(
    py: Python<'py>,
    plan: &Plan,
    data: &Bound<'py, PyAny>,
    offsets: PyReadonlyArray1<'py, i32>,
    max_line: usize,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = contiguous(&buffer)?;
    let offsets = offsets.as_slice()?;
    check_offsets(offsets, bytes.len())?;
    let Some(scanned) = guarded(py, || scan(plan, bytes, offsets, max_line))? else {
        return Ok(None);
    };
    let result = PyDict::new(py);
    result.set_item("fast", scanned.fast.into_pyarray(py))?;
    result.set_item("all_utf8", scanned.all_utf8)?;
    let columns = PyList::empty(py);
    for c in scanned.columns {
        columns.append(column(py, c)?)?;
    }
    result.set_item("columns", columns)?;
    if let Some(g) = scanned.groups {
        result.set_item("groups", groups(py, g)?)?;
    }
    Ok(Some(result))
}

/// The bytes of a buffer, which must be contiguous; read only, for as long as the caller holds
/// the buffer (and so its object).
fn contiguous(buffer: &PyBuffer<u8>) -> PyResult<&[u8]> {
    if !buffer.is_c_contiguous() {
        return Err(PyValueError::new_err("data must be contiguous"));
    }
    // SAFETY: the slice borrows `buffer`, which keeps the exported memory alive and unmoved;
    // it is only read
    Ok(unsafe { std::slice::from_raw_parts(buffer.buf_ptr() as *const u8, buffer.len_bytes()) })
}

fn check_offsets<T: Copy + Into<i64>>(offsets: &[T], len: usize) -> PyResult<()> {
    let ordered = offsets.windows(2).all(|w| w[0].into() <= w[1].into());
    let inside = offsets.first().is_none_or(|&o| o.into() >= 0)
        && offsets
            .last()
            .is_none_or(|&o| o.into() as u64 <= len as u64);
    if ordered && inside {
        Ok(())
    } else {
        Err(PyValueError::new_err("offsets must grow within the data"))
    }
}

/// `work` without the interpreter's lock, a panic in it caught and raised as KernelError (a
/// bug of the kernel must not abort the interpreter).
fn guarded<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    py.detach(|| catch_unwind(AssertUnwindSafe(work)))
        .map_err(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            KernelError::new_err(format!("native kernel failed: {why}"))
        })
}

/// A panic in the kernel, through the guard every scan runs in (for the tests).
#[pyfunction]
fn panic_for_test(py: Python<'_>) -> PyResult<()> {
    guarded(py, || panic!("a test of the panic guard"))
}

/// 0, then the offset just after each newline of `data[start:end]`, counted from `start`
/// (int32, as analyzer.sources.items.line_offsets gives them).
#[pyfunction]
fn line_offsets<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    start: usize,
    end: usize,
) -> PyResult<Bound<'py, numpy::PyArray1<i32>>> {
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = contiguous(&buffer)?;
    if start > end || end > bytes.len() || end - start > i32::MAX as usize {
        return Err(PyValueError::new_err(
            "start and end must lie within the data",
        ));
    }
    let window = &bytes[start..end];
    let offsets = py.detach(|| {
        let mut offsets = Vec::with_capacity(window.len() / 128 + 2);
        offsets.push(0i32);
        offsets.extend(memchr::memchr_iter(b'\n', window).map(|at| (at + 1) as i32));
        offsets
    });
    Ok(offsets.into_pyarray(py))
}

/// The hash of each string of an Arrow string array's `data` between consecutive `offsets`
/// (int64), each cut before its first `stop` byte when `stop` is given (uint64, as
/// analyzer.summary.bounded.hash_strings defines them; nulls are the caller's).
#[pyfunction]
#[pyo3(signature = (data, offsets, stop=None))]
fn hash_strings<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    offsets: PyReadonlyArray1<'py, i64>,
    stop: Option<u8>,
) -> PyResult<Bound<'py, numpy::PyArray1<u64>>> {
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = contiguous(&buffer)?;
    let offsets = offsets.as_slice()?;
    check_offsets(offsets, bytes.len())?;
    let hashes = guarded(py, || hashing::hash_all(bytes, offsets, stop))?;
    Ok(hashes.into_pyarray(py))
}

/// A count part of rows with at most `k` keys per group (analyzer/summary/bounded.py's
/// `fold_counts`): `columns` are the key columns as codes (int64, never negative), the
/// `groups` first forming the groups; `folds` say, per bounded column, whether each row's value
/// folds. Each row is one request at its `times` (int64, `NO_TIME` for none), or when `counts`
/// are given, a key counted already with its `firsts` and `lasts`; rows that `rest` marks are
/// remainder rows already (Summaries merged). Returns the part's rows: an input row holding
/// each key, count, first, last (int64) and whether it is a remainder row.
#[pyfunction]
#[pyo3(signature = (columns, groups, folds, k, times=None, counts=None, rest=None))]
fn bounded_counts<'py>(
    py: Python<'py>,
    columns: Vec<PyReadonlyArray1<'py, i64>>,
    groups: usize,
    folds: Vec<PyReadonlyArray1<'py, bool>>,
    k: usize,
    times: Option<PyReadonlyArray1<'py, i64>>,
    counts: Option<(
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, i64>,
    )>,
    rest: Option<PyReadonlyArray1<'py, bool>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let columns = columns
        .iter()
        .map(|c| c.as_slice())
        .collect::<Result<Vec<_>, _>>()?;
    let folds = folds
        .iter()
        .map(|c| c.as_slice())
        .collect::<Result<Vec<_>, _>>()?;
    let times = times.as_ref().map(|t| t.as_slice()).transpose()?;
    let weights = match &counts {
        None => folding::Weights::Rows(times),
        Some((count, first, last)) => folding::Weights::Counted {
            count: count.as_slice()?,
            first: first.as_slice()?,
            last: last.as_slice()?,
        },
    };
    let rest = rest.as_ref().map(|r| r.as_slice()).transpose()?;
    check_keys(&columns, groups, &folds, &weights, k)?;
    if rest.is_some_and(|r| r.len() != columns.first().map_or(0, |c| c.len())) {
        return Err(PyValueError::new_err("rest must have one value per row"));
    }
    let keys = folding::Keys {
        columns: &columns,
        groups,
        folds: &folds,
    };
    let out = guarded(py, || folding::bounded_counts(&keys, &weights, rest, k))?;
    PyTuple::new(
        py,
        [
            out.row.into_pyarray(py).into_any(),
            out.count.into_pyarray(py).into_any(),
            out.first.into_pyarray(py).into_any(),
            out.last.into_pyarray(py).into_any(),
            out.rest.into_pyarray(py).into_any(),
        ],
    )
}

fn check_keys(
    columns: &[&[i64]],
    groups: usize,
    folds: &[&[bool]],
    weights: &folding::Weights,
    k: usize,
) -> PyResult<()> {
    let n = columns.first().map_or(0, |c| c.len());
    let weighed = match weights {
        folding::Weights::Rows(times) => times.is_none_or(|t| t.len() == n),
        folding::Weights::Counted { count, first, last } => {
            count.len() == n && first.len() == n && last.len() == n
        }
    };
    let lengths_agree =
        columns.iter().all(|c| c.len() == n) && folds.iter().all(|f| f.len() == n) && weighed;
    if k < 1 || groups > columns.len() || folds.len() != columns.len() - groups {
        return Err(PyValueError::new_err(
            "k must be at least 1, with one folds array per bounded column",
        ));
    }
    if !lengths_agree || n >= u32::MAX as usize {
        return Err(PyValueError::new_err(
            "key columns, folds, times and counts must have one value per row",
        ));
    }
    if columns.iter().any(|c| c.iter().any(|&code| code < 0)) {
        return Err(PyValueError::new_err("key codes must not be negative"));
    }
    Ok(())
}

/// A group code per value, fewer than 2**32 of them, and `m` at least 1.
fn grouped_values<'a>(
    code: &'a PyReadonlyArray1<'_, i64>,
    values: &'a PyReadonlyArray1<'_, i64>,
    m: usize,
) -> PyResult<(&'a [i64], &'a [i64])> {
    let (code, values) = (code.as_slice()?, values.as_slice()?);
    if code.len() != values.len() || m < 1 || code.len() >= u32::MAX as usize {
        return Err(PyValueError::new_err(
            "one group code per value, and m at least 1",
        ));
    }
    Ok((code, values))
}

/// Per group `code`, in increasing order: the group and its `m` smallest distinct `values`
/// (int64, sorted), as analyzer/summary/bounded.py's `smallest_per_group` gives them.
#[pyfunction]
fn smallest_per_group<'py>(
    py: Python<'py>,
    code: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, i64>,
    m: usize,
) -> PyResult<Bound<'py, PyList>> {
    let (code, values) = grouped_values(&code, &values, m)?;
    let groups = guarded(py, || smallest::smallest_per_group(code, values, m))?;
    let items = groups
        .into_iter()
        .map(|(group, smallest)| (group, smallest.into_pyarray(py)))
        .collect::<Vec<_>>();
    PyList::new(py, items)
}

/// Whether each row holds one of the `m` smallest distinct `values` of its group `code` (both
/// int64), as analyzer/summary/bounded.py's `rows_of_smallest` finds them.
#[pyfunction]
fn rows_of_smallest<'py>(
    py: Python<'py>,
    code: PyReadonlyArray1<'py, i64>,
    values: PyReadonlyArray1<'py, i64>,
    m: usize,
) -> PyResult<Bound<'py, numpy::PyArray1<bool>>> {
    let (code, values) = grouped_values(&code, &values, m)?;
    let keep = guarded(py, || smallest::rows_of_smallest(code, values, m))?;
    Ok(keep.into_pyarray(py))
}

/// The strings of an Arrow string array's `data` between consecutive `offsets` (int64)
/// dictionary-encoded: each one's code (int32, -1 where `valid` is false), numbered in order
/// of first appearance, and the first row of each code (int64), as Arrow's
/// `dictionary_encode` numbers them; each string cut before its first `stop` byte when given,
/// and then the distinct cut strings too (bytes and int64 offsets; else None).
#[pyfunction]
#[pyo3(signature = (data, offsets, valid=None, stop=None))]
fn encode_strings<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    offsets: PyReadonlyArray1<'py, i64>,
    valid: Option<PyReadonlyArray1<'py, bool>>,
    stop: Option<u8>,
) -> PyResult<Bound<'py, PyTuple>> {
    let buffer = PyBuffer::<u8>::get(data)?;
    let bytes = contiguous(&buffer)?;
    let offsets = offsets.as_slice()?;
    check_offsets(offsets, bytes.len())?;
    let valid = valid.as_ref().map(|v| v.as_slice()).transpose()?;
    if valid.is_some_and(|v| v.len() + 1 != offsets.len().max(1))
        || offsets.len() > i32::MAX as usize
    {
        return Err(PyValueError::new_err(
            "valid must have one value per string",
        ));
    }
    let out = guarded(py, || encoding::encode(bytes, offsets, valid, stop))?;
    let values = match out.values {
        Some((bytes, ends)) => PyTuple::new(
            py,
            [
                bytes.into_pyarray(py).into_any(),
                ends.into_pyarray(py).into_any(),
            ],
        )?
        .into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [
            out.codes.into_pyarray(py).into_any(),
            out.firsts.into_pyarray(py).into_any(),
            values,
        ],
    )
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Plan>()?;
    m.add_function(wrap_pyfunction!(scan_block, m)?)?;
    m.add_function(wrap_pyfunction!(line_offsets, m)?)?;
    m.add_function(wrap_pyfunction!(hash_strings, m)?)?;
    m.add_function(wrap_pyfunction!(bounded_counts, m)?)?;
    m.add_function(wrap_pyfunction!(smallest_per_group, m)?)?;
    m.add_function(wrap_pyfunction!(rows_of_smallest, m)?)?;
    m.add_function(wrap_pyfunction!(encode_strings, m)?)?;
    m.add_function(wrap_pyfunction!(panic_for_test, m)?)?;
    // a caught panic is reported by its KernelError, not also printed on stderr (this hook is
    // this library's own: each Rust library has its own standard library)
    std::panic::set_hook(Box::new(|_| {}));
    m.add("KernelError", m.py().get_type::<KernelError>())?;
    Ok(())
}
