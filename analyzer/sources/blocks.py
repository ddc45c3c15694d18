"""The one cutter: any reader (a plain file, a byte range, a decompressing stream, stdin, a file
resumed at an offset) into line-aligned blocks, every line numbered and accounted for.

A reader is anything with ``readinto``. The cutter reads it straight into fresh block buffers
(no copies of plain data), delivers whole lines only, and reports an over-long line as one
``too_long`` Problem once its end is seen. A last line without a newline is delivered (marked
``unterminated``) only when the input is final, i.e. can no longer grow; otherwise it is left
for a later read, and the offset returned stops before it.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from ..errors import InputError
from .codecs import decompress, read_bytes, sniff
from .inputs import STDIN, Opener, open_raw
from .items import Block, Problem

BLOCK_SIZE = 16 << 20
MAX_LINE = 1 << 20
_SHOWN = 300  # bytes of an over-long line kept for its report
Progress = Callable[[int], None]


class Reader(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


@dataclass(frozen=True)
class Cut:
    """Where cutting stopped: bytes consumed (just after the last line delivered) and the number
    of the next line."""

    consumed: int
    next_line: int


def cut_blocks(
    source: str,
    raw: Reader,
    *,
    head: bytes = b"",
    first_line: int = 1,
    final: bool = True,
    block_size: int = BLOCK_SIZE,
    max_line: int = MAX_LINE,
) -> Generator[Block | Problem, None, Cut]:
    """``head`` then what ``raw`` holds, as Blocks of whole lines and Problems, in order."""
    carry, line, consumed = head, first_line, 0
    long_head: bytes | None = None  # the start of an over-long line being skipped
    long_size = 0  # its bytes skipped so far
    left = _size_left(raw)
    while True:
        # a small file gets a small buffer, not a whole block (it may still grow a little)
        want = block_size if left is None else min(block_size, max(left, 0) + (1 << 16))
        buffer = bytearray(want + len(carry))
        buffer[: len(carry)] = carry
        got = _readinto(source, raw, memoryview(buffer)[len(carry) :])
        if left is not None:
            left -= got
        end = len(carry) + got
        if not got:
            break
        if long_head is not None:  # inside an over-long line: drop bytes up to its newline
            first = buffer.find(b"\n", 0, end)
            if first < 0:
                long_size += end
                carry = b""
                continue
            yield Problem(source, line, "too_long", long_head)
            consumed += long_size + first + 1
            line, long_head, long_size = line + 1, None, 0
            carry = bytes(buffer[first + 1 : end])
            continue
        cut = buffer.rfind(b"\n", 0, end) + 1
        if cut:
            block = Block.of(source, line, memoryview(buffer)[:cut])
            yield block
            line, consumed = line + block.lines, consumed + cut
        if end - cut > max_line:  # no newline in sight: the line is too long to keep whole
            long_head = bytes(buffer[cut : min(cut + _SHOWN, end)])
            long_size, carry = end - cut, b""
        else:
            carry = bytes(buffer[cut:end])
    if long_head is not None:
        if final:
            yield Problem(source, line, "too_long", long_head)
            consumed, line = consumed + long_size, line + 1
        return Cut(consumed, line)
    cut = carry.rfind(b"\n") + 1
    if cut:
        block = Block.of(source, line, carry[:cut])
        yield block
        line, consumed = line + block.lines, consumed + cut
    if final and cut < len(carry):
        yield Block.of(source, line, carry[cut:] + b"\n", unterminated=True)
        line, consumed = line + 1, consumed + len(carry) - cut
    return Cut(consumed, line)


def read_blocks(
    path: str,
    *,
    source: str | None = None,
    offset: int = 0,
    first_line: int = 1,
    final: bool = True,
    opener: Opener | None = None,
    block_size: int = BLOCK_SIZE,
    max_line: int = MAX_LINE,
    progress: Progress | None = None,
) -> Generator[Block | Problem, None, int]:
    """The lines of a whole input, or of its content from byte ``offset`` on (numbered from
    ``first_line``), in blocks; returns the content offset just after the last line delivered.

    The offset counts decompressed bytes when the input is compressed (the stream is
    decompressed from its start and the first ``offset`` bytes skipped). ``source`` names the
    blocks (default: ``path``; a rotated copy is read under the name of its live log).
    ``progress`` is told the input bytes read as they are read.
    """
    name = source or path
    raw = opener(path) if opener is not None else open_raw(path)
    try:
        handle: Any = _Counted(raw, progress) if progress is not None else raw
        head, codec = sniff(path, handle)
        if codec is None:
            if offset:
                raw.seek(offset)
                head = b""
            size = _size_of(raw)
            cut = yield from cut_blocks(name, handle, head=head, first_line=first_line,
                                        final=final, block_size=block_size, max_line=max_line)
            shrunk = _shrank(raw, size)
            if shrunk is not None:
                yield Problem(name, cut.next_line, "truncated_input", shrunk.encode())
            return offset + cut.consumed
        chunks = decompress(path, codec, head + read_bytes(path, handle), handle)
        stream = _ChunkReader(_skipped(chunks, offset))
        cut = yield from cut_blocks(name, stream, first_line=first_line, final=final,
                                    block_size=block_size, max_line=max_line)
        if stream.problem is not None:
            yield Problem(name, cut.next_line, stream.problem.reason, stream.problem.text)
        return offset + cut.consumed
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def iter_blocks(
    path: str, *, block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE
) -> Iterator[Block | Problem]:
    """The whole input's lines in blocks of about ``block_size`` bytes, and its problems."""
    return read_blocks(path, block_size=block_size, max_line=max_line)


def cut_stream(
    source: str, chunks: Iterator[bytes | Problem], block_size: int, max_line: int
) -> Iterator[Block | Problem]:
    """A stream of byte chunks (ending early at a Problem) cut as a plain file is."""
    stream = _ChunkReader(chunks)
    cut = yield from cut_blocks(source, stream, block_size=block_size, max_line=max_line)
    if stream.problem is not None:
        yield Problem(source, cut.next_line, stream.problem.reason, stream.problem.text)


def _readinto(source: str, raw: Reader, view: memoryview) -> int:
    try:
        return raw.readinto(view) or 0
    except InputError:  # a decompressing reader's own (an OSError too)
        raise
    except OSError as exc:
        raise InputError(source, f"read failed: {exc.strerror or exc}") from None


def _skipped(chunks: Iterator[bytes | Problem], offset: int) -> Iterator[bytes | Problem]:
    """The stream without its first ``offset`` bytes."""
    for chunk in chunks:
        if offset and not isinstance(chunk, Problem):
            if len(chunk) <= offset:
                offset -= len(chunk)
                continue
            chunk, offset = chunk[offset:], 0
        yield chunk


class _ChunkReader:
    """A stream of byte chunks read as a file (``readinto``) up to its end or its first
    Problem, which is kept for the caller."""

    def __init__(self, chunks: Iterator[bytes | Problem]) -> None:
        self._chunks = chunks
        self._chunk = memoryview(b"")
        self.problem: Problem | None = None

    def readinto(self, buffer: memoryview) -> int:
        filled = 0
        while filled < len(buffer):
            if not self._chunk and not self._next():
                break
            size = min(len(self._chunk), len(buffer) - filled)
            buffer[filled : filled + size] = self._chunk[:size]
            self._chunk = self._chunk[size:]
            filled += size
        return filled

    def _next(self) -> bool:
        if self.problem is not None:
            return False
        for chunk in self._chunks:
            if isinstance(chunk, Problem):
                self.problem = chunk
                return False
            if chunk:
                self._chunk = memoryview(chunk)
                return True
        return False


class _Counted(io.RawIOBase):
    """A file that tells ``progress`` how many bytes were read through it."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._progress(len(data))
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        got = self._raw.readinto(buffer) or 0  # type: ignore[attr-defined]
        self._progress(got)
        return got


def _size_left(raw: Reader) -> int | None:
    """Bytes left to read in a regular file; None for pipes, terminals and streams."""
    try:
        info = os.fstat(raw.fileno())  # type: ignore[attr-defined]
        if not stat.S_ISREG(info.st_mode):
            return None
        return int(info.st_size - raw.tell())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _size_of(raw: BinaryIO) -> int | None:
    """The size of a regular file (None for a pipe, a terminal, a device)."""
    try:
        info = os.fstat(raw.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _shrank(raw: BinaryIO, size: int | None) -> str | None:
    """How a regular file of ``size`` bytes when it was opened, read to its end, shrank
    meanwhile (truncated while being read); None when it did not."""
    now = _size_of(raw)
    if size is None or now is None:
        return None
    try:
        read = raw.tell()
    except (OSError, ValueError):
        return None
    was = max(size, read)
    return f"the file shrank from {was} to {now} bytes while it was read" if now < was else None


__all__ = ["BLOCK_SIZE", "MAX_LINE", "STDIN", "Block", "Cut", "Problem", "cut_blocks",
           "cut_stream", "iter_blocks", "read_blocks"]
