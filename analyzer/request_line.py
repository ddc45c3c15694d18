"""Split request lines into method, target and protocol, only where the line allows it.

The line is kept as logged elsewhere; here ``GET /a HTTP/1.1`` gives three parts, ``GET /``
(HTTP/0.9 style) gives no protocol, and ``-``, empty or binary lines give no method at all.
Method case is kept (``get`` is not ``GET``) and any ``NAME/x.y`` protocol is accepted.

The common shapes (one or two single spaces) are cut with NumPy on the positions of the spaces
in the column's buffer, and the method and protocol are checked once per distinct value: a regex
over every row cost more than the rest of the split. Other lines go through one regex with
captures.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
PROTOCOL = r"[A-Za-z][A-Za-z0-9+.-]*/[^ ]*"
_TOKEN_ONLY = f"^{TOKEN}$"
_PROTOCOL_ONLY = f"^{PROTOCOL}$"
# servers accept runs of spaces between the parts (and after the version)
_GENERAL = f"^(?P<method>{TOKEN}) +(?P<target>.*?)(?: +(?P<protocol>{PROTOCOL}))? *$"
_SPACE = 32
_NULL = pa.scalar(None, pa.string())


def split_request(request: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(method, target, protocol) string arrays, null where the line has no such part."""
    if isinstance(request, pa.ChunkedArray):
        request = request.combine_chunks()
    if request.type != pa.string():
        request = request.cast(pa.string())
    if len(request) == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    starts, ends, (first_space, second_space, count) = _space_counts(request)
    two = count == 1  # "METHOD TARGET"
    three = count == 2  # "METHOD TARGET PROTOCOL"
    method = _Cuts(request, starts, np.where(two | three, first_space, starts))
    method_ok = _distinct_match(method.values(), _TOKEN_ONLY) & (two | three)
    target_end = np.where(three, second_space, ends)
    target_start = np.where(method_ok, np.minimum(first_space + 1, target_end), target_end)
    proto_start = np.where(three & method_ok, second_space + 1, ends)
    protocol = _Cuts(request, proto_start, ends)
    proto_ok = _distinct_match(protocol.values(), _PROTOCOL_ONLY) & three & method_ok
    simple = (two & method_ok) | proto_ok
    rest = np.flatnonzero(~simple & (count >= 1))
    general = _general(request, rest)
    return (
        method.pick(simple, rest, general[0]),
        _Cuts(request, target_start, target_end).pick(simple & (target_end > target_start), rest,
                                                      general[1]),
        protocol.pick(proto_ok, rest, general[2]),
    )


def _space_counts(request: pa.Array) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Start and end byte of each line, and the positions of its first two spaces and how many
    it has (-1 for a null line)."""
    offsets = np.frombuffer(request.buffers()[1], dtype=np.int32)[
        request.offset : request.offset + len(request) + 1
    ].astype(np.int64)
    data = np.frombuffer(request.buffers()[2], dtype=np.uint8) if request.buffers()[2] else \
        np.zeros(0, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    found = np.flatnonzero(data[offsets[0] : offsets[-1]] == _SPACE) + offsets[0]
    low = np.searchsorted(found, starts)
    count = np.searchsorted(found, ends) - low
    padded = np.append(found, [offsets[-1], offsets[-1]])
    first, second = padded[low], padded[low + 1]
    if request.null_count:
        count[request.is_null().to_numpy(zero_copy_only=False)] = -1
    return starts, ends, (first, second, count)


class _Cuts:
    """``request[i][starts[i] - line start : ends[i] - line start]`` for every line, as views.

    The cuts interleaved with the bytes between them make a valid string array over the
    request column's own buffer (its offsets only grow), so nothing is copied until
    :meth:`values` or :meth:`pick` take every other value.
    """

    def __init__(self, request: pa.Array, starts: np.ndarray, ends: np.ndarray) -> None:
        n = len(starts)
        bounds = np.empty(2 * n + 1, dtype=np.int32)
        bounds[0:-1:2], bounds[1::2] = starts, ends
        bounds[-1] = ends[-1]
        self.n = n
        self.spread = pa.Array.from_buffers(
            pa.string(), 2 * n, [None, pa.py_buffer(bounds), request.buffers()[2]]
        )
        self._values: pa.Array | None = None

    def values(self) -> pa.Array:
        if self._values is None:
            self._values = pc.take(self.spread,
                                   pa.array(np.arange(0, 2 * self.n, 2, dtype=np.int64)))
        return self._values

    def pick(self, keep: np.ndarray, rest: np.ndarray, general: pa.Array | None) -> pa.Array:
        """The cut where ``keep``, ``general`` (one value per ``rest`` line) on the ``rest``
        lines, null elsewhere: one take over both (none when the cuts are already taken and
        only need nulls)."""
        if general is None and self._values is not None:
            return _nulls_where_not(self._values, keep)
        index = np.where(keep, np.arange(0, 2 * self.n, 2, dtype=np.int64), -1)
        pool = self.spread
        if general is not None:
            index[rest] = 2 * self.n + np.arange(len(rest))
            pool = pa.concat_arrays([self.spread, general])
        return pc.take(pool, pa.array(index, mask=index < 0))


def _nulls_where_not(values: pa.Array, keep: np.ndarray) -> pa.Array:
    """``values`` (no nulls, no offset) with nulls where not ``keep``: a new validity bitmap
    over the same data."""
    if keep.all():
        return values
    validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
    buffers = values.buffers()
    return pa.Array.from_buffers(values.type, len(values), [validity, *buffers[1:]],
                                 null_count=int(len(keep) - np.count_nonzero(keep)))


def _distinct_match(values: pa.Array, pattern: str) -> np.ndarray:
    """``values`` that match ``pattern``, testing each distinct value once."""
    encoded = pc.dictionary_encode(values)
    ok = pc.match_substring_regex(encoded.dictionary, pattern)
    return pc.take(ok, encoded.indices).to_numpy(zero_copy_only=False).astype(bool)


def _general(request: pa.Array, rows: np.ndarray) -> tuple[pa.Array | None, ...]:
    """Lines with spaces in the target or an odd shape: one regex with captures, on those only
    (method, target and protocol of each, empty parts null)."""
    if not len(rows):
        return None, None, None
    found = pc.extract_regex(pc.take(request, rows), _GENERAL)
    if found.null_count == len(found):
        return tuple(pa.nulls(len(rows), pa.string()) for _ in range(3))
    return tuple(_empty_to_null(found.field(name)) for name in ("method", "target", "protocol"))


def _empty_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), _NULL, values)
