"""A zstd decoder whose every call gives a bounded amount of output, however the data was made.

zstandard's ``decompressobj`` has no output limit: a zstd block of any type holds at most
128 KiB once decompressed, but an RLE block takes 4 bytes of input, so 16 KiB of hostile input
can hold 4,096 of them (512 MB). This decoder walks the frame's block headers (RFC 8878) and
feeds the decoder at most ``MAX_BLOCKS`` blocks at a time, so that no call returns more than
``MAX_BLOCKS * 128 KiB`` (plus the end of a block begun in the previous call). It reads one
frame: what follows the frame is ``unused_data``, as with zstandard's own decoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_BLOCKS = 32  # x 128 KiB: at most about 4 MiB a call
_MAGIC = b"\x28\xb5\x2f\xfd"
_FCS_SIZES = (0, 2, 4, 8)  # by Frame_Content_Size_flag (0: 1 byte with Single_Segment_flag)
_DID_SIZES = (0, 1, 2, 4)  # by Dictionary_ID_flag
_RLE = 1
_RESERVED = 3


class BoundedZstd:
    """One zstd frame decoded in bounded pieces: ``pieces(data)`` for each piece of input."""

    def __init__(self) -> None:
        import zstandard

        self._decoder: Any = zstandard.ZstdDecompressor().decompressobj()
        self._header = bytearray()  # the header being read (frame or block), when split
        self._phase = "frame"  # frame header, then "block" headers, then "tail" (opaque)
        self._skip = 0  # bytes of the current block's content (or checksum) still to pass
        self._checksum = False
        self._rest = b""

    @property
    def eof(self) -> bool:
        return bool(self._decoder.eof)

    @property
    def unused_data(self) -> bytes:
        return (self._decoder.unused_data or b"") + self._rest

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """The output of ``data``, fed to the decoder in runs of at most MAX_BLOCKS blocks."""
        start = 0
        for cut in self._cuts(data):
            yield self._feed(data[start:cut], data[cut:])
            start = cut
            if self.eof:
                return
        if start < len(data):
            yield self._feed(data[start:], b"")

    def _feed(self, run: bytes, after: bytes) -> bytes:
        """The output of ``run``; when the frame ends in it, ``after`` is not the frame's."""
        out: bytes = self._decoder.decompress(run)
        if self.eof:
            self._rest = after
        return out

    def _cuts(self, data: bytes) -> Iterator[int]:
        """Offsets in ``data`` at which a run ends: before every MAX_BLOCKS-th block header."""
        at, blocks = 0, 0
        while at < len(data) and self._phase != "tail":
            if self._skip:
                step = min(self._skip, len(data) - at)
                at, self._skip = at + step, self._skip - step
                continue
            header_at = at - len(self._header)
            want = self._wanted()
            while len(self._header) < want and at < len(data):
                take = min(want - len(self._header), len(data) - at)
                self._header += data[at : at + take]
                at += take
                want = self._wanted()
            if len(self._header) < want:
                return
            if self._phase == "block":
                blocks += 1
                if blocks > MAX_BLOCKS and header_at > 0:
                    yield header_at
                    blocks = 1
            self._read_header()

    def _wanted(self) -> int:
        """The length of the header being read, as far as its bytes so far tell."""
        if self._phase == "block":
            return 3
        if len(self._header) >= 4 and not self._header.startswith(_MAGIC):
            return len(self._header)  # not a zstd frame: nothing more to read of it
        if len(self._header) < 5:
            return 5  # magic and frame header descriptor
        descriptor = self._header[4]
        single = bool(descriptor & 0x20)
        fcs_flag = descriptor >> 6
        fcs = 1 if fcs_flag == 0 and single else _FCS_SIZES[fcs_flag]
        return 5 + (0 if single else 1) + _DID_SIZES[descriptor & 0x03] + fcs

    def _read_header(self) -> None:
        header, self._header = bytes(self._header), bytearray()
        if self._phase == "frame":
            if not header.startswith(_MAGIC):  # not a zstd frame: the decoder says what it is
                self._phase = "tail"
                return
            self._checksum = bool(header[4] & 0x04)
            self._phase = "block"
            return
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == _RESERVED:
            self._phase = "tail"
            return
        self._skip = 1 if kind == _RLE else size
        if last:
            self._skip += 4 if self._checksum else 0
            self._phase = "tail"
