"""Units of input: planned from the inputs, formats detected, read by the one cutter, parsed,
and summarised (or kept as rows) into a :class:`~analyzer.pipeline.pieces.Piece`."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pyarrow as pa

from ..formats import PRESETS, Detection, LogFormat, detect_format
from ..formats.detect import SAMPLE_LINES
from ..formats.serverconfig import FormatChoice, ServerFormats, resolve_choice
from ..formats.standard import StandardConfigs
from ..parse.block import REJECT_SCHEMA, ParsedBlock, join_blocks, parse_block, problem_block
from ..sources.blocks import read_blocks
from ..sources.inputs import STDIN, local_path, opener_for
from ..sources.items import Block, Problem
from ..sources.ranges import ByteRange, is_plain, iter_range_blocks, split_ranges
from ..summary.bounded import DEFAULT_MAX_KEYS
from ..summary.parts import held_rows, summary_columns
from ..summary.summary import Summary
from .pieces import Lines, Piece, Read, Rows, StrictHit

UNIT_BLOCK_SIZE = 4 << 20  # a worker thread peaks near 80 MB; larger blocks are no faster
RANGE_SIZE = 16 << 20  # small ranges keep every core busy to the end
BATCH_ROWS = 80_000  # one grouped aggregation over 100k rows costs half of four over 25k
# ... but a batch of rows that are all distinct keys (a hostile log: random methods, vhosts)
# is summarised through tables as large as itself: held to this many bytes of rows and counted
# keys, 1,000,000-line hostile logs peaked 60-160 MB lower (see BATCH_ROWS for ordinary ones)
BATCH_BYTES = 8 << 20
_MERGE_ROWS = 100_000  # a unit's parts are merged once they hold more rows than this
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
    max_keys: int = DEFAULT_MAX_KEYS  # K: keys per group of a Summary's bounded parts


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
    note: str = ""  # said after the detection: why the standard configuration was not used


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


def source_for(path: str, order: int, fixed: LogFormat | ServerFormats | StandardConfigs, *,
               read_from: str | None = None) -> Source:
    """A source with its format: ``fixed``, the format of the server configuration's directive
    that writes it (given, or the standard one of the input's directory), or detected from the
    first lines of ``read_from`` (the file at ``path`` by default). Stdin, pipes and devices
    cannot be read twice: they are left to be detected as they are read."""
    note = ""
    given: LogFormat | None = None
    if isinstance(fixed, StandardConfigs | ServerFormats):
        if isinstance(fixed, StandardConfigs):
            assigned, note = fixed.lookup(path) if local_path(path) else (None, "")
        else:
            assigned, given = (fixed.assign(path) if path != STDIN else None), fixed.default
        if assigned is not None:
            fmt = assigned.format
            return Source(path, order, fmt, (), fmt.name, assigned.detection, fmt.server)
    else:
        given = fixed
    if given is not None:
        origin = f"a format of your own, from {given.origin}" if given.origin else None
        return Source(path, order, given, (), given.describe(), origin, given.server)
    source = Source(path, order, note=note)
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
    known = PRESETS.get(fmt.name) or (fmt if fmt.origin else None)  # a preset, or the user's
    said = detection.describe() + (f"; note: {source.note}" if source.note else "")
    return replace(source, fmt=fmt, fallbacks=tuple(detection.fallbacks), format_name=fmt.name,
                   detection=said,
                   server=known.server if known is not None else None)


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
        self._batch_bytes = 0
        self._parts: list[Summary] = []
        self._rows = 0  # of the parts held
        self._merged = 0  # rows of the first part when it was last merged
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
        options = self.options
        # a Summary of all rows: the parser may count ordinary rows itself
        counts = self.columns is not None and options.since is None and options.until is None
        return parse_block(item, fmt, self.source.fallbacks, self.columns,
                           in_line_order=options.keep_rows, counts=counts)

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
        size = parsed.table.nbytes
        parsed = replace(parsed, table=held_rows(parsed.table))
        self._batch.append(parsed)
        # the rows held, and a share of those the native kernel counted (a stream's reader
        # would otherwise hold every block of the stream; 1/4: a batch of about 16 blocks,
        # measured on the 5,000,000-line gzip log: 291 MB peak at 1/40, 253 at 1/8)
        self._batch_rows += parsed.table.num_rows + parsed.counted_rows // 4
        self._batch_bytes += size + sum(t.nbytes for t in parsed.counted.values())
        if self._batch_rows >= BATCH_ROWS or self._batch_bytes >= BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        self._parts.append(self._summary(join_blocks(self._batch)))
        self._batch, self._batch_rows, self._batch_bytes = [], 0, 0
        self._rows += self._parts[-1].num_rows
        # merged once the new parts hold as many rows as the last merge gave: each row is then
        # merged about twice, however long the unit (past a fixed size, a unit re-merged its
        # whole total after every batch)
        if len(self._parts) > 1 and self._rows > max(_MERGE_ROWS, 2 * self._merged):
            self._parts = [Summary.merge_all(self._parts)]
            self._rows = self._merged = self._parts[0].num_rows

    def _summary(self, parsed: ParsedBlock) -> Summary:
        source, options = self.source, self.options
        return Summary.from_block(
            parsed, format=source.format_name, detection=source.detection,
            server=source.server, order=source.order, client_field=options.client_field,
            since=options.since, until=options.until, max_keys=options.max_keys,
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

