"""Opening inputs: paths, globs and stdin; compression by magic bytes; rotated sets in order.

Everything downstream receives line-aligned byte blocks with the number of their first line,
so that every line can be accounted for. Damage in a compressed stream does not lose the lines
before it: they are delivered, and the damage is delivered as a ``Problem`` after them.
"""

from __future__ import annotations

import bz2
import glob
import io
import lzma
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import numpy as np

from .errors import InputError

if TYPE_CHECKING:
    from .zstd_frames import BoundedZstd

STDIN = "-"
BLOCK_SIZE = 16 << 20
MAX_LINE = 1 << 20
_READ_SIZE = 1 << 20
_MAGIC_BYTES = 6
_PIECE = 4 << 20  # most decompressed bytes handed on at once
_FEED = 16 << 10  # compressed bytes fed to a decompressor at once (see _decompress)
_SCAN = 1 << 18  # bytes compared at once when looking for newlines (a reused scratch buffer)


@dataclass(frozen=True)
class Block:
    """Whole lines of one source; each ends in a newline (one is added after a last line)."""

    source: str
    first_line: int
    data: bytes | memoryview
    lines: int
    unterminated: bool = False  # the source ended without a newline after the last line
    # where each line starts, then the end of the data: the offsets of an Arrow array of the
    # lines, found once by the reader (see line_offsets) and reused by the parser
    offsets: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, source: str, first_line: int, data: bytes | memoryview,
           unterminated: bool = False) -> Block:
        """A block of ``data`` (whole lines), its lines counted."""
        offsets = line_offsets(data)
        return cls(source, first_line, data, len(offsets) - 1, unterminated, offsets)

    def line_offsets(self) -> np.ndarray:
        return self.offsets if self.offsets is not None else line_offsets(self.data)


@dataclass(frozen=True)
class Problem:
    """Something in a source that is not a parseable line: an over-long line, or damage."""

    source: str
    line: int
    reason: str  # "too_long", "truncated_input" or "corrupt_input"
    text: bytes


class _Decompressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class _Codec:
    name: str
    magic: bytes
    new: Callable[[], _Decompressor | BoundedZstd]


def _zlib_module():  # noqa: ANN202 - isal.isal_zlib mirrors the zlib module
    try:
        from isal import isal_zlib  # about twice as fast as zlib at inflating

        return isal_zlib
    except ImportError:  # pragma: no cover - isal is optional
        return zlib


def _zstd() -> BoundedZstd:
    from .zstd_frames import BoundedZstd

    return BoundedZstd()


_CODECS = (
    _Codec("gzip", b"\x1f\x8b", lambda: _zlib_module().decompressobj(wbits=31)),
    _Codec("bzip2", b"BZh", bz2.BZ2Decompressor),
    _Codec("xz", b"\xfd7zXZ\x00", lzma.LZMADecompressor),
    _Codec("zstd", b"\x28\xb5\x2f\xfd", _zstd),
)
_ROTATED = re.compile(
    r"^(?P<base>.*?)(?:\.(?P<n>\d+)|-(?P<date>\d{8,10}))?(?:\.(?:gz|bz2|xz|zst))?$"
)


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Paths in reading order: globs expanded, rotated sets oldest first, each input checked."""
    paths: list[str] = []
    for item in inputs:
        if item == STDIN:
            paths.append(item)
            continue
        matches = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matches:
            raise InputError(item, "no file matches this pattern")
        paths.extend(matches)
    for path in paths:
        _check_readable(path)
    return order_rotated(list(dict.fromkeys(paths)))


def order_rotated(paths: list[str]) -> list[str]:
    """``a.log a.log.1 a.log.2.gz`` -> ``a.log.2.gz a.log.1 a.log`` (logrotate's numbering)."""
    groups: dict[str, list[tuple[tuple[int, int | str], str]]] = {}
    for path in paths:
        match = _ROTATED.match(path)
        assert match is not None  # the pattern matches any string
        base = match["base"]
        if match["n"] is not None:
            key: tuple[int, int | str] = (0, -int(match["n"]))
        elif match["date"] is not None:
            key = (1, match["date"])
        else:
            key = (2, 0)
        groups.setdefault(base, []).append((key, path))
    ordered: list[str] = []
    for members in groups.values():
        ordered.extend(path for _, path in sorted(members, key=lambda m: m[0]))
    return ordered


def _check_readable(path: str) -> None:
    if path == STDIN:
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory; give the log files inside it (or a glob)")
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied")
    check_name(path)


def check_name(path: str) -> None:
    """A source is named by its path in every report, so the path must be text."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(path, "the file name is not valid UTF-8; rename the file, or link it "
                         "under a UTF-8 name") from None


def open_raw(path: str) -> BinaryIO:
    if path == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, exc.strerror or str(exc)) from None


def iter_blocks(
    path: str, *, block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE
) -> Iterator[Block | Problem]:
    """The source's lines in blocks of about ``block_size`` bytes, and its problems, in order."""
    raw = open_raw(path)
    try:
        head, codec = sniff(path, raw)
        if codec is None:
            size, line = _size_of(raw), 1
            for item in _plain_blocks(path, raw, head, block_size, max_line):
                line += item.lines if isinstance(item, Block) else 1
                yield item
            shrunk = shrank(raw, size)
            if shrunk is not None:
                yield Problem(path, line, "truncated_input", shrunk.encode())
        else:
            chunks = _decompress(path, codec, head + _read(path, raw), raw)
            yield from cut_stream(path, chunks, block_size, max_line)
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def sniff(path: str, raw: BinaryIO) -> tuple[bytes, _Codec | None]:
    """The first bytes of an input, and its compression when they are a codec's magic bytes."""
    head = _read(path, raw, _MAGIC_BYTES)
    return head, next((c for c in _CODECS if head.startswith(c.magic)), None)


def _plain_blocks(
    path: str, raw: BinaryIO, head: bytes, block_size: int, max_line: int
) -> Iterator[Block | Problem]:
    """Uncompressed input, read straight into fresh block buffers (no copies of the data)."""
    carry, line = head, 1
    skipping = False
    left = _size_left(raw)
    while True:
        # a small file gets a small buffer, not a whole block (it may still grow a little)
        want = block_size if left is None else min(block_size, max(left, 0) + (1 << 16))
        buffer = bytearray(want + len(carry))
        buffer[: len(carry)] = carry
        try:
            got = raw.readinto(memoryview(buffer)[len(carry) :])  # type: ignore[attr-defined]
        except OSError as exc:
            raise InputError(path, f"read failed: {exc.strerror or exc}") from None
        if left is not None:
            left -= got or 0
        end = len(carry) + (got or 0)
        if not got:
            break
        if skipping:  # inside an over-long line: drop bytes up to its newline, keep the rest
            first = buffer.find(b"\n", 0, end)
            skipping = first < 0
            carry = b"" if skipping else bytes(buffer[first + 1 : end])
            continue
        cut = buffer.rfind(b"\n", 0, end) + 1
        if cut == 0:  # no newline in a whole block: one line longer than any we accept
            if end > max_line:
                yield Problem(path, line, "too_long", bytes(buffer[:300]))
                line, carry, skipping = line + 1, b"", True
            else:
                carry = bytes(buffer[:end])
            continue
        block = Block.of(path, line, memoryview(buffer)[:cut])
        yield block
        line += block.lines
        if end - cut > max_line:  # the next line is already too long: not carried on whole
            yield Problem(path, line, "too_long", bytes(buffer[cut : cut + 300]))
            line, carry, skipping = line + 1, b"", True
            continue
        carry = bytes(buffer[cut:end])
    if carry and not skipping:
        cut = carry.rfind(b"\n") + 1
        if cut:
            block = Block.of(path, line, carry[:cut])
            yield block
            line += block.lines
        if cut < len(carry):
            yield Block.of(path, line, carry[cut:] + b"\n", unterminated=True)


def line_offsets(data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None
                 ) -> np.ndarray:
    """0, then the offset just after each newline in ``data[start:end]`` (from ``start``), as
    int32: one more entry than there are newlines.

    NumPy in windows of a reused scratch buffer: six times faster than ``bytes.count``, and a
    block-sized comparison result would be a fresh allocation (page faults) for every block.
    """
    end = len(data) if end is None else end
    view = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    scratch = np.empty(min(_SCAN, len(view)), dtype=bool)
    found = [np.zeros(1, dtype=np.int32)]
    for at in range(0, len(view), _SCAN):
        window = view[at : at + _SCAN]
        newline = np.equal(window, 10, out=scratch[: len(window)])
        found.append((np.flatnonzero(newline) + (at + 1)).astype(np.int32))
    return np.concatenate(found)


def _size_left(raw: BinaryIO) -> int | None:
    """Bytes left to read in a regular file; None for pipes and terminals."""
    try:
        info = os.fstat(raw.fileno())
        return info.st_size - raw.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _size_of(raw: BinaryIO) -> int | None:
    """The size of a regular file (None for a pipe, a terminal, a device)."""
    try:
        info = os.fstat(raw.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def shrank(raw: BinaryIO, size: int | None) -> str | None:
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


def _read(path: str, raw: BinaryIO, size: int = _READ_SIZE) -> bytes:
    try:
        return raw.read(size)
    except OSError as exc:
        raise InputError(path, f"read failed: {exc.strerror or exc}") from None


def _decompress(path: str, codec: _Codec, data: bytes, raw: BinaryIO) -> Iterator[bytes | Problem]:
    """Decompressed chunks; several members or streams one after another are read in turn.

    The compressed bytes are fed in pieces of ``_FEED``: a decompressor that meets damage drops
    the output of the call that met it, so small feeds keep the lines before the damage.
    """
    decoder = codec.new()
    produced = False
    at = 0  # how much of ``data`` was fed
    while True:
        if at >= len(data):
            data, at = _read(path, raw), 0
            if not data:
                break
        feed, at = data[at : at + _FEED], at + _FEED
        try:
            for out in _pieces(codec, decoder, feed):
                if out:
                    produced = True
                    yield out
        except Exception as exc:  # each codec raises its own error type for bad data
            if not produced:
                raise InputError(path, f"not a readable {codec.name} file ({exc})") from None
            yield Problem(path, 0, "corrupt_input", f"{codec.name} data damaged: {exc}".encode())
            return
        if getattr(decoder, "eof", False):
            data, at = _next_member(path, decoder, data[at:], raw), 0
            if not data:
                return
            if not data.startswith(codec.magic[: len(data)]):
                text = f"data that is not {codec.name} after the end of the {codec.name} stream"
                yield Problem(path, 0, "corrupt_input", text.encode())
                return
            decoder = codec.new()
    if not getattr(decoder, "eof", True):
        if not produced:
            raise InputError(path, f"not a readable {codec.name} file (it ends too early)")
        yield Problem(path, 0, "truncated_input", f"{codec.name} stream ends early".encode())


def _pieces(codec: _Codec, decoder: Any, data: bytes) -> Iterator[bytes]:
    """All the output of ``data``, in pieces of at most ``_PIECE`` bytes, so that a highly
    compressed over-long line cannot fill memory (zstd: see :mod:`analyzer.zstd_frames`)."""
    if codec.name == "gzip":
        out = decoder.decompress(data, _PIECE)
        yield out
        while not decoder.eof and (decoder.unconsumed_tail or len(out) == _PIECE):
            out = decoder.decompress(decoder.unconsumed_tail, _PIECE)
            if not out and not decoder.unconsumed_tail:
                return
            yield out
    elif codec.name in ("bzip2", "xz"):
        yield decoder.decompress(data, _PIECE)
        while not decoder.eof and not decoder.needs_input:
            yield decoder.decompress(b"", _PIECE)
    else:  # zstd: no output limit of its own; BoundedZstd feeds it a few blocks at a time
        yield from decoder.pieces(data)


def _next_member(path: str, decoder: _Decompressor, rest: bytes, raw: BinaryIO) -> bytes:
    """What follows a finished member or stream (concatenated gzip, multi-stream bzip2/xz/zstd):
    the decoder's unused bytes, then ``rest`` (not fed yet), then the input, without the zero
    padding some writers leave behind; empty at the end of the input."""
    data = (getattr(decoder, "unused_data", b"") or b"") + rest
    data = (data or _read(path, raw)).lstrip(b"\x00")
    while not data:
        more = _read(path, raw)
        if not more:
            return b""
        data = more.lstrip(b"\x00")
    return data


def cut_stream(
    source: str, chunks: Iterator[bytes | Problem], block_size: int, max_line: int
) -> Iterator[Block | Problem]:
    """A decompressed stream's Blocks, cut as a plain file's are: each decompressed piece is
    copied once, into a block buffer, and the block is that buffer up to its last newline. A
    Problem in the stream (damage) comes after the lines before it, as their next line."""
    reader = _ChunkReader(chunks)
    line = 1
    for item in _plain_blocks(source, reader, b"", block_size, max_line):
        line += item.lines if isinstance(item, Block) else 1
        yield item
    if reader.problem is not None:
        yield Problem(source, line, reader.problem.reason, reader.problem.text)


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


# -- reading from an offset (scheduled runs: analyzer.incremental) ------------------------------


def read_head(path: str, size: int, raw: BinaryIO | None = None) -> bytes:
    """The first ``size`` bytes of a file's content, decompressed when it is compressed.

    With ``raw`` (an open file), reads through it from its start and leaves it open.
    """
    handle = raw if raw is not None else open_raw(path)
    try:
        handle.seek(0)
        head, codec = sniff(path, handle)
        if codec is None:
            return (head + _read(path, handle, max(size - len(head), 0)))[:size]
        out = bytearray()
        try:
            for chunk in _decompress(path, codec, head + _read(path, handle), handle):
                if isinstance(chunk, Problem):
                    break
                out += chunk
                if len(out) >= size:
                    break
        except InputError:
            return b""
        return bytes(out[:size])
    finally:
        if raw is None:
            handle.close()


def iter_blocks_from(
    path: str,
    offset: int = 0,
    first_line: int = 1,
    *,
    final: bool = False,
    raw: BinaryIO | None = None,
    block_size: int = BLOCK_SIZE,
    max_line: int = MAX_LINE,
) -> Generator[Block | Problem, None, int]:
    """The complete lines of ``path`` from byte ``offset`` of its content, numbered from
    ``first_line``, in blocks; returns the content offset just after the last line delivered.

    The offset counts decompressed bytes when the file is compressed (the stream is decompressed
    from its start and the first ``offset`` bytes skipped). A last line without a newline is
    left for a later call (the writer may be in the middle of it) unless ``final`` is true: a
    file that can no longer grow (rotated away, compressed) is read to its very end. With
    ``raw`` (an open file), reads through it and leaves it open.
    """
    handle = raw if raw is not None else open_raw(path)
    try:
        handle.seek(0)
        head, codec = sniff(path, handle)
        if codec is None:
            handle.seek(offset)
            chunks: Iterator[bytes | Problem] = _plain_chunks(path, handle)
        else:
            stream = _decompress(path, codec, head + _read(path, handle), handle)
            chunks = _skipped(stream, offset)
        cutter = _OffsetCutter(path, offset, first_line, block_size, max_line)
        return (yield from cutter.run(chunks, final=final))
    finally:
        if raw is None:
            handle.close()


def _plain_chunks(path: str, raw: BinaryIO) -> Iterator[bytes]:
    while chunk := _read(path, raw):
        yield chunk


def _skipped(chunks: Iterator[bytes | Problem], offset: int) -> Iterator[bytes | Problem]:
    """The stream without its first ``offset`` bytes."""
    for chunk in chunks:
        if offset and not isinstance(chunk, Problem):
            if len(chunk) <= offset:
                offset -= len(chunk)
                continue
            chunk, offset = chunk[offset:], 0
        yield chunk


class _OffsetCutter:
    """Cuts a byte stream into Blocks of complete lines, keeping the offset they end at."""

    def __init__(
        self, source: str, offset: int, first_line: int, block_size: int, max_line: int
    ) -> None:
        self.source = source
        self.offset = offset  # where the pending bytes start: everything before is delivered
        self.next_line = first_line
        self.block_size = block_size
        self.max_line = max_line
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.tail = 0  # bytes after the last newline in pending
        self.long_head: bytes | None = None  # start of an over-long line being skipped
        self.long_size = 0

    def run(self, chunks: Iterator[bytes | Problem], *, final: bool) -> Generator[
        Block | Problem, None, int
    ]:
        for chunk in chunks:
            if isinstance(chunk, Problem):  # damaged compressed data: nothing after it is read
                yield from self._flush()
                yield from self._finish(final)
                yield Problem(self.source, self.next_line, chunk.reason, chunk.text)
                return self.offset
            yield from self._feed(chunk)
        yield from self._flush()
        yield from self._finish(final)
        return self.offset

    def _feed(self, chunk: bytes) -> Iterator[Block | Problem]:
        if self.long_head is not None:
            cut = chunk.find(b"\n")
            if cut < 0:
                self.long_size += len(chunk)
                return
            yield Problem(self.source, self.next_line, "too_long", self.long_head)
            self.offset += self.long_size + cut + 1
            self.next_line += 1
            self.long_head, self.long_size = None, 0
            chunk = chunk[cut + 1 :]
            if not chunk:
                return
        self.pending.append(chunk)
        self.pending_size += len(chunk)
        last = chunk.rfind(b"\n")
        self.tail = len(chunk) - last - 1 if last >= 0 else self.tail + len(chunk)
        if self.tail > self.max_line:  # no newline in sight: skip the line, keep its start
            yield from self._flush()
            rest = b"".join(self.pending)
            self.long_head, self.long_size = rest[:300], len(rest)
            self.pending, self.pending_size, self.tail = [], 0, 0
        elif self.pending_size >= self.block_size:
            yield from self._flush()

    def _flush(self) -> Iterator[Block]:
        """Deliver the complete lines pending; keep the unfinished last one."""
        if self.pending_size == self.tail:
            return
        data = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        cut = len(data) - self.tail
        self.pending = [data[cut:]] if self.tail else []
        self.pending_size = self.tail
        block = data[:cut] if self.tail else data
        whole = Block.of(self.source, self.next_line, block)
        yield whole
        self.next_line += whole.lines
        self.offset += cut

    def _finish(self, final: bool) -> Iterator[Block | Problem]:
        """At the end of the stream: a file that cannot grow any more gives up its last line."""
        if not final:
            return
        if self.long_head is not None:
            yield Problem(self.source, self.next_line, "too_long", self.long_head)
            self.offset += self.long_size
            self.next_line += 1
            self.long_head, self.long_size = None, 0
        if self.pending_size:
            data = b"".join(self.pending)
            yield Block.of(self.source, self.next_line, data + b"\n", unterminated=True)
            self.offset += len(data)
            self.next_line += 1
            self.pending, self.pending_size, self.tail = [], 0, 0
