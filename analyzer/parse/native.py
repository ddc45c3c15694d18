"""The native parsing kernel (``analyzer._native``, Rust, built from native/) as a parse stage.

The Arrow path (:mod:`analyzer.parse.block`) reads a block in several vectorised passes: UTF-8
validation, RE2 over every line for the format's escape-free shape, Arrow's CSV tokenizer, a
regex per token group, typing per column and the request-line split. The native kernel does the
same for the lines of that shape in one pass over the block: validate, match the shape exactly
as the format's ``fast_regex`` does (RE2's priority order), cut the fields, type them and split
the request line, writing Arrow-layout buffers that pyarrow wraps without copying. The other
lines (escaped quotes, damage, trailing blanks, the other formats of a mixed file) still go
through the Arrow path's exact regex, typing and rejects, so both kernels give the same table
and the same rejects, row for row.

Covered: the escape styles ``apache`` and NGINX's default; fields whose escape-free pattern the
kernel has (checked against ``FieldSpec.pattern`` itself, so a changed pattern is declined, not
misread): addresses, tokens and the user shape, quoted text, the request line, status
(``-`` included), integers, ports, durations (``$request_time``'s millisecond shape too), vhosts
(the host shape), Allow lists (the methods shape), CLF timestamps (``%t``, ``$time_local``),
and conditional fields (``-``). That is every preset. A format with another field (ISO or
strftime timestamps, ``$msec``, ``%U%q``, a logged method or protocol, a timestamp fraction)
is parsed by the Arrow path whole, as is a block in which a line needs more matching steps than
the kernel allows itself (native/src/matcher.rs).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import AnalyzerError
from ..formats.fields import CLF_STRPTIME, CLF_TIME, FieldSpec, Kind
from ..formats.logformat import LogFormat
from ..sources.blocks import MAX_LINE
from ..sources.items import Block
from ..vocabulary import CLASS_BY_STATUS
from . import block as arrow
from .columns import TIME_TYPE, parse_times
from .kernels import native_module

# columns the kernel does not build: the Arrow path derives or folds them from several fields
# (parse.block._add_request_parts, _fold_time_parts)
_UNCOVERED_COLUMNS = frozenset({"method", "target", "protocol", "path", "query", "time_fraction"})
_OUTPUTS = {
    Kind.ADDRESS: "text", Kind.TOKEN: "text", Kind.TEXT: "text", Kind.REQUEST: "request",
    Kind.STATUS: "status", Kind.INT: "int", Kind.PORT: "port", Kind.SECONDS: "seconds",
    Kind.TIME: "time",
}
_TYPES = {"status": pa.int16(), "int": pa.int64(), "port": pa.int32(), "seconds": pa.float64()}
_UNESCAPED_KINDS = (Kind.TEXT, Kind.TOKEN, Kind.REQUEST)  # as block._exact decodes them
_CLF_BRACKETS = rf"\[{CLF_TIME}\]"


def _reference(kind: Kind, shape: str = "", *, quoted: bool = False) -> str:
    return FieldSpec("x", kind, "x", shape=shape).pattern(quoted=quoted, fast=True)


_QUOTED_SLOW = FieldSpec("x", Kind.TEXT, "x").pattern(quoted=True, fast=False)
_TOKEN_FAST = FieldSpec("x", Kind.TOKEN, "x").pattern(quoted=False, fast=True)


@lru_cache(maxsize=1)
def _kernel_patterns() -> dict[tuple[str, bool], str]:
    """(escape-free pattern text, quoted) -> the kernel's name for that pattern."""
    names: dict[tuple[str, bool], str] = {}
    for quoted in (False, True):
        names[_reference(Kind.ADDRESS, quoted=quoted), quoted] = "address"
        names[_reference(Kind.TOKEN, quoted=quoted), quoted] = "token"
        names[_reference(Kind.STATUS, quoted=quoted), quoted] = "status"
        names[_reference(Kind.INT, quoted=quoted), quoted] = "int"
        names[_reference(Kind.SECONDS, quoted=quoted), quoted] = "seconds"
        names[_reference(Kind.SECONDS, "millis", quoted=quoted), quoted] = "millis"
        names[_reference(Kind.TOKEN, "host", quoted=quoted), quoted] = "host"
        names[_reference(Kind.TEXT, "methods", quoted=quoted), quoted] = "methods"
        names[CLF_TIME, quoted] = "clf_time"
        names[_CLF_BRACKETS, quoted] = "clf_time_brackets"
    names[_reference(Kind.TEXT, quoted=True), True] = "quoted"
    names[_reference(Kind.TOKEN, "user", quoted=True), True] = "quoted"
    return names


def kernel_pattern(field: FieldSpec, quoted: bool) -> tuple[str, bool] | None:
    """The kernel's name for the field's escape-free pattern and whether ``-`` comes first
    (a conditional field), or None when the kernel has no such pattern."""
    pattern = field.pattern(quoted=quoted, fast=True)
    names = _kernel_patterns()
    name = names.get((pattern, quoted))
    if name is not None:
        dash = False
    elif pattern.startswith("-|") and (pattern[2:], quoted) in names:
        name, dash = names[pattern[2:], quoted], True
    else:
        return None
    if field.kind is Kind.TIME:
        wanted = {"clf_time": CLF_STRPTIME, "clf_time_brackets": f"[{CLF_STRPTIME}]"}
        if wanted.get(name) != field.strptime:
            return None
    elif name.startswith("clf_time") or field.kind not in _OUTPUTS:
        return None
    return name, dash


def covered(fmt: LogFormat) -> bool:
    """Whether the native kernel parses ``fmt``'s lines (else the Arrow path does, whole)."""
    return native_module() is not None and _plan(fmt, frozenset(fmt.columns)) is not None


# the fields a Summary counts by, as the kernel's counting reads them (see native/src/counts.rs)
_COUNTED_FIELDS = (("vhost", "text"), ("status", "status"), ("request", "request"),
                   ("time", "time"))


def _counting(fmt: LogFormat, wanted: frozenset[str]) -> tuple[Any, ...] | None:
    """What the kernel needs to count a Summary's ordinary rows itself: the index of each
    counted field (None when not logged) and the statuses whose rows it builds; None when a
    counted field is not built as counting reads it."""
    indices: list[int | None] = []
    for column, output in _COUNTED_FIELDS:
        index = next((i for i, f in enumerate(fmt.fields) if f.column == column), None)
        if index is not None and (column not in wanted
                                  or _OUTPUTS[fmt.fields[index].kind] != output):
            return None
        indices.append(index)
    return (*indices, sorted(CLASS_BY_STATUS))


@lru_cache(maxsize=64)
def _plan(fmt: LogFormat, wanted: frozenset[str], counts: bool = False) -> Any:
    """The compiled kernel plan for the format, building the ``wanted`` columns (and with
    ``counts``, counting the Summary's ordinary rows); None when the kernel does not cover the
    format (or cannot count for it)."""
    native = native_module()
    if native is None or fmt.escape not in ("apache", "nginx") or fmt.token_plan is None:
        return None
    if _UNCOVERED_COLUMNS & set(fmt.columns):
        return None
    items: list[bytes | tuple[str, bool, str, float, bool]] = []
    for piece, quoted in zip(fmt.pieces, _quote_states(fmt), strict=True):
        if isinstance(piece, str):
            items.append(piece.encode("utf-8"))
            continue
        found = kernel_pattern(piece, quoted)
        if found is None:
            return None
        output = _OUTPUTS[piece.kind] if piece.column in wanted else "skip"
        decoded = piece.escaped and piece.kind in _UNESCAPED_KINDS
        items.append((found[0], found[1], output, piece.scale, decoded))
    escapes = _reads_escapes(fmt)
    if not counts:
        return native.Plan(items, escapes)
    counting = _counting(fmt, wanted)
    return None if counting is None else native.Plan(items, escapes, counting)


def _reads_escapes(fmt: LogFormat) -> bool:
    r"""Whether the kernel may read the lines of ``fmt`` that its escape-free shape does not
    take (escapes in quoted text, blanks at the end) as the format's full pattern reads them:
    each quoted text then runs to the first quote that no backslash escapes, and a field's full
    pattern must give the same text as its escape-free one (a token's ``\S*`` does, when a
    blank follows it)."""
    pieces = fmt.pieces
    for i, (piece, quoted) in enumerate(zip(pieces, _quote_states(fmt), strict=True)):
        if isinstance(piece, str):
            continue
        after = pieces[i + 1] if i + 1 < len(pieces) else None
        follows = after[:1] if isinstance(after, str) else None
        slow, fast = piece.pattern(quoted=quoted, fast=False), piece.pattern(quoted=quoted,
                                                                             fast=True)
        if kernel_pattern(piece, quoted) == ("quoted", False):
            if slow != _QUOTED_SLOW or follows != '"':
                return False
        elif slow != fast and not (fast == _TOKEN_FAST and slow.startswith(r"\S*")
                                   and follows in (" ", "\t")):
            return False
        if after is None and kernel_pattern(piece, quoted) in (("quoted", False),
                                                              ("methods", False)):
            return False  # the text could take the blanks at the end
    return True


def _quote_states(fmt: LogFormat) -> list[bool]:
    """For each piece, whether it stands inside double quotes of the format."""
    states: list[bool] = []
    inside = False
    for piece in fmt.pieces:
        states.append(inside)
        if isinstance(piece, str):
            inside ^= piece.count('"') % 2 == 1
    return states


def parse_natively(
    block: Block,
    fmt: LogFormat,
    fallbacks: Sequence[LogFormat],
    columns: Collection[str] | None,
    in_line_order: bool,
    *,
    counts: bool = False,
) -> arrow.ParsedBlock | None:
    """``parse_block``'s result through the native kernel, or None when the Arrow path is to
    parse this block (the format not covered, or the step budget exceeded). ``counts``: the
    ordinary rows may be counted for a Summary (``ParsedBlock.counted``), not returned."""
    native = native_module()
    if native is None:
        return None
    fields = arrow._wanted_fields(fmt, columns)
    wanted = frozenset(f.column for f in fields)
    plan = (_plan(fmt, wanted, counts=True) if counts else None) or _plan(fmt, wanted)
    if plan is None:
        return None
    offsets = np.ascontiguousarray(block.line_offsets(), dtype=np.int32)
    try:
        scanned = native.scan_block(plan, block.data, offsets, MAX_LINE)
    except native.KernelError as error:
        raise AnalyzerError(f"{block.source}, lines from {block.first_line}: {error}") from None
    if scanned is None:
        return None
    return _assembled(block, fmt, fallbacks, columns, in_line_order, fields, scanned)


def _assembled(
    block: Block,
    fmt: LogFormat,
    fallbacks: Sequence[LogFormat],
    columns: Collection[str] | None,
    in_line_order: bool,
    fields: Sequence[FieldSpec],
    scanned: dict[str, Any],
) -> arrow.ParsedBlock:
    """The kernel's rows, the other lines through the Arrow path's exact regex, and the rejects,
    put together as parse_block puts them (same parts, same order)."""
    offsets = block.line_offsets()
    too_long = np.diff(offsets) > MAX_LINE
    fast = scanned["fast"] > 0  # counted (1) or built (2)
    parsed = fast.copy()
    parts: list[tuple[np.ndarray, pa.Table]] = []
    bad_times: list[np.ndarray] = []
    fast_rows = np.flatnonzero(scanned["fast"] == 2)
    bad_fast = fast_rows[:0]
    if len(fast_rows):
        table, bad_time = _fast_table(scanned["columns"], fmt, fields, fast_rows,
                                      block.first_line)
        if bad_time.any():
            bad_fast = fast_rows[bad_time]
            bad_times.append(bad_fast)
            fast_rows, table = fast_rows[~bad_time], table.filter(pa.array(~bad_time))
        parts.append((fast_rows, table))
    text, not_utf8 = _texts(block, scanned["all_utf8"], ~fast, bad_fast)

    def add(raw: dict[str, pa.Array], rows: np.ndarray, form: LogFormat) -> None:
        table, bad_time = arrow._typed_table(raw, rows, form, arrow._wanted_fields(form, columns),
                                             block.first_line)
        parsed[rows] = True
        if bad_time.any():
            bad_times.append(rows[bad_time])
            rows, table = rows[~bad_time], table.filter(pa.array(~bad_time))
        parts.append((rows, table))

    rest = np.flatnonzero(~fast & ~too_long)
    rest_text = arrow._without_newline(pc.take(text, rest))
    for form in (fmt, *fallbacks):
        if not len(rest):
            break
        raw, hit = arrow._exact(rest_text, form, arrow._wanted_fields(form, columns))
        if hit.any():
            add(raw, rest[hit], form)
            rest, rest_text = rest[~hit], rest_text.filter(pa.array(~hit))
    if not parts:
        add({f.column: pa.array([], pa.string()) for f in fields}, rest[:0], fmt)
    table = arrow._merged(parts, in_line_order=in_line_order)
    bad_time_rows = np.sort(np.concatenate([np.zeros(0, np.int64), *bad_times]))
    failed = np.flatnonzero(~parsed)
    rejects = arrow._rejects(block, fmt, text, failed, not_utf8, too_long, bad_time_rows)
    if "groups" not in scanned:
        return arrow.ParsedBlock(block.source, block.lines, table, rejects)
    has_time = any(f.column == "time" for f in fields)
    counted = _counted_parts(scanned["groups"], block.source, block.first_line, has_time)
    return arrow.ParsedBlock(block.source, block.lines, table, rejects, counted,
                             int(np.count_nonzero(scanned["fast"] == 1)))


def _counted_parts(groups: tuple[Any, ...], source: str, first_line: int, has_time: bool
                   ) -> dict[str, pa.Table]:
    """The Summary parts of the rows the kernel counted (analyzer.summary.parts: requests,
    firsts and, when the format logs a time, volume); requests and firsts hold the same keys,
    row for row."""
    vhost, method, protocol, status, count, first, last, row, target, minute, per_minute = groups
    n = len(count)
    keys = {"vhost": _strings(n, vhost), "method": _strings(n, method),
            "protocol": _strings(n, protocol), "status": _numbers(n, status, pa.int16())}
    parts = {
        "requests": pa.table({**keys, "count": pa.array(count, pa.int64()),
                              "first": _numbers(n, first, TIME_TYPE),
                              "last": _numbers(n, last, TIME_TYPE)}),
        "firsts": pa.table({**keys, "source": pa.array([source] * n, pa.string()),
                            "line": pa.array(row + first_line, pa.int64()),
                            "target": _strings(n, target)}),
    }
    if has_time:
        parts["volume"] = pa.table({"minute": pa.array(minute, pa.int64()).cast(TIME_TYPE),
                                    "count": pa.array(per_minute, pa.int64())})
    return parts


def _numbers(n: int, column: tuple[np.ndarray, tuple[np.ndarray, int]], kind: pa.DataType
             ) -> pa.Array:
    values, (validity, nulls) = column
    return pa.Array.from_buffers(kind, n, [_validity(validity, nulls), pa.py_buffer(values)],
                                 null_count=nulls)


def _texts(block: Block, all_utf8: bool, other: np.ndarray, bad_fast: np.ndarray
           ) -> tuple[pa.Array, np.ndarray]:
    """The lines as text (indexed by block row) where the exact path and the rejects read them
    (the ``other`` rows and the ``bad_fast`` ones), and which are not UTF-8.

    A block the kernel found all UTF-8 is its own text, without a second check. Otherwise only
    those rows are decoded: the Arrow path decodes every line of such a block in Python, which
    took two thirds of the time of a block holding one binary probe."""
    offsets = block.line_offsets()
    n = len(offsets) - 1
    if all_utf8:
        text = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                      pa.py_buffer(block.data)])
        return text, np.zeros(n, dtype=bool)
    need = other.copy()
    need[bad_fast] = True
    rows = np.flatnonzero(need)
    some, some_bad = arrow._as_utf8(pc.take(arrow._line_array(block.data, offsets), rows))
    index = np.full(n, -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    not_utf8 = np.zeros(n, dtype=bool)
    not_utf8[rows] = some_bad
    return pc.take(some, pa.array(index, mask=index < 0)), not_utf8


def _fast_table(
    built: list[Any], fmt: LogFormat, fields: Sequence[FieldSpec], rows: np.ndarray,
    first_line: int,
) -> tuple[pa.Table, np.ndarray]:
    """The kernel's typed columns of its rows, and which rows had an unparseable timestamp."""
    n = len(rows)
    wanted = {f.column for f in fields}
    columns: dict[str, pa.Array] = {"line": pa.array(rows + first_line, pa.int64())}
    bad_time = np.zeros(n, dtype=bool)
    request_parts: dict[str, pa.Array] = {}
    for field, column in zip(fmt.fields, built, strict=True):
        if field.column not in wanted:
            continue
        output = _OUTPUTS[field.kind]
        if output == "text":
            columns[field.column] = _strings(n, column)
        elif output == "request":
            columns[field.column] = _strings(n, column[0])
            request_parts = {name: _strings(n, part)
                             for name, part in zip(("method", "target", "protocol"), column[1:],
                                                   strict=True)}
        elif output == "time":
            columns[field.column], bad = _times(n, column, field)
            bad_time |= bad
        else:
            columns[field.column] = _numbers(n, column, _TYPES[output])
    columns.update(request_parts)  # after the fields, as block._add_request_parts adds them
    return pa.table(columns), bad_time


def _validity(bitmap: np.ndarray, nulls: int) -> pa.Buffer | None:
    return pa.py_buffer(bitmap) if nulls else None


def _strings(n: int, column: tuple[np.ndarray, np.ndarray, tuple[np.ndarray, int]]) -> pa.Array:
    offsets, data, (validity, nulls) = column
    return pa.Array.from_buffers(pa.string(), n, [_validity(validity, nulls),
                                                  pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=nulls)


def _times(n: int, column: Any, field: FieldSpec) -> tuple[pa.Array, np.ndarray]:
    """The timestamp column and its bad rows; the kernel left the texts outside its plain cases
    (unknown months, out-of-range parts) to Arrow's strptime, so that both kernels judge them
    alike. A conditional timestamp's "-" is null and not bad."""
    (values, (validity, nulls)), unsure_rows, unsure_text = column
    if not len(unsure_rows):
        array = pa.Array.from_buffers(TIME_TYPE, n, [_validity(validity, nulls),
                                                     pa.py_buffer(values)], null_count=nulls)
        return array, np.zeros(n, dtype=bool)
    valid = np.unpackbits(validity, count=n, bitorder="little").astype(bool)
    settled = parse_times(_strings(len(unsure_rows), unsure_text), field.strptime)
    ok = settled.is_valid().to_numpy(zero_copy_only=False)
    values[unsure_rows] = settled.cast(pa.int64()).fill_null(0).to_numpy()
    valid[unsure_rows] = ok
    bad = np.zeros(n, dtype=bool)
    bad[unsure_rows] = ~ok
    array = pa.array(values, pa.int64(), mask=~valid).cast(TIME_TYPE)
    return array, bad
