"""Split request lines into method, target and protocol, only where the line allows it.

The line is kept as logged elsewhere; here ``GET /a HTTP/1.1`` gives three parts, ``GET /``
(HTTP/0.9 style) gives no protocol, and ``-``, empty or binary lines give no method at all.
Method case is kept (``get`` is not ``GET``) and any ``NAME/x.y`` protocol is accepted.
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


def split_request(request: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(method, target, protocol) string arrays, null where the line has no such part."""
    if len(request) == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    parts = pc.split_pattern(request, " ")
    count = pc.fill_null(pc.list_value_length(parts), 0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(parts)
    starts = np.asarray(parts.offsets)[:-1].astype(np.int64)
    last_index = max(len(flat) - 1, 0)
    first = pc.take(flat, np.minimum(starts, last_index))
    second = pc.take(flat, np.minimum(starts + 1, last_index))
    third = pc.take(flat, np.minimum(starts + 2, last_index))
    method_ok = pc.fill_null(pc.match_substring_regex(first, _TOKEN_ONLY), False)
    proto_ok = pc.fill_null(pc.match_substring_regex(third, _PROTOCOL_ONLY), False)
    is_three = pc.and_(pc.and_(pc.equal(count, 3), method_ok), proto_ok)
    is_two = pc.and_(pc.equal(count, 2), method_ok)
    simple = pc.or_(is_three, is_two)
    null = pa.scalar(None, pa.string())
    method = pc.if_else(simple, first, null)
    target = _empty_to_null(pc.if_else(simple, second, null))
    protocol = pc.if_else(is_three, third, null)
    rest = np.flatnonzero(~simple.to_numpy(zero_copy_only=False) & (count >= 2))
    if len(rest):
        method, target, protocol = _general(request, rest, method, target, protocol)
    return method, target, protocol


def _general(
    request: pa.Array, rows: np.ndarray, *columns: pa.Array
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Lines with spaces in the target or an odd shape: one regex with captures, on those only."""
    found = pc.extract_regex(pc.take(request, rows), _GENERAL)
    mask = np.zeros(len(request), dtype=bool)
    mask[rows] = True
    out = []
    for name, column in zip(("method", "target", "protocol"), columns, strict=True):
        part = found.field(name) if found.null_count < len(found) else None
        values = pa.nulls(len(rows), pa.string()) if part is None else _empty_to_null(part)
        out.append(pc.replace_with_mask(column, pa.array(mask), values))
    return out[0], out[1], out[2]


def _empty_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
