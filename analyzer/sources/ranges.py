"""Byte ranges of one uncompressed file, aligned to line starts: the unit of parallel work.

A large plain file is cut into ranges that workers read and parse on their own: each opens the
file itself, so no block bytes cross a process (or machine) boundary. A nominal cut at offset
``c`` moves to just after the first newline at or after ``c``; the range owns the lines that
start inside it, so a line split by a cut is read once, by the range where it starts.

Line numbers stay exact: a range numbers its lines from 1 and reports how many it read; the
caller adds the lines of the ranges before it (:func:`shift_lines`, :func:`first_lines`), or
counts each range's newlines first (:func:`count_newlines`) when it needs numbers up front.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from ..errors import InputError
from .blocks import BLOCK_SIZE, MAX_LINE, cut_blocks
from .codecs import CODECS
from .inputs import STDIN, Opener, local_path
from .items import Block, Problem

RANGE_SIZE = 64 << 20  # per task: a few blocks, so that workers stay busy and progress moves
_SCAN = 1 << 16


@dataclass(frozen=True)
class ByteRange:
    """Nominal bytes ``[start, end)`` of ``source``; the lines read are those starting after the
    first newline at or after ``start`` (from byte 0 for the first range) and before the same
    point after ``end``."""

    source: str
    start: int
    end: int
    index: int = 0  # position among the ranges of its source
    size: int = 0  # of the whole file

    @property
    def last(self) -> bool:
        return self.end >= self.size


def is_plain(path: str, opener: Opener | None = None) -> bool:
    """Whether the file is uncompressed, so that it can be read from any offset."""
    if path == STDIN:
        return False
    if opener is None and local_path(path) and not _regular(path):
        return False  # a FIFO or a device: read once, as a stream (opening it here would eat it)
    with _open(path, opener) as handle:
        head = handle.read(6)
    return not any(head.startswith(codec.magic) for codec in CODECS)


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None


def split_ranges(
    path: str, *, range_size: int = RANGE_SIZE, size: int | None = None,
    opener: Opener | None = None,
) -> list[ByteRange]:
    """Nominal ranges of about ``range_size`` bytes covering the whole file (at least one)."""
    if size is None:
        size = _size(path, opener)
    range_size = max(int(range_size), 1)
    count = max(1, -(-size // range_size))
    cuts = [size * i // count for i in range(count + 1)]
    return [
        ByteRange(path, cuts[i], cuts[i + 1], i, size) for i in range(count)
    ]


def iter_range_blocks(
    span: ByteRange,
    *,
    block_size: int = BLOCK_SIZE,
    max_line: int = MAX_LINE,
    opener: Opener | None = None,
) -> Iterator[Block | Problem]:
    """The lines of one range, in blocks, numbered from 1 within the range.

    Blocks and problems are exactly what :func:`analyzer.sources.blocks.iter_blocks`
    gives for the same lines, so that parsing the ranges of a file one by one gives what parsing
    the file gives.
    """
    with _open(span.source, opener) as handle:
        start = 0 if span.start == 0 else _line_start_after(handle, span.start, span.size)
        stop = _end_of_last_line(handle, span.size) if span.last else _line_start_after(
            handle, span.end, span.size)
        line = 1
        now = None
        if stop > start:
            handle.seek(start)
            bounded = _Bounded(handle, stop - start)
            cut = yield from cut_blocks(span.source, bounded, block_size=block_size,
                                        max_line=max_line)
            line = cut.next_line
            # only a range that came up short lost lines: one read whole before the file
            # shrank has all of its lines, whatever the size is now
            short = bounded.left > 0
        else:
            now = _current_size(handle)
            short = now is not None and now < min(span.end, span.size)
        if short:  # truncated while being read
            now = _current_size(handle) if now is None else now
            text = f"the file shrank from {span.size} to {now} bytes while it was read"
            yield Problem(span.source, line, "truncated_input", text.encode())


def lines_in(items: list[Block | Problem] | tuple[Block | Problem, ...]) -> int:
    """How many lines of the source these items account for (a problem stands for one)."""
    return sum(item.lines if isinstance(item, Block) else 1 for item in items)


def first_lines(counts: list[int]) -> list[int]:
    """The line-number offset of each range, from the line counts of the ranges in order."""
    offsets, total = [], 0
    for count in counts:
        offsets.append(total)
        total += count
    return offsets


def count_newlines(span: ByteRange, *, opener: Opener | None = None) -> int:
    """Newlines in the nominal bytes ``[start, end)`` (cheap: no parsing)."""
    buffer = bytearray(min(BLOCK_SIZE, max(span.end - span.start, 1)))
    view = np.frombuffer(buffer, dtype=np.uint8)
    total = 0
    with _open(span.source, opener) as handle:
        handle.seek(span.start)
        left = span.end - span.start
        while left > 0:
            got = handle.readinto(memoryview(buffer)[: min(left, len(buffer))])  # type: ignore[attr-defined]
            if not got:
                break
            total += int(np.count_nonzero(view[:got] == 10))
            left -= got
    return total


def line_offset(counts_before: list[int], span: ByteRange) -> int:
    """The number of lines before a range's first line, from the newline counts of the nominal
    ranges before it: the newlines before its start, plus the one its first line follows."""
    if span.start == 0:
        return 0
    return sum(counts_before) + 1


def _line_start_after(handle: BinaryIO, offset: int, size: int) -> int:
    """Just after the first newline at or after ``offset`` (the file's size if there is none)."""
    handle.seek(offset)
    position = offset
    while position < size:
        chunk = handle.read(_SCAN)
        if not chunk:
            break
        found = chunk.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(chunk)
    return size


def _end_of_last_line(handle: BinaryIO, size: int) -> int:
    """Where the last range stops: the planned size, unless that cut a line that was being
    written (a server appends a line with one write, which a reader can see half done) and the
    file has grown since: then the end of that line, which the run reads whole."""
    if size == 0:
        return size
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return size
    now = _current_size(handle)
    if now is None or now <= size:
        return size
    return _line_start_after(handle, size, now)


class _Bounded(io.RawIOBase):
    """The next ``left`` bytes of a file, then end of file."""

    def __init__(self, handle: BinaryIO, left: int) -> None:
        self._handle = handle
        self._left = left

    def readable(self) -> bool:
        return True

    @property
    def left(self) -> int:
        """Bytes still wanted (more than none at the end: the file was shorter)."""
        return self._left

    def readinto(self, buffer: Any) -> int:  # noqa: ANN401 - any writable buffer
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        got = self._handle.readinto(view[:want]) or 0  # type: ignore[attr-defined]
        self._left -= got
        return got


def _current_size(handle: BinaryIO) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def _size(path: str, opener: Opener | None) -> int:
    if opener is None:
        try:
            return os.path.getsize(path)
        except OSError as exc:
            raise InputError(path, exc.strerror or str(exc)) from None
    with opener(path) as handle:
        return handle.seek(0, os.SEEK_END)


def _open(path: str, opener: Opener | None) -> BinaryIO:
    if opener is not None:
        return opener(path)
    try:
        return open(path, "rb", buffering=0)  # noqa: SIM115 - used in a with block
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
