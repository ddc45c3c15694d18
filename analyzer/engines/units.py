"""Units of work shared by the engines: plan them, summarise each, combine the results in order.

A *unit* is a byte range of an uncompressed file (:mod:`analyzer.ranges`) or a whole source that
can only be read from its start (compressed, stdin). Summarising a unit gives a :class:`Piece`:
the unit's :class:`~analyzer.summary.Summary` with line numbers counted from the unit's first
line, and how many lines of each source it read. :func:`combine` joins two adjacent pieces (the
right one's lines move on by the left one's line count, then ``Summary.merge``): an associative
operation, so any engine may fold the pieces in order or reduce them as an ordered tree, and the
result is the Summary that one pass over the inputs gives, line numbers included.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError, StrictModeError
from ..formats import LogFormat
from ..frame import _detect, _head, empty_block
from ..parse import ParsedBlock, join_blocks, parse_block, problem_block
from ..ranges import ByteRange, Opener, is_plain, iter_range_blocks, local_path, split_ranges
from ..sources import (
    BLOCK_SIZE,
    MAX_LINE,
    STDIN,
    Block,
    Problem,
    _decompress,
    _plain_blocks,
    _read,
    cut_stream,
    expand_inputs,
    iter_blocks,
    open_raw,
    sniff,
)
from ..summary import LINE_PARTS, Summary, summary_columns

UNIT_BLOCK_SIZE = 4 << 20  # a worker thread peaks near 80 MB; larger blocks are no faster
RANGE_SIZE = 16 << 20  # local engine: small ranges keep every core busy to the end
BATCH_ROWS = 80_000
_DETECT_BLOCK = 2 << 20  # detection samples the first 1 MiB (analyzer.frame._head)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Options:
    """What every unit needs besides its input (picklable: it travels to Dask workers)."""

    client_field: str = "client"
    since: datetime | None = None
    until: datetime | None = None
    strict: bool = False
    block_size: int = UNIT_BLOCK_SIZE


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
class Unit:
    source: Source
    span: ByteRange | None = None  # None: the whole source, from its start


@dataclass(frozen=True)
class StrictHit:
    """The first rejected line of a piece (for ``--strict``)."""

    source: str
    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class Piece:
    """A unit's Summary, lines numbered from the unit's first line, and lines read per source."""

    summary: Summary
    lines: Mapping[str, int] = field(default_factory=dict)
    strict: StrictHit | None = None


def empty_piece() -> Piece:
    return Piece(Summary.empty(), {})


# -- planning -----------------------------------------------------------------------------------

def expand(inputs: Sequence[str]) -> list[str]:
    """Inputs in reading order: local paths and globs as :func:`expand_inputs` orders them;
    URLs (``s3://...``) through fsspec, globs expanded."""
    if all(local_path(item) or item == STDIN for item in inputs):
        return expand_inputs(list(inputs))
    paths: list[str] = []
    for item in inputs:
        if item == STDIN or local_path(item):
            paths.extend(expand_inputs([item]))
        else:
            paths.extend(_expand_url(item))
    return list(dict.fromkeys(paths))


def plan(
    paths: Sequence[str],
    log_format: str | LogFormat | None,
    *,
    range_size: int = RANGE_SIZE,
    split: bool = True,
) -> list[Unit]:
    """The units of the inputs, in order: plain files cut into ranges (format detected here,
    from the file's first lines, so that every range parses alike), other sources whole."""
    fixed = LogFormat.resolve(log_format) if log_format is not None else None
    units: list[Unit] = []
    for order, path in enumerate(paths):
        source = Source(path, order, fixed, (), fixed.describe() if fixed else "", None,
                        _server_of(fixed.name if fixed else "", fixed))
        opener = opener_for(path)
        if not split or path == STDIN or not is_plain(path, opener):
            units.append(Unit(source))
            continue
        spans = split_ranges(path, range_size=range_size, opener=opener)
        if not spans:  # empty: a source all the same, read whole (0 lines)
            units.append(Unit(source))
            continue
        if fixed is None:
            source = _detected(source, opener)
        units.extend(Unit(source, span) for span in spans)
    return units


def _detected(source: Source, opener: Opener | None) -> Source:
    """The source with the format of its first lines, as :func:`analyzer.iter_parsed` finds it."""
    blocks = stream_blocks(source.path, opener=opener, block_size=_DETECT_BLOCK)
    try:
        head = _head(blocks)
    finally:
        blocks.close()
    return _detected_from(source, [b for b in head if isinstance(b, Block)])


def _server_of(format_name: str, fixed: LogFormat | None) -> str | None:
    from ..analysis import _server_of as server_of  # the same guess as analysis.summarize

    return server_of(format_name, fixed)


# -- reading ------------------------------------------------------------------------------------

def opener_for(path: str) -> Opener | None:
    """None for local paths (read with the fast path); fsspec for URLs."""
    if local_path(path) or path == STDIN:
        return None
    fsspec = _fsspec(path)

    def open_url(url: str) -> BinaryIO:
        try:
            return fsspec.open(url, "rb").open()
        except (OSError, ValueError) as exc:
            raise InputError(url, str(exc)) from None

    return open_url


def stream_blocks(
    path: str,
    *,
    opener: Opener | None = None,
    block_size: int = BLOCK_SIZE,
    max_line: int = MAX_LINE,
    progress: Progress | None = None,
) -> Iterator[Block | Problem]:
    """A whole source's blocks, as :func:`analyzer.sources.iter_blocks` cuts them, read through
    ``opener`` (URLs) and reporting the input bytes consumed to ``progress``."""
    if opener is None and progress is None:
        yield from iter_blocks(path, block_size=block_size, max_line=max_line)
        return
    raw = opener(path) if opener is not None else open_raw(path)
    try:
        handle = _Counted(raw, progress) if progress is not None else raw
        head, codec = sniff(path, handle)
        if codec is None:
            yield from _plain_blocks(path, handle, head, block_size, max_line)
        else:
            chunks = _decompress(path, codec, head + _read(path, handle), handle)
            yield from cut_stream(path, chunks, block_size, max_line)
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


class _Counted:
    """A file that tells ``progress`` how many bytes were read through it."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._progress(len(data))
        return data

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable buffer
        got = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self._progress(got)
        return got


def unit_items(
    unit: Unit, options: Options, progress: Progress | None = None
) -> Iterator[Block | Problem]:
    """The blocks and problems of a unit, lines numbered from its first line."""
    opener = opener_for(unit.source.path)
    if unit.span is None:
        yield from stream_blocks(unit.source.path, opener=opener, block_size=options.block_size,
                                 progress=progress)
        return
    for item in iter_range_blocks(unit.span, block_size=options.block_size, opener=opener):
        if progress is not None and isinstance(item, Block):
            progress(len(item.data))
        yield item


def unit_bytes(unit: Unit) -> int:
    """The input bytes a unit reads (for progress), 0 when unknown (stdin)."""
    if unit.span is not None:
        return unit.span.end - unit.span.start
    if unit.source.path == STDIN:
        return 0
    try:
        if local_path(unit.source.path):
            return os.path.getsize(unit.source.path)
        return int(_fsspec(unit.source.path).core.url_to_fs(unit.source.path)[0].size(
            unit.source.path))
    except (OSError, ValueError):
        return 0


# -- summarising --------------------------------------------------------------------------------

class Summarizer:
    """Parses and summarises the items of one source in order, keeping only merged Summaries.

    The first block fixes the format when the source's is not known yet (detection, as in
    :func:`analyzer.iter_parsed`). Consecutive parsed blocks are summarised together, up to
    ``BATCH_ROWS`` rows: one grouped aggregation over 100k rows costs half of four over 25k.
    """

    def __init__(self, source: Source, options: Options, *, every_column: bool = False) -> None:
        """``every_column``: parse every field of the format (frames), not only the ones a
        Summary reads."""
        self.source = source
        self.options = options
        self.columns = None if every_column else summary_columns(options.client_field)
        self.lines = 0
        self.strict: StrictHit | None = None
        self._batch: list[ParsedBlock] = []
        self._batch_rows = 0
        self._parts: list[Summary] = []
        self._rows = 0

    def detect(self, head: list[Block | Problem]) -> None:
        if self.source.fmt is None:
            self.source = _detected_from(self.source, [b for b in head if isinstance(b, Block)])

    def parse(self, item: Block | Problem) -> ParsedBlock:
        if isinstance(item, Problem):
            return problem_block(item)
        fmt = self.source.fmt
        assert fmt is not None, "detect() before parse()"
        return parse_block(item, fmt, self.source.fallbacks, self.columns,
                           in_line_order=self.columns is None)

    def add(self, parsed: ParsedBlock) -> None:
        self.lines += parsed.lines
        if self.options.strict and self.strict is None and parsed.rejects.num_rows:
            first = parsed.rejects.slice(0, 1).to_pylist()[0]
            self.strict = StrictHit(self.source.path, first["line"], first["reason"],
                                    first["text"])
        self._batch.append(parsed)
        self._batch_rows += parsed.table.num_rows
        if self._batch_rows >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        self._parts.append(summarize_block(join_blocks(self._batch), self.source, self.options))
        self._batch, self._batch_rows = [], 0
        self._rows += self._parts[-1].num_rows
        if len(self._parts) > 1 and self._rows > 100_000:
            self._parts = [Summary.merge_all(self._parts)]
            self._rows = self._parts[0].num_rows

    def piece(self) -> Piece:
        self._flush()
        if not self._parts:  # nothing read: an empty source still has its row, with 0 lines
            self._parts.append(summarize_block(empty_block(self.source.path), self.source,
                                               self.options))
        summary = Summary.merge_all(self._parts)
        lines = {self.source.path: self.lines} if self.lines else {}
        return Piece(summary, lines, self.strict)


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


def _detected_from(source: Source, blocks: list[Block]) -> Source:
    detection = _detect(source.path, blocks)
    fmt = detection.format
    return replace(source, fmt=fmt, fallbacks=tuple(detection.fallbacks), format_name=fmt.name,
                   detection=detection.describe(), server=_server_of(fmt.name, None))


def summarize_block(parsed: ParsedBlock, source: Source, options: Options) -> Summary:
    return Summary.from_block(
        parsed, format=source.format_name, detection=source.detection, server=source.server,
        order=source.order, client_field=options.client_field, since=options.since,
        until=options.until,
    )


def summarize_unit(unit: Unit, options: Options, progress: Progress | None = None) -> Piece:
    """Read, parse and summarise one unit on its own (a thread, a process, a Dask worker)."""
    summarizer = Summarizer(unit.source, options)
    for parsed in parsed_blocks(unit, options, summarizer, progress):
        summarizer.add(parsed)
        if summarizer.strict is not None:
            break
    return summarizer.piece()


def parsed_blocks(
    unit: Unit, options: Options, summarizer: Summarizer, progress: Progress | None = None
) -> Iterator[ParsedBlock]:
    """The unit's parsed blocks in order; the format is detected from the first lines of a
    source whose format is not known yet (``summarizer.source`` then says which)."""
    items = unit_items(unit, options, progress)
    try:
        head = _head(items) if unit.source.fmt is None else []
        summarizer.detect(head)
        for item in _chain(head, items):
            yield summarizer.parse(item)
    finally:
        items.close()  # type: ignore[attr-defined]


def _chain(head: list[Block | Problem], rest: Iterator[Block | Problem]
           ) -> Iterator[Block | Problem]:
    yield from head
    yield from rest


# -- combining ----------------------------------------------------------------------------------

def combine(left: Piece, right: Piece) -> Piece:
    """The piece of ``left`` followed by ``right`` (associative; not commutative)."""
    if not right.lines and right.summary.num_rows == 0:
        return left
    if not left.lines and left.summary.num_rows == 0:
        return right
    offsets = {s: n for s, n in left.lines.items() if n and s in right.lines}
    shifted = shift_lines(right.summary, offsets)
    lines = dict(left.lines)
    for source, count in right.lines.items():
        lines[source] = lines.get(source, 0) + count
    strict = left.strict
    if strict is None and right.strict is not None:
        hit = right.strict
        strict = replace(hit, line=hit.line + offsets.get(hit.source, 0))
    return Piece(Summary.merge_all([left.summary, shifted]), lines, strict)


def combine_many(pieces: Sequence[Piece]) -> Piece:
    """Pieces in order combined at once: one merge for all (what folding ``combine`` gives)."""
    if len(pieces) == 1:
        return pieces[0]
    running: dict[str, int] = {}
    summaries: list[Summary] = []
    strict: StrictHit | None = None
    for piece in pieces:
        offsets = {s: running[s] for s in piece.lines if running.get(s)}
        summaries.append(shift_lines(piece.summary, offsets))
        if strict is None and piece.strict is not None:
            strict = replace(piece.strict,
                             line=piece.strict.line + offsets.get(piece.strict.source, 0))
        for source, count in piece.lines.items():
            running[source] = running.get(source, 0) + count
    return Piece(Summary.merge_all(summaries) if summaries else Summary.empty(), running, strict)


def combine_all(pieces: Sequence[Piece]) -> Piece:
    """Pieces in order, combined as a balanced tree (what a Dask reduction does)."""
    items = list(pieces)
    if not items:
        return empty_piece()
    while len(items) > 1:
        paired = [combine(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            paired.append(items[-1])
        items = paired
    return items[0]


def shift_lines(summary: Summary, offsets: Mapping[str, int]) -> Summary:
    """The summary with the line numbers of each named source moved on by its offset.

    Every part with ``source`` and ``line`` columns is shifted; order within a source is kept,
    so the parts stay sorted and each sample keeps the same rows.
    """
    offsets = {s: n for s, n in offsets.items() if n}
    if not offsets:
        return summary
    changed: dict[str, pa.Table] = {}
    for name in LINE_PARTS:
        table = summary.part(name)
        if table.num_rows == 0:
            continue
        names = pa.array(list(offsets), pa.string())
        where = pc.index_in(table["source"], value_set=names)
        add = np.array(list(offsets.values()) + [0], dtype=np.int64)
        index = pc.fill_null(where, len(offsets)).to_numpy(zero_copy_only=False)
        line = pc.add(table["line"], pa.array(add[index], pa.int64()))
        changed[name] = table.set_column(table.column_names.index("line"), "line", line)
    return summary.with_parts(changed) if changed else summary


def finish(piece: Piece) -> Summary:
    """The summary of a fully combined piece; ``--strict``: the first rejected line raised."""
    if piece.strict is not None:
        hit = piece.strict
        raise StrictModeError(hit.source, hit.line, hit.reason, hit.text)
    return piece.summary


# -- fsspec -------------------------------------------------------------------------------------

def _fsspec(url: str):  # noqa: ANN202 - the fsspec module
    try:
        import fsspec
    except ImportError:
        raise InputError(url, "reading URLs needs fsspec: pip install 'logscan[dask]'") from None
    return fsspec


def _expand_url(url: str) -> list[str]:
    fsspec = _fsspec(url)
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise InputError(url, f"cannot open this URL ({exc})") from None
    if glob.has_magic(path):
        found = sorted(fs.glob(path))
        if not found:
            raise InputError(url, "no file matches this pattern")
        return [fs.unstrip_protocol(p) for p in found]
    if not fs.exists(path):
        raise InputError(url, "no such file")
    return [url]
