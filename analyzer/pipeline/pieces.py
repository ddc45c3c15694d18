"""What a unit gives, and how pieces are combined in input order.

A :class:`Piece` is a unit's Summary (or its rows, for frames), how many lines of each source it
read, the first rejected line (for ``--strict``) and where each resumed read stopped.
:func:`combine` joins adjacent pieces (line numbers of byte ranges move on by the lines before
them); it is associative, so engines may fold pieces in order or reduce them as an ordered
tree, and get what one pass over the inputs gives, line numbers included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import StrictModeError
from ..summary.parts import LINE_PARTS
from ..summary.summary import Summary


@dataclass(frozen=True)
class StrictHit:
    """The first rejected line of a piece (for ``--strict``)."""

    source: str
    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class Read:
    """How far a resumed unit read: ``file`` from ``start`` to ``end`` (content bytes)."""

    file: str
    start: int
    end: int
    lines: int


@dataclass(frozen=True)
class Lines:
    """The lines a piece read of one source: how many, and the number after its last one in
    the piece's own numbering (``relative``: a byte range's, counted from 1 at its start)."""

    count: int
    next_line: int
    relative: bool = False


@dataclass(frozen=True)
class Rows:
    """Every parsed row and rejected line of a piece (frames), per source in input order."""

    tables: tuple[tuple[str, pa.Table], ...] = ()
    rejects: tuple[tuple[str, pa.Table], ...] = ()
    formats: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Piece:
    data: Summary | Rows
    lines: Mapping[str, Lines] = field(default_factory=dict)
    strict: StrictHit | None = None
    reads: tuple[Read, ...] = ()


# -- combining ----------------------------------------------------------------------------------

def combine(pieces: Sequence[Piece]) -> Piece:
    """Pieces in input order as one (associative; not commutative): each piece's relative line
    numbers move on by the lines of its source before it, then one merge for all."""
    if len(pieces) == 1:
        return pieces[0]
    running: dict[str, Lines] = {}
    parts: list[Summary | Rows] = []
    strict: StrictHit | None = None
    reads: list[Read] = []
    for piece in pieces:
        offsets = {s: running[s].next_line - 1 for s, n in piece.lines.items()
                   if n.relative and s in running}
        parts.append(_shifted(piece.data, offsets))
        if strict is None and piece.strict is not None:
            hit = piece.strict
            strict = replace(hit, line=hit.line + offsets.get(hit.source, 0))
        for source, mine in piece.lines.items():
            before = running.get(source)
            shift = offsets.get(source, 0)
            running[source] = Lines(
                (before.count if before else 0) + mine.count, mine.next_line + shift,
                mine.relative and (before is None or before.relative),
            )
        reads.extend(piece.reads)
    return Piece(_merged(parts), running, strict, tuple(reads))


def combine_tree(pieces: Sequence[Piece], width: int = 2) -> Piece:
    """Pieces in order, combined ``width`` at a time as a tree (what a Dask reduction does)."""
    items = list(pieces)
    if not items:
        return Piece(Summary.empty())
    while len(items) > 1:
        items = [combine(items[i : i + width]) for i in range(0, len(items), width)]
    return items[0]


def _merged(parts: list[Summary | Rows]) -> Summary | Rows:
    if all(isinstance(p, Summary) for p in parts):
        return Summary.merge_all(p for p in parts if isinstance(p, Summary))
    rows = [p for p in parts if isinstance(p, Rows)]
    formats: dict[str, tuple[str, str | None]] = {}
    for part in rows:
        formats.update(part.formats)
    return Rows(tuple(t for r in rows for t in r.tables),
                tuple(t for r in rows for t in r.rejects), formats)


def _shifted(data: Summary | Rows, offsets: Mapping[str, int]) -> Summary | Rows:
    offsets = {s: n for s, n in offsets.items() if n}
    if not offsets:
        return data
    if isinstance(data, Rows):
        return replace(data, tables=_shift_tables(data.tables, offsets),
                       rejects=_shift_tables(data.rejects, offsets))
    return shift_lines(data, offsets)


def _shift_tables(tables: Iterable[tuple[str, pa.Table]], offsets: Mapping[str, int]
                  ) -> tuple[tuple[str, pa.Table], ...]:
    out = []
    for source, table in tables:
        if source in offsets and table.num_rows:
            index = table.column_names.index("line")
            table = table.set_column(index, "line", pc.add(table["line"], offsets[source]))
        out.append((source, table))
    return tuple(out)


def shift_piece(piece: Piece, offsets: Mapping[str, int]) -> Piece:
    """The piece with the line numbers of each named source moved on by its offset (a
    partition whose lines before it were counted up front)."""
    strict = piece.strict
    if strict is not None:
        strict = replace(strict, line=strict.line + offsets.get(strict.source, 0))
    return replace(piece, data=_shifted(piece.data, offsets), strict=strict)


def shift_lines(summary: Summary, offsets: Mapping[str, int]) -> Summary:
    """The summary with the line numbers of each named source moved on by its offset.

    Every part with ``source`` and ``line`` columns is shifted; order within a source is kept,
    so the parts stay sorted and each sample keeps the same rows.
    """
    changed: dict[str, pa.Table] = {}
    names = pa.array(list(offsets), pa.string())
    add = np.array(list(offsets.values()) + [0], dtype=np.int64)
    for name in LINE_PARTS:
        table = summary.part(name)
        if table.num_rows == 0:
            continue
        where = pc.index_in(table["source"], value_set=names)
        index = pc.fill_null(where, len(offsets)).to_numpy(zero_copy_only=False)
        line = pc.add(table["line"], pa.array(add[index], pa.int64()))
        changed[name] = table.set_column(table.column_names.index("line"), "line", line)
    return summary.with_parts(changed) if changed else summary


def check_strict(piece: Piece) -> Piece:
    """The piece; ``--strict``: its first rejected line raised as a StrictModeError."""
    if piece.strict is not None:
        hit = piece.strict
        raise StrictModeError(hit.source, hit.line, hit.reason, hit.text)
    return piece
