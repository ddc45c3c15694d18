"""The one pipeline: units of input are read, parsed and summarised (or kept as rows), and the
pieces they give are combined in input order.

A *unit* is a byte range of an uncompressed file, a whole source (compressed, stdin, a URL),
or a source read on from a checkpoint's offset. Every unit is read by the one cutter
(:mod:`analyzer.sources.blocks`), every source's format comes from the one detector (its first
lines), and every unit gives a :class:`Piece`: its Summary (or its rows, for frames), how many
lines of each source it read, the first rejected line (for ``--strict``) and where each read
stopped. :func:`combine` joins adjacent pieces (line numbers of byte ranges move on by the lines
before them); it is associative, so engines may fold pieces in order or reduce them as an
ordered tree, and get what one pass over the inputs gives, line numbers included.

Engines (:mod:`analyzer.engines`) only decide where units run.
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import StrictModeError
from .formats import PRESETS, Detection, LogFormat, detect_format
from .formats.detect import SAMPLE_LINES
from .formats.serverconfig import FormatChoice, ServerFormats, resolve_choice
from .parse.block import REJECT_SCHEMA, ParsedBlock, join_blocks, parse_block, problem_block
from .sources.blocks import read_blocks
from .sources.inputs import STDIN, local_path, opener_for
from .sources.items import Block, Problem
from .sources.ranges import ByteRange, is_plain, iter_range_blocks, split_ranges
from .summary.summary import LINE_PARTS, Summary, summary_columns

UNIT_BLOCK_SIZE = 4 << 20  # a worker thread peaks near 80 MB; larger blocks are no faster
RANGE_SIZE = 16 << 20  # small ranges keep every core busy to the end
BATCH_ROWS = 80_000  # one grouped aggregation over 100k rows costs half of four over 25k
_SAMPLE_BYTES = 1 << 20  # detection reads at most this much of a source's start
_DETECT_BLOCK = 2 << 20
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Options:
    """What every unit needs besides its input (picklable: it travels to Dask workers)."""

    client_field: str = "client"
    since: datetime | None = None
    until: datetime | None = None
    strict: bool = False
    block_size: int = UNIT_BLOCK_SIZE
    keep_rows: bool = False  # every column of every row (frames), not a Summary


@dataclass(frozen=True)
class Source:
    """One input and how to parse it (``fmt`` None: detected from its first lines)."""

    path: str
    order: int
    fmt: LogFormat | None = None
    fallbacks: tuple[LogFormat, ...] = ()
    format_name: str = ""
    detection: str | None = None
    server: str | None = None


@dataclass(frozen=True)
class Resume:
    """Read ``file`` (the source itself, or a rotated copy of it) from content byte ``offset``,
    numbering lines from ``first_line``; ``final``: the file can no longer grow, so a last line
    without a newline is read too."""

    file: str
    offset: int = 0
    first_line: int = 1
    final: bool = True


@dataclass(frozen=True)
class Unit:
    source: Source
    span: ByteRange | None = None  # a byte range of a plain file
    resume: Resume | None = None  # None (and no span): the whole source, from its start


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


# -- planning -----------------------------------------------------------------------------------

def plan(
    paths: Sequence[str],
    log_format: FormatChoice,
    *,
    range_size: int = RANGE_SIZE,
    split: bool = True,
) -> list[Unit]:
    """The units of the inputs (already expanded, in reading order): plain files cut into
    byte ranges, other sources whole; formats detected here from each source's first lines,
    except stdin's (detected by the unit as it reads, since stdin cannot be read twice)."""
    fixed = resolve_choice(log_format)
    units: list[Unit] = []
    for order, path in enumerate(paths):
        source = source_for(path, order, fixed)
        opener = opener_for(path)
        spans = (split_ranges(path, range_size=range_size, opener=opener)
                 if split and path != STDIN and is_plain(path, opener) else [])
        if spans:
            units.extend(Unit(source, span) for span in spans)
        else:
            units.append(Unit(source))
    return units


def source_for(path: str, order: int, fixed: LogFormat | ServerFormats | None, *,
               read_from: str | None = None) -> Source:
    """A source with its format: ``fixed``, the format of the server configuration's directive
    that writes it, or detected from the first lines of ``read_from`` (the file at ``path`` by
    default). Stdin, pipes and devices cannot be read twice: they are left to be detected as
    they are read."""
    if isinstance(fixed, ServerFormats):
        assigned = fixed.assign(path) if path != STDIN else None
        if assigned is not None:
            fmt = assigned.format
            return Source(path, order, fmt, (), fmt.name, assigned.detection, fmt.server)
        fixed = fixed.default
    if fixed is not None:
        return Source(path, order, fixed, (), fixed.describe(), None, fixed.server)
    source = Source(path, order)
    if not _rereadable(read_from or path):
        return source
    items = read_blocks(read_from or path, opener=opener_for(path), block_size=_DETECT_BLOCK)
    try:
        head = take_head(items)
    finally:
        items.close()
    return detected(source, head)


def _rereadable(path: str) -> bool:
    if path == STDIN:
        return False
    if not local_path(path):
        return True
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def take_head(items: Iterator[Block | Problem]) -> list[Block | Problem]:
    """The first items of a source, enough for a detection sample (or all of a small one)."""
    head: list[Block | Problem] = []
    lines = size = 0
    for item in items:
        head.append(item)
        if isinstance(item, Block):
            lines, size = lines + item.lines, size + len(item.data)
        if lines >= 2 * SAMPLE_LINES or size >= _SAMPLE_BYTES:
            break
    return head


def detected(source: Source, head: Sequence[Block | Problem]) -> Source:
    """The source with the format its first lines show (the one detector)."""
    detection = _detect(source.path, [b for b in head if isinstance(b, Block)])
    fmt = detection.format
    preset = PRESETS.get(fmt.name)
    return replace(source, fmt=fmt, fallbacks=tuple(detection.fallbacks), format_name=fmt.name,
                   detection=detection.describe(),
                   server=preset.server if preset is not None else None)


def _detect(path: str, blocks: list[Block]) -> Detection:
    data = b"".join(bytes(b.data[:_SAMPLE_BYTES]) for b in blocks)
    head = data[:_SAMPLE_BYTES].split(b"\n", 2 * SAMPLE_LINES)
    if len(data) > _SAMPLE_BYTES or len(head) > 2 * SAMPLE_LINES:
        head = head[:-1]  # the last piece may be part of a line
    sample = [line.decode("utf-8", "backslashreplace").rstrip("\r") for line in head]
    return detect_format(path, sample)


# -- reading ------------------------------------------------------------------------------------

def unit_items(
    unit: Unit, options: Options, progress: Progress | None = None
) -> Generator[Block | Problem, None, int]:
    """The blocks and problems of a unit: a range's numbered from 1, others from their first
    line. A resumed unit's reader returns the offset it stopped at (``StopIteration.value``)."""
    path = unit.source.path
    if unit.span is not None:
        for item in iter_range_blocks(unit.span, block_size=options.block_size,
                                      opener=opener_for(path)):
            if progress is not None and isinstance(item, Block):
                progress(len(item.data))
            yield item
        return 0
    resume = unit.resume or Resume(path)
    return (yield from read_blocks(
        resume.file, source=path, offset=resume.offset, first_line=resume.first_line,
        final=resume.final, opener=opener_for(path), block_size=options.block_size,
        progress=progress,
    ))


def unit_bytes(unit: Unit) -> int:
    """The input bytes a unit reads (for progress), 0 when unknown (stdin, URLs)."""
    if unit.span is not None:
        return unit.span.end - unit.span.start
    path = unit.resume.file if unit.resume is not None else unit.source.path
    if not local_path(path):
        return 0
    try:
        return max(os.path.getsize(path) - (unit.resume.offset if unit.resume else 0), 0)
    except OSError:
        return 0


# -- one unit: parse, then summarise or keep -----------------------------------------------------

class UnitReader:
    """Parses the items of one unit in order and keeps only merged Summaries (or rows).

    Consecutive parsed blocks are summarised together, up to ``BATCH_ROWS`` rows.
    """

    def __init__(self, source: Source, options: Options) -> None:
        self.source = source
        self.options = options
        self.columns = None if options.keep_rows else summary_columns(options.client_field)
        self.count = 0
        self.next_line: int | None = None
        self.strict: StrictHit | None = None
        self._batch: list[ParsedBlock] = []
        self._batch_rows = 0
        self._parts: list[Summary] = []
        self._rows = 0
        self._tables: list[tuple[str, pa.Table]] = []
        self._rejects: list[tuple[str, pa.Table]] = []

    def detect(self, head: Sequence[Block | Problem]) -> None:
        if self.source.fmt is None:
            self.source = detected(self.source, head)

    def parse(self, item: Block | Problem) -> ParsedBlock:
        if isinstance(item, Problem):
            return problem_block(item)
        fmt = self.source.fmt
        assert fmt is not None, "detect() before parse()"
        return parse_block(item, fmt, self.source.fallbacks, self.columns,
                           in_line_order=self.options.keep_rows)

    def add(self, parsed: ParsedBlock, last_line: int) -> None:
        """A parsed block whose last line is ``last_line`` (in the unit's numbering)."""
        self.count += parsed.lines
        if parsed.lines:
            self.next_line = last_line + 1
        if self.options.strict and self.strict is None and parsed.rejects.num_rows:
            first = parsed.rejects.slice(0, 1).to_pylist()[0]
            self.strict = StrictHit(self.source.path, first["line"], first["reason"],
                                    first["text"])
        if self.options.keep_rows:
            self._tables.append((self.source.path, parsed.table))
            self._rejects.append((self.source.path, parsed.rejects))
            return
        self._batch.append(parsed)
        self._batch_rows += parsed.table.num_rows
        if self._batch_rows >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        self._parts.append(self._summary(join_blocks(self._batch)))
        self._batch, self._batch_rows = [], 0
        self._rows += self._parts[-1].num_rows
        if len(self._parts) > 1 and self._rows > 100_000:
            self._parts = [Summary.merge_all(self._parts)]
            self._rows = self._parts[0].num_rows

    def _summary(self, parsed: ParsedBlock) -> Summary:
        source, options = self.source, self.options
        return Summary.from_block(
            parsed, format=source.format_name, detection=source.detection,
            server=source.server, order=source.order, client_field=options.client_field,
            since=options.since, until=options.until,
        )

    def piece(self, *, relative: bool = False, reads: tuple[Read, ...] = ()) -> Piece:
        """What the unit gave; ``relative``: its lines were numbered from 1 (a byte range)."""
        path = self.source.path
        lines = {path: Lines(self.count, self.next_line or 1, relative)} if self.count else {}
        if self.options.keep_rows:
            formats = {path: (self.source.format_name, self.source.detection)}
            rows = Rows(tuple(self._tables), tuple(self._rejects), formats)
            return Piece(rows, lines, self.strict, reads)
        self._flush()
        if not self._parts:  # nothing read: an empty source still has its row, with 0 lines
            self._parts.append(self._summary(empty_block(path)))
        return Piece(Summary.merge_all(self._parts), lines, self.strict, reads)


def empty_block(source: str) -> ParsedBlock:
    """What an empty input parses to: no rows, no rejects, 0 lines (but a source all the same)."""
    table = pa.table({"line": pa.array([], pa.int64())})
    return ParsedBlock(source, 0, table, REJECT_SCHEMA.empty_table())


def last_line(item: Block | Problem) -> int:
    return item.first_line + item.lines - 1 if isinstance(item, Block) else item.line


def read_unit(unit: Unit, options: Options, progress: Progress | None = None) -> Piece:
    """Read, parse and summarise (or keep) one unit on its own (a thread, a Dask worker)."""
    reader = UnitReader(unit.source, options)
    items = Tracked(unit_items(unit, options, progress))
    try:
        head = take_head(items) if unit.source.fmt is None else []
        reader.detect(head)
        for item in itertools.chain(head, items):
            reader.add(reader.parse(item), last_line(item))
            if reader.strict is not None:
                break
    finally:
        items.close()
    return reader.piece(relative=unit.span is not None,
                        reads=_reads(unit, reader.count, items.end))


class Tracked(Iterator[Block | Problem]):
    """A unit's items; once they are all read, ``end`` is the offset the reader returned."""

    def __init__(self, items: Iterator[Block | Problem]) -> None:
        self._items = items
        self.end = 0

    def __next__(self) -> Block | Problem:
        try:
            return next(self._items)
        except StopIteration as stop:
            self.end = stop.value or 0
            raise

    def close(self) -> None:
        close = getattr(self._items, "close", None)
        if close is not None:
            close()


def _reads(unit: Unit, lines: int, end: int) -> tuple[Read, ...]:
    if unit.resume is None:
        return ()
    return (Read(unit.resume.file, unit.resume.offset, end, lines),)


def read_item(source: Source, item: Block | Problem, options: Options) -> Piece:
    """One block of a stream read elsewhere (stdin, a compressed file), parsed in pieces of
    the block size."""
    reader = UnitReader(source, options)
    parts = split_block(item, options.block_size) if isinstance(item, Block) else [item]
    for part in parts:
        reader.add(reader.parse(part), last_line(part))
    return reader.piece()


def split_block(block: Block, size: int) -> Iterator[Block]:
    """A block as line-aligned blocks of about ``size`` bytes (lines numbered on)."""
    if len(block.data) <= size:
        yield block
        return
    data = memoryview(block.data)
    offsets = block.line_offsets()
    count = len(offsets) - 1
    first = 0
    while first < count:
        start = int(offsets[first])
        # the last line end within ``size`` bytes; a line longer than that goes alone
        last = max(int(np.searchsorted(offsets, start + size, side="right")) - 1, first + 1)
        yield Block(block.source, block.first_line + first, data[start : offsets[last]],
                    last - first, block.unterminated and last == count,
                    offsets[first : last + 1] - offsets[first])
        first = last


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
