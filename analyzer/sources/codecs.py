"""Compressed inputs: the codec told by an input's first bytes, decompressed in bounded pieces.

Damage in a compressed stream does not lose the lines before it: they are delivered, and the
damage is delivered as a ``Problem`` after them.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ..errors import InputError
from .inputs import open_raw
from .items import Problem

if TYPE_CHECKING:
    from .zstd_frames import BoundedZstd

READ_SIZE = 1 << 20
MAGIC_BYTES = 6
_PIECE = 4 << 20  # most decompressed bytes handed on at once
_FEED = 16 << 10  # compressed bytes fed to a decompressor at once (see decompress)


class _Decompressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


@dataclass(frozen=True)
class Codec:
    name: str
    magic: bytes
    new: Callable[[], _Decompressor | BoundedZstd]


def zlib_module() -> Any:  # noqa: ANN401 - isal.isal_zlib mirrors the zlib module
    try:
        from isal import isal_zlib  # about twice as fast as zlib at inflating

        return isal_zlib
    except ImportError:  # pragma: no cover - isal is optional
        return zlib


def _zstd() -> BoundedZstd:
    from .zstd_frames import BoundedZstd

    return BoundedZstd()


CODECS = (
    Codec("gzip", b"\x1f\x8b", lambda: zlib_module().decompressobj(wbits=31)),
    Codec("bzip2", b"BZh", bz2.BZ2Decompressor),
    Codec("xz", b"\xfd7zXZ\x00", lzma.LZMADecompressor),
    Codec("zstd", b"\x28\xb5\x2f\xfd", _zstd),
)

def sniff(path: str, raw: BinaryIO) -> tuple[bytes, Codec | None]:
    """The first bytes of an input, and its compression when they are a codec's magic bytes."""
    head = read_bytes(path, raw, MAGIC_BYTES)
    return head, next((c for c in CODECS if head.startswith(c.magic)), None)


def read_bytes(path: str, raw: BinaryIO, size: int = READ_SIZE) -> bytes:
    try:
        return raw.read(size)
    except OSError as exc:
        raise InputError(path, f"read failed: {exc.strerror or exc}") from None


def decompress(path: str, codec: Codec, data: bytes, raw: BinaryIO) -> Iterator[bytes | Problem]:
    """Decompressed chunks; several members or streams one after another are read in turn.

    The compressed bytes are fed in pieces of ``_FEED``: a decompressor that meets damage drops
    the output of the call that met it, so small feeds keep the lines before the damage.
    """
    decoder = codec.new()
    produced = False
    at = 0  # how much of ``data`` was fed
    while True:
        if at >= len(data):
            data, at = read_bytes(path, raw), 0
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


def _pieces(codec: Codec, decoder: Any, data: bytes) -> Iterator[bytes]:
    """All the output of ``data``, in pieces of at most ``_PIECE`` bytes, so that a highly
    compressed over-long line cannot fill memory (zstd: see :mod:`analyzer.sources.zstd_frames`)."""
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


def _next_member(
    path: str, decoder: _Decompressor | BoundedZstd, rest: bytes, raw: BinaryIO
) -> bytes:
    """What follows a finished member or stream (concatenated gzip, multi-stream bzip2/xz/zstd):
    the decoder's unused bytes, then ``rest`` (not fed yet), then the input, without the zero
    padding some writers leave behind; empty at the end of the input."""
    data = (getattr(decoder, "unused_data", b"") or b"") + rest
    data = (data or read_bytes(path, raw)).lstrip(b"\x00")
    while not data:
        more = read_bytes(path, raw)
        if not more:
            return b""
        data = more.lstrip(b"\x00")
    return data


def read_head(path: str, size: int, raw: BinaryIO | None = None) -> bytes:
    """The first ``size`` bytes of a file's content, decompressed when it is compressed.

    With ``raw`` (an open file), reads through it from its start and leaves it open.
    """
    handle = raw if raw is not None else open_raw(path)
    try:
        handle.seek(0)
        head, codec = sniff(path, handle)
        if codec is None:
            return (head + read_bytes(path, handle, max(size - len(head), 0)))[:size]
        out = bytearray()
        try:
            for chunk in decompress(path, codec, head + read_bytes(path, handle), handle):
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
