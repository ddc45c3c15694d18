"""Parse one block of lines into a typed Arrow table and its rejects, vectorised.

Two paths, chosen per line:

* fast: lines that match the format's escape-free pattern (almost all of a normal log) are
  split into columns by Arrow's CSV tokenizer over the whole block at once;
* exact: the rest (escaped quotes, odd spacing, junk) go through the format's full regex with
  captures, and their escapes are decoded. Lines it does not match either are rejected, with
  their line number and a reason.

Every line of a block ends up in exactly one of the two outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..formats.fields import FieldSpec, Kind
from ..formats.logformat import LogFormat
from ..formats.tokens import Group, TokenPlan
from ..sources.blocks import MAX_LINE, Block, Problem
from .columns import assembled_time, typed
from .escapes import decode_escapes
from .request_line import split_request

REJECT_TEXT_CHARS = 300
REJECT_SCHEMA = pa.schema([("line", pa.int64()), ("reason", pa.string()), ("text", pa.string())])
_UNESCAPED_KINDS = (Kind.TEXT, Kind.TOKEN, Kind.REQUEST)
_STRING_KINDS = (Kind.TEXT, Kind.TOKEN, Kind.ADDRESS)
_NULL_STRING = pa.scalar(None, pa.string())
_TIME_KINDS = (Kind.TIME, Kind.EPOCH, Kind.TIME_PART)
_TIME_PARTS = frozenset({"time_offset", "time_fraction"})  # folded into ``time``
_REQUEST_PARTS = frozenset({"method", "target", "protocol"})  # from the request line


@dataclass(frozen=True)
class ParsedBlock:
    """The parsed rows (``line`` plus the format's typed columns) and the rejected lines.

    ``counted``: Summary parts (by part name) already counted for parsed rows that are not in
    ``table``, ``counted_rows`` of them (the native kernel counts a block's ordinary rows
    itself when the caller only summarises them; see parse.native).
    """

    source: str
    lines: int
    table: pa.Table
    rejects: pa.Table
    counted: Mapping[str, pa.Table] = dataclasses.field(default_factory=dict)
    counted_rows: int = 0

    @property
    def parsed(self) -> int:
        """Parsed lines: the rows of the table and the counted ones."""
        return int(self.table.num_rows) + self.counted_rows


def parse_block(
    block: Block,
    fmt: LogFormat,
    fallbacks: Sequence[LogFormat] = (),
    columns: Collection[str] | None = None,
    *,
    in_line_order: bool = True,
    counts: bool = False,
) -> ParsedBlock:
    """Parse a block with ``fmt``; lines it does not match are tried with ``fallbacks`` in turn
    (a file of mixed formats), through their exact patterns.

    ``columns``: the canonical columns the caller reads (None: all). Other fields are still
    checked against the format, so the same lines are parsed and rejected, but their values
    are not built (a Summary reads 5 of the 9 fields of a combined line).
    ``in_line_order=False``: the rows of the fast path come first and the others after them
    (each in line order), for a caller that does not need line order (a Summary): putting
    every row in line order copies the whole table.
    ``counts``: the caller only summarises the rows (``columns`` are a Summary's, no time
    window): the native kernel may count ordinary rows into ``ParsedBlock.counted`` instead.
    """
    from .native import parse_natively  # (imports this module)

    native = parse_natively(block, fmt, fallbacks, columns, in_line_order, counts=counts)
    if native is not None:  # the same result, from the native kernel (see parse.native)
        return native
    fmt_fields = _wanted_fields(fmt, columns)
    lines = _line_array(block.data, block.line_offsets())
    text, not_utf8 = _as_utf8(lines)
    too_long = _lengths(lines) > MAX_LINE
    # a line that is not UTF-8 is never tokenized: the tokenizer reads the raw bytes, and a
    # field that may hold a backslash (a %V host) would match its "\xHH" text but not its bytes
    fast = _fast_mask(text, fmt) & ~too_long & ~not_utf8
    raw_fast = _tokenized(lines, fast, fmt.token_plan, fmt_fields) if fast.any() else None
    if raw_fast is None:
        fast[:] = False
    parsed = np.zeros(len(lines), dtype=bool)
    parts: list[tuple[np.ndarray, pa.Table]] = []
    bad_times: list[np.ndarray] = []

    def add(raw: dict[str, pa.Array], rows: np.ndarray, form: LogFormat) -> None:
        table, bad_time = _typed_table(raw, rows, form, _wanted_fields(form, columns),
                                       block.first_line)
        parsed[rows] = True
        if bad_time.any():  # a filter copies every column: only when there is a row to drop
            bad_times.append(rows[bad_time])
            rows, table = rows[~bad_time], table.filter(pa.array(~bad_time))
        parts.append((rows, table))

    matched: list[tuple[LogFormat, dict[str, pa.Array], np.ndarray]] = []
    if raw_fast is not None:
        matched.append((fmt, raw_fast, np.flatnonzero(fast)))
    rest = np.flatnonzero(~fast & ~too_long)
    rest_text = _without_newline(pc.take(text, rest))
    for form in (fmt, *fallbacks):
        if not len(rest):
            break
        raw, hit = _exact(rest_text, form, _wanted_fields(form, columns))
        if hit.any():
            matched.append((form, raw, rest[hit]))
            rest, rest_text = rest[~hit], rest_text.filter(pa.array(~hit))
    for form, raw, rows in _joined_by_format(matched):
        add(raw, rows, form)
    if not parts:
        add({f.column: pa.array([], pa.string()) for f in fmt_fields}, rest[:0], fmt)
    table = _merged(parts, in_line_order=in_line_order)
    bad_time_rows = np.sort(np.concatenate([np.zeros(0, np.int64), *bad_times]))
    failed = np.flatnonzero(~parsed)
    rejects = _rejects(block, fmt, text, failed, not_utf8, too_long, bad_time_rows)
    return ParsedBlock(block.source, block.lines, table, rejects)


def _joined_by_format(
    matched: list[tuple[LogFormat, dict[str, pa.Array], np.ndarray]],
) -> list[tuple[LogFormat, dict[str, pa.Array], np.ndarray]]:
    """Consecutive field texts of one format (its fast rows, then its exact ones) as one, so
    that they are typed and split together: typing the few exact rows of a block on their own
    cost a fifth of the time of the whole block's rows, in fixed costs per kernel."""
    joined: list[tuple[LogFormat, dict[str, pa.Array], np.ndarray]] = []
    for form, raw, rows in matched:
        if joined and joined[-1][0] is form:
            _, before, before_rows = joined.pop()
            # (a fast token group may carry an unwanted field beside a wanted one)
            raw = {name: _concatenated(before[name], raw[name]) for name in before if name in raw}
            rows = np.concatenate([before_rows, rows])
        joined.append((form, raw, rows))
    return joined


def _concatenated(first: pa.Array, second: pa.Array) -> pa.Array:
    """Two texts of a field as one array (a dictionary one when either is: a timestamp
    column joined once per distinct value, see _joined_distinct)."""
    if isinstance(first, pa.DictionaryArray) or isinstance(second, pa.DictionaryArray):
        first, second = (a if isinstance(a, pa.DictionaryArray) else pc.dictionary_encode(a)
                         for a in (first, second))
    return pa.concat_arrays([first, second])


def _merged(parts: list[tuple[np.ndarray, pa.Table]], *, in_line_order: bool) -> pa.Table:
    """Tables of rows (``rows``: their block rows) as one table: in line order, or one after
    the other."""
    parts = [p for p in parts if len(p[0])] or parts[:1]
    tables = [t for _, t in parts]
    merged = (tables[0] if len(tables) == 1
              else pa.concat_tables(tables, promote_options="permissive"))
    if not in_line_order:
        return merged
    rows = np.concatenate([r for r, _ in parts])
    if len(rows) > 1 and (np.diff(rows) < 0).any():
        merged = merged.take(np.argsort(rows, kind="stable"))
    return merged


def join_blocks(blocks: list[ParsedBlock]) -> ParsedBlock:
    """Consecutive parsed blocks of one source as one (rows in block order)."""
    if len(blocks) == 1:
        return blocks[0]
    tables = [b.table for b in blocks if b.table.num_rows]
    table = (pa.concat_tables(tables, promote_options="permissive") if tables
             else blocks[0].table)
    rejects = pa.concat_tables([b.rejects for b in blocks])
    counted: dict[str, list[pa.Table]] = {}
    for b in blocks:
        for name, part in b.counted.items():
            counted.setdefault(name, []).append(part)
    return ParsedBlock(blocks[0].source, sum(b.lines for b in blocks), table, rejects,
                       {name: pa.concat_tables(parts) for name, parts in counted.items()},
                       sum(b.counted_rows for b in blocks))


def problem_block(problem: Problem) -> ParsedBlock:
    """A source-level problem (over-long line, damaged compression) as one rejected line."""
    text = problem.text.decode("utf-8", "backslashreplace")[:REJECT_TEXT_CHARS]
    rejects = pa.table(
        {"line": [problem.line], "reason": [problem.reason], "text": [text]}, schema=REJECT_SCHEMA
    )
    return ParsedBlock(problem.source, 1, pa.table({"line": pa.array([], pa.int64())}), rejects)


def _wanted_fields(fmt: LogFormat, columns: Collection[str] | None) -> tuple[FieldSpec, ...]:
    """The fields to build: those behind ``columns``, and always the time fields, whose values
    decide whether a line is parsed at all (an unreadable timestamp rejects it)."""
    if columns is None:
        return fmt.fields
    wanted = set(columns)
    if wanted & _REQUEST_PARTS:
        wanted |= {"request", "path", "query"}
    return tuple(
        f for f in fmt.fields
        if f.column in wanted or f.kind in _TIME_KINDS or f.column in _TIME_PARTS
    )


def _line_array(data: bytes | memoryview, offsets: np.ndarray) -> pa.Array:
    """Zero-copy binary array of the block's lines, each with its newline."""
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1, buffers)


def _lengths(lines: pa.Array) -> np.ndarray:
    result: np.ndarray = pc.binary_length(lines).to_numpy(zero_copy_only=False)
    return result


def _as_utf8(lines: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The lines as strings; bytes that are not UTF-8 become ``\\xHH`` text (and are flagged)."""
    try:
        return lines.cast(pa.string()), np.zeros(len(lines), dtype=bool)
    except pa.ArrowInvalid:
        pass
    # rare: only blocks holding invalid UTF-8 take this per-line route
    values = lines.to_pylist()
    bad = np.zeros(len(values), dtype=bool)
    fixed: list[str] = []
    for i, value in enumerate(values):
        try:
            fixed.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            bad[i] = True
            fixed.append(value.decode("utf-8", "backslashreplace"))
    return pa.array(fixed, pa.string()), bad


def _fast_mask(text: pa.Array, fmt: LogFormat) -> np.ndarray:
    if fmt.token_plan is None:
        return np.zeros(len(text), dtype=bool)
    hits = pc.match_substring_regex(text, fmt.fast_regex)
    result: np.ndarray = hits.to_numpy(zero_copy_only=False).astype(bool)
    return result


def _tokenized(
    lines: pa.Array, fast: np.ndarray, plan: TokenPlan | None, fields: Sequence[FieldSpec]
) -> dict[str, pa.Array] | None:
    """Text of ``fields`` on the fast lines, split by the CSV tokenizer (None if it disagrees).
    Columns of other fields are tokenized (the line's shape is checked) but not built."""
    assert plan is not None
    wanted = {f.column for f in fields}
    groups = [g for g in plan.groups if any(f.column in wanted for f in g.fields)]
    chosen = lines if fast.all() else pc.filter(lines, pa.array(fast))
    offsets = np.frombuffer(chosen.buffers()[1], dtype=np.int32)[
        chosen.offset : chosen.offset + len(chosen) + 1
    ]
    data = chosen.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    names = [f"c{i}" for i in range(plan.width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=max(data.size, 1 << 20) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=" ", quote_char='"', escape_char=False, double_quote=False,
                newlines_in_values=False, ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
                check_utf8=False,  # the lines were checked once already (_as_utf8)
                include_columns=[names[i] for g in groups for i in g.columns],
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != len(chosen):
        return None
    return _group_fields(table, groups)


def _group_fields(table: pa.Table, groups: Sequence[Group]) -> dict[str, pa.Array]:
    raw: dict[str, pa.Array] = {}
    for group in groups:
        columns = [table.column(f"c{i}").combine_chunks() for i in group.columns]
        single = group.single
        if single is not None:
            field, prefix, suffix = single
            joined = _joined_distinct(columns) if field.kind in _TIME_KINDS else None
            text = joined if joined is not None else _joined(columns)
            if prefix or suffix:
                text = _strip(text, len(prefix), len(suffix))
            raw[field.column] = text
            continue
        text = _joined(columns)
        found = pc.extract_regex(text, group.regex)
        for field in group.fields:
            raw[field.column] = found.field(field.column)
    return raw


def _joined(columns: Sequence[pa.Array]) -> pa.Array:
    return columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, " ")


def _joined_distinct(columns: Sequence[pa.Array]) -> pa.DictionaryArray | None:
    """A timestamp logged as several tokens (``[10/Oct/2025:13:55:36 +0200]``), joined once per
    distinct value, when every token after the first is the same on all lines (one UTC offset):
    the time parser reads each distinct value once anyway, and joining every line cost more."""
    if len(columns) < 2:
        return None
    constants = []
    for column in columns[1:]:
        distinct = pc.unique(column)
        if len(distinct) != 1:
            return None
        constants.append(distinct[0])
    first = pc.dictionary_encode(columns[0])
    values = pc.binary_join_element_wise(first.dictionary, *constants, " ")
    return pa.DictionaryArray.from_arrays(first.indices, values)


def _strip(text: pa.Array, prefix: int, suffix: int) -> pa.Array:
    """The text without its first ``prefix`` and last ``suffix`` characters."""
    if isinstance(text, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(text.indices, _strip(text.dictionary, prefix,
                                                                   suffix))
    return pc.utf8_slice_codeunits(text, prefix, -suffix or 2**31 - 1)


def _without_newline(text: pa.Array) -> pa.Array:
    trimmed = pc.utf8_slice_codeunits(text, 0, -1)
    return pc.replace_substring_regex(trimmed, r"\r$", "")


def _exact(
    text: pa.Array, fmt: LogFormat, fields: Sequence[FieldSpec]
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Text of ``fields`` on the lines the full regex matches (escapes decoded), and which
    matched."""
    if len(text) == 0:
        return {}, np.zeros(0, dtype=bool)
    found = pc.extract_regex(text, fmt.regex)
    matched = found.is_valid().to_numpy(zero_copy_only=False)
    hits = found.filter(pa.array(matched))
    raw: dict[str, pa.Array] = {}
    for field in fields:
        values = hits.field(field.column)
        if field.shape == "user" and fmt.escape == "apache":  # %u logs an empty name as ""
            values = pc.if_else(pc.equal(values, '""'), pa.scalar("", pa.string()), values)
        if field.escaped and field.kind in _UNESCAPED_KINDS:
            values = _unescape(values, fmt.escape)
        raw[field.column] = values
    return raw, matched


def _unescape(values: pa.Array, style: str) -> pa.Array:
    has_escape = pc.fill_null(pc.match_substring(values, "\\"), False)
    mask = has_escape.to_numpy(zero_copy_only=False)
    if not mask.any() or style == "none":
        return values
    # each distinct value decoded once: escaped lines repeat (a scanner's TLS hello on a plain
    # port is the same string every time), and the decoding runs in Python
    escaped = pc.dictionary_encode(pc.filter(values, has_escape))
    decoded = [decode_escapes(v, style) for v in escaped.dictionary.to_pylist()]
    return pc.replace_with_mask(values, has_escape,
                                pc.take(pa.array(decoded, pa.string()), escaped.indices))


def _typed_table(
    raw: dict[str, pa.Array],
    order: np.ndarray,
    fmt: LogFormat,
    fields: Sequence[FieldSpec],
    first_line: int,
) -> tuple[pa.Table, np.ndarray]:
    """Typed columns of the rows ``order`` (block rows), and which rows had an unparseable
    timestamp."""
    columns: dict[str, pa.Array] = {"line": pa.array(order + first_line, pa.int64())}
    bad_time = np.zeros(len(order), dtype=bool)
    for field in fields:
        column = typed(field, raw[field.column])
        if field.kind in (Kind.TIME, Kind.EPOCH):
            bad_time |= (column.is_null().to_numpy(zero_copy_only=False)
                         & _written(raw[field.column], field.optional))
        elif fmt.escape == "json" and field.kind in _STRING_KINDS:
            column = pc.if_else(pc.equal(column, ""), _NULL_STRING, column)  # not found
        columns[field.column] = column
    for column_name, parts in fmt.instants:
        texts = [columns.pop(p.column) for p in parts]
        columns[column_name] = assembled_time(texts, [p.strptime for p in parts])
        if columns[column_name].null_count < len(order):
            bad_time |= (columns[column_name].is_null().to_numpy(zero_copy_only=False)
                         & np.logical_and.reduce([_written(t, True) for t in texts]))
    _fold_time_parts(columns, fmt)
    _add_request_parts(columns, fmt)
    return pa.table(columns), bad_time


def _written(text: pa.Array, optional: bool) -> np.ndarray:
    """Which values the server wrote (not missing; not "-" for a failed condition)."""
    written = pc.fill_null(pc.not_equal(text, "-"), False) if optional else text.is_valid()
    result: np.ndarray = written.to_numpy(zero_copy_only=False)
    return result


def _fold_time_parts(columns: dict[str, pa.Array], fmt: LogFormat) -> None:
    """``%{%d/%b/%Y %T}t.%{msec_frac}t``: the fraction into ``time``."""
    time = fmt.field("time")
    if "time" not in columns or (time is not None and time.kind is Kind.EPOCH):
        return
    fraction = columns.get("time_fraction")
    if fraction is not None:
        micros = pc.cast(pc.round(pc.multiply(fraction, 1e6)), pa.int64())
        shift = pc.cast(pc.fill_null(micros, 0), pa.duration("us"))
        columns["time"] = pc.add(columns["time"], shift)
        del columns["time_fraction"]


def _add_request_parts(columns: dict[str, pa.Array], fmt: LogFormat) -> None:
    """method / target / protocol: from their own fields where logged, else the request line."""
    if "request" in columns:
        method, target, protocol = split_request(columns["request"])
    else:
        method = target = protocol = None
    if "target" not in columns:
        target = _target_from_parts(columns, fmt) or target
    for name, derived in (("method", method), ("target", target), ("protocol", protocol)):
        logged = columns.get(name)
        if logged is not None:
            logged = pc.if_else(pc.equal(logged, ""), pa.scalar(None, pa.string()), logged)
            columns[name] = logged if derived is None else pc.coalesce(logged, derived)
        elif derived is not None:
            columns[name] = derived


def _target_from_parts(columns: dict[str, pa.Array], fmt: LogFormat) -> pa.Array | None:
    path, query = columns.get("path"), columns.get("query")
    if path is None:
        return None
    if query is None:
        return path
    query = pc.fill_null(query, "")
    if fmt.dialect == "nginx":  # $args has no "?"; %q has it
        query = pc.if_else(pc.equal(query, ""), query, pc.binary_join_element_wise("?", query, ""))
    return pc.binary_join_element_wise(path, query, "")


def _truncated(shown: pa.Array, fmt: LogFormat, last_cut: bool) -> np.ndarray:
    """Rejected lines that are the beginning of a line of the format: cut off by the writer.

    A line must reach past its timestamp to count, except the last line of a source that ends
    without a newline, which is known to be cut.
    """
    found = pc.match_substring_regex(shown, fmt.truncated_regex)
    cut = found.to_numpy(zero_copy_only=False).astype(bool)
    if last_cut and len(shown):
        cut[-1] |= bool(pc.match_substring_regex(shown[-1:], fmt.cut_regex)[0].as_py())
    result: np.ndarray = cut
    return result


def _rejects(
    block: Block,
    fmt: LogFormat,
    text: pa.Array,
    failed: np.ndarray,
    not_utf8: np.ndarray,
    too_long: np.ndarray,
    bad_time_rows: np.ndarray,
) -> pa.Table:
    rows = np.union1d(failed, bad_time_rows).astype(np.int64) if len(bad_time_rows) else failed
    if not len(rows):
        return REJECT_SCHEMA.empty_table()
    shown = _without_newline(pc.take(text, rows))
    blank = pc.equal(pc.utf8_trim_whitespace(shown), "").to_numpy(zero_copy_only=False)
    last = len(text) - 1
    reasons = np.full(len(rows), "no_match", dtype=object)
    reasons[not_utf8[rows]] = "not_utf8"
    if len(bad_time_rows):
        reasons[np.isin(rows, bad_time_rows)] = "bad_time"
    cut = _truncated(shown, fmt, block.unterminated and rows[-1] == last)
    reasons[cut & (reasons != "bad_time")] = "truncated"
    reasons[too_long[rows]] = "too_long"
    reasons[blank] = "empty"
    return pa.table(
        {
            "line": pa.array(rows + block.first_line, pa.int64()),
            "reason": pa.array(reasons, pa.string()),
            "text": pc.utf8_slice_codeunits(shown, 0, REJECT_TEXT_CHARS),
        },
        schema=REJECT_SCHEMA,
    )

