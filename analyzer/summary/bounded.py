"""Parts keyed by values that clients write, in memory set by K rather than by the input.

Methods, protocols, targets, virtual hosts, client addresses, user agents and Allow values are
chosen by whoever sends requests, so a table keyed by one of them grows with what an attacker
sends. A part names such columns ``bounded``; its other key columns (status, minute) form the
*groups*. Every group keeps at most ``k`` keys:

* **Count parts** (:func:`fold_counts`) are Misra–Gries summaries, mergeable as in Agarwal et
  al., "Mergeable Summaries" (2012). Merging sums the counts of equal keys; when a group then
  holds more than ``k`` keys, the (k+1)-th largest count ``t`` is subtracted from every key of
  the group, and keys left at zero or below are dropped. Nothing is lost: what is subtracted or
  dropped goes to the group's *remainder rows* (``rest`` true), one per *coarse key*: each
  bounded value replaced by :data:`FOLDED`, except the values that come from a small fixed set
  (a method of the IANA registry, a known protocol, null, an empty ``Allow``), which stay. So
  the counts of a group, of each registered method and of each status stay exact, and for every
  kept key ``x`` of a group whose remainder rows hold ``R`` requests::

      true(x) - R / (k + 1)  <=  kept(x)  <=  true(x)

  (a key that is not kept has ``kept(x) = 0`` and ``true(x) <= R / (k + 1)``), whatever the
  split of the input and the order of the merges. A group that never holds more than ``k`` keys
  is never reduced: its counts are exact and equal to one pass over the whole input. The first
  and last times of a remainder row cover every request folded into it.
* **Sample parts** (:func:`bound_samples`: examples, first requests, resources) keep their rows
  for at most ``k`` keys per group: the keys with the smallest ``(tier, hash)``, where ``tier``
  counts the bounded values that would fold (so registered methods and known protocols come
  first) and ``hash`` is the key's hash (:func:`ranks`, stored with the rows). The rank of a
  key does not depend on the input around it, so the bound merges exactly: any split, any
  order, the same rows.
* **Distinct counts** (the ``distinct`` part, :func:`distinct`): the ``m`` smallest 64-bit hashes
  of a group's values (a KMV sketch), merged exactly; the number of distinct values is exact
  below ``m`` and estimated above it, with a relative standard error of about
  ``1 / sqrt(m - 2)`` (3% for ``m = 1024``).

Everything works on whole Arrow tables with NumPy on the group boundaries; strings are hashed
from their Arrow buffers (:func:`hash_strings`): no Python object per key and no loop per key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..parse.kernels import native_module
from ..vocabulary import IANA_METHODS

__all__ = [
    "DEFAULT_MAX_KEYS",
    "FOLDED",
    "FOLDED_LABELS",
    "KNOWN_PROTOCOLS",
    "REST",
    "SKETCH_SIZE",
    "bound_samples",
    "bounded_counts",
    "coarse",
    "distinct",
    "encode_strings",
    "fold_counts",
    "folded_whole",
    "group_codes",
    "hash_strings",
    "labelled",
    "column_hashes",
    "ranks",
    "rows_of_smallest",
    "smallest_per_group",
    "smallest_per_key",
]

#: Keys kept per group unless told otherwise, chosen by measurement (the README's hostile-volume
#: section): the ordinary 1,000,000-line benchmark logs hold at most 282 keys in a group of
#: requests (exact), and 7,692 in a group of clients and user agents (the busiest kept); with
#: 10,000, hostile logs of the same size took twice the time and memory of 1,000.
DEFAULT_MAX_KEYS = 1000
#: Hashes kept per group to count distinct values: exact below it, about 3% error above.
SKETCH_SIZE = 1024
#: A boolean key column: true on a group's remainder rows.
REST = "rest"
#: What a folded value reads as in a remainder row. No logged value can equal it where it
#: matters: it is never a method (a token) nor a protocol (starts with a letter), and the
#: ``rest`` column tells remainder rows from logged ones.
FOLDED = "\x00(folded)"
#: How each bounded column's folded values are shown (every one has a space or starts with a
#: parenthesis, which no logged method, protocol or vhost can).
FOLDED_LABELS: dict[str, str] = {
    "vhost": "(other virtual hosts)", "method": "(other methods)",
    "protocol": "(other protocols)", "client": "(other clients)",
    "user_agent": "(other user agents)", "allow": "(other values)",
}
#: Protocols that keep their name when folded (a fixed set: what servers speak).
KNOWN_PROTOCOLS: frozenset[str] = frozenset(
    {"HTTP/0.9", "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3", "HTTP/3.0"})

_S = pa.string()
_Column: TypeAlias = pa.Array | pa.ChunkedArray
_METHODS = pa.array(sorted(IANA_METHODS), _S)
_PROTOCOLS = pa.array(sorted(KNOWN_PROTOCOLS), _S)
_U64 = np.uint64
_NULL_HASH = _U64(0x6A09E667F3BCC908)
_LENGTH = _U64(0x9E3779B97F4A7C15)
_SEED = _U64(0xD1B54A32D192ED03)
_BASE = _U64(0x100000001B3)  # odd
_INVERSE = _U64(pow(int(_BASE), -1, 2**64))
_RANK_BITS = 58  # a rank is tier << 58 | the top 58 bits of the key's hash


# -- hashing ----------------------------------------------------------------------------------

def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (uint64 in, uint64 out; products wrap)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        mixed: np.ndarray = z ^ (z >> _U64(31))
        return mixed


def hash_strings(values: pa.Array | pa.ChunkedArray, stop: int | None = None) -> np.ndarray:
    """A 64-bit hash (uint64) of each string, the same in every process and every version: a
    polynomial in an odd constant over the bytes (mod 2**64), mixed with the length. Computed
    from the Arrow buffers, in one pass by the native kernel when it runs, else with NumPy (a
    few passes over the bytes); a dictionary array hashes its dictionary once. ``stop``: each
    string is hashed as if cut before its first byte of that value (a target's path:
    ``ord("?")``), without the cut strings being made."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        hashed = hash_strings(values.dictionary, stop)
        codes = pc.fill_null(values.indices, 0).to_numpy(zero_copy_only=False)
        out = hashed[codes.astype(np.int64)] if len(hashed) else np.zeros(len(values), _U64)
        return np.where(values.is_valid().to_numpy(zero_copy_only=False), out, _NULL_HASH)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(_S)
    if len(values) == 0:
        return np.zeros(0, _U64)
    data, offsets = _string_buffers(values)
    native = native_module()
    hashed = (native.hash_strings(data, offsets, stop) if native is not None
              else _hashed(data, offsets, stop))
    if values.null_count == 0:
        return hashed
    return np.where(values.is_valid().to_numpy(zero_copy_only=False), hashed, _NULL_HASH)


def _string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's bytes and its strings' offsets into them (int64, one more than the
    strings)."""
    n = len(values)
    buffers = values.buffers()
    kind = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets: np.ndarray = np.frombuffer(buffers[1], kind)[values.offset : values.offset + n + 1]
    data = (np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None
            else np.zeros(0, np.uint8))
    return data, offsets.astype(np.int64)


def encode_strings(values: pa.Array | pa.ChunkedArray, stop: int | None = None
                   ) -> pa.DictionaryArray:
    """``pc.dictionary_encode`` of a column, in one chunk: its distinct values in order of
    first appearance and each row's code (nulls stay null); ``stop``: of each string cut
    before its first byte of that value (a target's path: ``ord("?")``), only the distinct
    ones cut. The native kernel, when it runs, encodes strings in one pass with a hash of whole
    words (Arrow's was a tenth of summarising a block of random virtual hosts, methods, clients
    and user agents)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    native = native_module()
    if native is None or not (pa.types.is_string(values.type)
                              or pa.types.is_large_string(values.type)):
        encoded: pa.DictionaryArray = pc.dictionary_encode(
            values if stop is None else _cut(values, stop))
        return encoded
    data, offsets = _string_buffers(values)
    valid = None if values.null_count == 0 else _numpy(values.is_valid())
    codes, firsts, cut = native.encode_strings(data, offsets, valid, stop)
    indices = pa.array(codes, pa.int32(), mask=None if valid is None else ~valid)
    if cut is None:
        dictionary = values.take(pa.array(firsts))
    else:  # the distinct strings, cut by the kernel (a cut at an ASCII byte keeps UTF-8 whole)
        chars, ends = cut
        dictionary = pa.LargeStringArray.from_buffers(
            len(ends) - 1, pa.py_buffer(ends), pa.py_buffer(chars)).cast(values.type)
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _cut(values: pa.Array, stop: int) -> pa.Array:
    """Each string cut before its first ``stop`` byte (an ASCII character)."""
    cut: pa.Array = pc.replace_substring_regex(values, f"(?s){re.escape(chr(stop))}.*$", "")
    return cut


def _hashed(data: np.ndarray, offsets: np.ndarray, stop: int | None) -> np.ndarray:
    """:func:`hash_strings` of the strings between consecutive ``offsets`` of ``data``, nulls
    aside, with NumPy (the native kernel computes the same values in one pass)."""
    n = len(offsets) - 1
    ends: np.ndarray = offsets[1:] if stop is None else _stops(data, offsets, stop)
    summed = np.zeros(n, _U64)
    first = 0
    while first < n:  # a batch of strings spans about _SPAN bytes: bounded scratch memory
        last = int(np.searchsorted(offsets, offsets[first] + _SPAN, side="right")) - 1
        last = min(max(last, first + 1), n)
        summed[first:last] = _sums(data, offsets[first : last + 1], ends[first:last])
        first = last
    lengths = (ends - offsets[:-1]).astype(_U64)
    with np.errstate(over="ignore"):
        hashed: np.ndarray = _mix(summed + lengths * _LENGTH)
    return hashed


def _stops(data: np.ndarray, offsets: np.ndarray, stop: int) -> np.ndarray:
    """Where each string between consecutive ``offsets`` ends once cut before its first
    ``stop`` byte."""
    lo, hi = int(offsets[0]), int(offsets[-1])
    found = np.flatnonzero(data[lo:hi] == stop) + lo
    ends = offsets[1:]
    if not len(found):
        return ends
    first = np.searchsorted(found, offsets[:-1], side="left")  # the first at or after a start
    at = found[np.minimum(first, len(found) - 1)]
    cut: np.ndarray = np.where(first < len(found), np.minimum(ends, at), ends)
    return cut


_SPAN = 1 << 18


def _powers(base: np.uint64, count: int) -> np.ndarray:
    """``base ** p`` mod 2**64 for p in 1..count."""
    powers = np.full(count, base, _U64)
    with np.errstate(over="ignore"):
        np.multiply.accumulate(powers, out=powers)
    return powers


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """BASE**(p+1) and INVERSE**p for p below _SPAN, made once (4 MB)."""
    return (_powers(_BASE, _SPAN),
            np.concatenate([np.ones(1, _U64), _powers(_INVERSE, _SPAN - 1)]))


def _sums(data: np.ndarray, offsets: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per string from each of ``offsets`` but the last to its ``ends`` (at most the next
    offset): the sum of its bytes times BASE**(position in the string + 1), mod 2**64 (the
    batch's sum divided by BASE**start: BASE is odd, so invertible)."""
    lo, hi = int(offsets[0]), int(offsets[-1])
    span = hi - lo
    starts, ends = offsets[:-1] - lo, ends - lo
    if span == 0:
        return np.zeros(len(starts), _U64)
    if span <= _SPAN:
        powers, inverses = _tables()
        powers = powers[:span]
    else:  # one string longer than a batch
        powers = _powers(_BASE, span)
        inverses = np.concatenate([np.ones(1, _U64), _powers(_INVERSE, span - 1)])
    total = np.zeros(span + 1, _U64)
    with np.errstate(over="ignore"):
        np.cumsum(data[lo:hi] * powers, out=total[1:])
        sums: np.ndarray = (total[ends] - total[starts]) * inverses[np.minimum(starts, span - 1)]
    return sums


def as_int64(hashed: np.ndarray) -> pa.Array:
    """Hashes as the int64 column they are stored in."""
    return pa.array(hashed.view(np.int64))


# -- coarse keys ------------------------------------------------------------------------------

def coarse(name: str, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """What a bounded column's values read as once folded: a registered method, a known
    protocol, null and an empty ``Allow`` stay; any other value is :data:`FOLDED`."""
    if pa.types.is_dictionary(column.type):
        return _coarse_codes(name, column)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.if_else(pa.array(_stays(name, column)), column, FOLDED)


def _coarse_codes(name: str, column: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """:func:`coarse` of a dictionary column, on its dictionary: a small dictionary (the
    values that stay, then :data:`FOLDED`) and the rows' codes into it."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if name not in ("method", "protocol", "allow"):  # every value folds: only nulls stay
        codes = pa.array(np.zeros(len(column), np.int32), mask=_numpy(column.is_null()))
        return pa.DictionaryArray.from_arrays(codes, pa.array([FOLDED], _S))
    values = column.dictionary
    kept = np.flatnonzero(_stays(name, values))
    remap = np.full(len(values), len(kept), np.int32)
    remap[kept] = np.arange(len(kept), dtype=np.int32)
    compact = pa.concat_arrays([values.take(pa.array(kept)).cast(_S), pa.array([FOLDED], _S)])
    codes = pc.take(pa.array(remap), column.indices)
    return pa.DictionaryArray.from_arrays(codes, compact)


def _stays(name: str, values: pa.Array) -> np.ndarray:
    """Whether each value keeps its name when folded (see :func:`coarse`), without building
    the folded strings."""
    if name == "method":
        keep = pc.is_in(values, value_set=_METHODS)
    elif name == "protocol":
        keep = pc.is_in(values, value_set=_PROTOCOLS)
    elif name == "allow":
        keep = pc.equal(values, "")
    else:
        return _numpy(values.is_null())
    stays: np.ndarray = _numpy(pc.or_(values.is_null(), pc.fill_null(keep, False)))
    return stays


def labelled(table: pa.Table, names: Sequence[str] | None = None) -> pa.Table:
    """``table`` with :data:`FOLDED` shown as its column's label (:data:`FOLDED_LABELS`) in
    the named columns (default: every column that has a label)."""
    for name in names if names is not None else list(FOLDED_LABELS):
        if name not in table.column_names:
            continue
        column = table[name]
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if not pa.types.is_string(column.type):
            continue
        folded = pc.fill_null(pc.equal(column, FOLDED), False)
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, pc.if_else(folded, FOLDED_LABELS[name], column))
    return table


# -- groups -----------------------------------------------------------------------------------

def _group_starts(table: pa.Table, groups: Sequence[str]) -> np.ndarray:
    """True where a row of a table sorted by ``groups`` starts a new group (nulls equal)."""
    n = table.num_rows
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for name in groups:
        column = table[name].combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        after, before = column.slice(1), column.slice(0, n - 1)
        same = pc.or_(pc.fill_null(pc.equal(after, before), False),
                      pc.and_(pc.is_null(after), pc.is_null(before)))
        starts[1:] |= ~same.to_numpy(zero_copy_only=False)
    return starts


def _largest_group(table: pa.Table, groups: Sequence[str]) -> int:
    if table.num_rows == 0:
        return 0
    if not groups:
        return int(table.num_rows)
    sizes = table.select(list(groups)).group_by(list(groups), use_threads=False).aggregate(
        [([], "count_all")])
    return int(pc.max(sizes["count_all"]).as_py())


# -- count parts: Misra–Gries with coarse remainders ------------------------------------------

def fold_counts(table: pa.Table, groups: Sequence[str], bounded: Sequence[str], k: int,
                regroup: Callable[[pa.Table], pa.Table]) -> pa.Table:
    """A count table (one row per key, a ``count`` column, a ``rest`` key column) with at most
    ``k`` keys per group of ``groups``, the rest folded into remainder rows (module docstring).

    ``regroup(table)`` aggregates rows with equal keys (the part's own aggregation), so that the
    folded rows that share a coarse key become one remainder row.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if table.num_rows <= k:
        return table
    is_rest = _numpy(pc.fill_null(table[REST], False))
    keyed = ~is_rest
    code = group_codes(table, groups)
    if np.bincount(code[keyed]).max(initial=0) <= k:
        return table
    count = table["count"].to_numpy()
    threshold = _thresholds(code, count, keyed, k)
    reduced = count - threshold[code]
    kept = keyed & (reduced > 0)
    moved = np.where(kept, threshold[code], np.where(keyed, count, 0))
    index = table.schema.get_field_index("count")
    out = table.filter(pa.array(kept)).set_column(index, "count",
                                                  pa.array(reduced[kept], pa.int64()))
    folded = table.filter(pa.array(moved > 0))
    folded = folded.set_column(index, "count", pa.array(moved[moved > 0], pa.int64()))
    for name in bounded:
        i = folded.schema.get_field_index(name)
        folded = folded.set_column(i, name, coarse(name, folded[name]))
    i = folded.schema.get_field_index(REST)
    folded = folded.set_column(i, REST, pa.array(np.ones(folded.num_rows, bool)))
    if folded.num_rows > k:  # few coarse keys: grouped cheaply first (codes, one int64)
        folded = _pregrouped(folded, table.schema)
    rest = table.filter(pa.array(is_rest))
    remainder = regroup(pa.concat_tables([rest.cast(folded.schema), folded]))
    return pa.concat_tables([out.select(remainder.schema.names).cast(remainder.schema),
                             remainder])


def bounded_counts(columns: Mapping[str, pa.Array | pa.ChunkedArray], groups: Sequence[str],
                   bounded: Sequence[str], k: int, *, time: _Column | None = None,
                   count: _Column | None = None, first: _Column | None = None,
                   last: _Column | None = None, rest: _Column | None = None,
                   known: Mapping[str, np.ndarray] | None = None) -> pa.Table | None:
    """Rows counted by their key columns (``groups``, then ``bounded``) into a count part of
    at most ``k`` keys per group, as :func:`fold_counts` bounds the counted rows, by the native
    kernel in a few passes (None when it does not run: the caller counts the rows and folds
    them). Each row is a request at its ``time``, or with ``count`` (and ``first`` and
    ``last`` times) a key counted already; rows that ``rest`` marks are remainder rows already
    (the parts of Summaries merged). Key columns come back as plain strings (a few rows of a
    large dictionary), with ``count``, ``first`` and ``last`` (when times are given) and
    ``rest``. A dictionary column's values must be distinct (``pc.dictionary_encode``'s);
    ``known``: whether each row's value folds, for the bounded columns it names (from
    :func:`column_hashes`)."""
    native = native_module()
    if native is None:
        return None
    names = [*groups, *bounded]
    n = len(columns[names[0]])
    given = known or {}
    # a bounded column of strings is encoded once, for its codes and for which values fold
    keyed = {name: encode_strings(column) if name in bounded and name not in given
             and pa.types.is_string(column.type) else column for name, column in columns.items()}
    codes = [_key_codes(keyed[name]) for name in names]
    folds = [given[name] if name in given else _folds(name, keyed[name]) for name in bounded]
    times = None if time is None else _times(time)
    none = np.full(n, _NO_TIME)
    counts = None if count is None else (
        _numpy(count).astype(np.int64), none if first is None else _times(first),
        none if last is None else _times(last))
    marked = None if rest is None else _numpy(pc.fill_null(rest, False)).astype(bool)
    row, summed, earliest, latest, remainder = native.bounded_counts(
        codes, len(groups), folds, k, times, counts, marked)
    out = {name: _rows_of(columns[name], row) for name in names}
    for name, fold in zip(bounded, folds, strict=True):  # a remainder row's values read as
        folded = remainder & fold[row]                     # folded (see coarse)
        if folded.any():
            out[name] = pc.if_else(pa.array(folded), pa.scalar(FOLDED, out[name].type),
                                   out[name])
    out["count"] = pa.array(summed)
    given_times = time if first is None else first
    if given_times is not None:
        kind = given_times.type
        out["first"] = pa.array(earliest, mask=earliest == _NONE_FIRST).cast(kind)
        out["last"] = pa.array(latest, mask=latest == _NO_TIME).cast(kind)
    out[REST] = pa.array(remainder)
    return pa.table(out)


def _rows_of(column: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """The given rows of a column, a dictionary's decoded (a few rows of a large one)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    taken = column.take(pa.array(rows))
    return taken.cast(taken.type.value_type) if pa.types.is_dictionary(taken.type) else taken


def _key_codes(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A number per row for its value, never negative (the kernel's key codes need not be
    dense): integers and times as they are, shifted; strings encoded."""
    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_timestamp(kind)):
        return _distinct_codes(column)[0]
    values = _numpy(pc.fill_null(column.cast(pa.int64()), 0))
    low, high = (int(values.min(initial=0)), int(values.max(initial=0)))
    if high - low >= 2**62:  # too wide to shift: numbered instead
        return _distinct_codes(column)[0]
    codes: np.ndarray = values - low
    if column.null_count:
        codes[~_numpy(column.is_valid())] = high - low + 1
    return codes


def _times(time: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Times as the kernel takes them (int64, null as _NO_TIME)."""
    return _numpy(pc.fill_null(time.cast(pa.int64()), _NO_TIME))


_NO_TIME = np.iinfo(np.int64).min  # the kernel's null time, and its last time of none
_NONE_FIRST = np.iinfo(np.int64).max  # the kernel's first time of none


def _folds(name: str, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Whether each row's value of a bounded column folds (reads as :data:`FOLDED` once
    folded: see :func:`coarse`), computed on a dictionary column's values."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(column.type):
        folds: np.ndarray = ~_stays(name, column)
        return folds
    by_value = ~_stays(name, column.dictionary)
    codes = _numpy(pc.fill_null(column.indices, 0)).astype(np.int64)
    if not len(by_value):
        return np.zeros(len(column), bool)
    folds = by_value[codes] & _numpy(column.is_valid())
    return folds


def _thresholds(code: np.ndarray, count: np.ndarray, keyed: np.ndarray, k: int) -> np.ndarray:
    """Per group code: the (k+1)-th largest count of its keys (0 when it has at most k)."""
    threshold = np.zeros(int(code.max(initial=0)) + 1, np.int64)
    groups = np.unique(code[keyed])
    if len(groups) <= _FEW_GROUPS:  # a selection per group: no sort
        for group in groups:
            counts = count[keyed & (code == group)]
            if len(counts) > k:
                threshold[group] = np.partition(counts, len(counts) - k - 1)[len(counts) - k - 1]
        return threshold
    rows = np.flatnonzero(keyed)
    order = rows[np.lexsort((-count[rows], code[rows]))]  # by group, then count descending
    group = code[order]
    starts = np.r_[True, group[1:] != group[:-1]]
    position = np.arange(len(order)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
    threshold[group[position == k]] = count[order[position == k]]
    return threshold


_FEW_GROUPS = 64  # below this many groups, each is handled on its own (statuses, not minutes)


def folded_whole(groups: Sequence[pa.Array | pa.ChunkedArray],
                 bounded: Sequence[pa.Array | pa.ChunkedArray], k: int) -> np.ndarray | None:
    """Of rows about to be counted into a part (one row a request), those that
    :func:`fold_counts` would fold whole whatever the other rows hold, found before the rows
    are counted (None: none). A dictionary column's values must be distinct
    (``pc.dictionary_encode``'s, as :func:`analyzer.summary.table.group_rows` takes them).

    A row whose key occurs in no other row is a key of count 1 (found first from each bounded
    value alone: a value that occurs once in its group makes its key occur once). A group with
    more than ``k + 1`` such rows has more than ``k`` keys, so its threshold is at least 1 and
    each of them folds whole; folding all but ``k + 1`` of them at once leaves the group's
    threshold, and so every other row's outcome, as it was. On a hostile log (random methods,
    protocols, clients, vhosts) that is nearly every row, and counting them key by key was
    most of the time a block took to summarise.
    """
    n = len(bounded[0]) if bounded else 0
    if n <= k + 1:
        return None
    table = pa.table({f"g{i}": column for i, column in enumerate(groups)}) if groups else None
    code = (group_codes(table, table.column_names) if table is not None
            else np.zeros(n, np.int64))
    size = int(code.max(initial=0)) + 1
    coded = [_distinct_codes(column) for column in bounded]
    once = np.zeros(n, bool)
    for value, values in coded:
        once |= _seen_once(code, size, value, values)
    others = np.flatnonzero(~once)
    if len(others) > k + 1:  # their keys may still occur once (random protocols, few values)
        once[others] = _keys_once(code[others], [(v[others], size) for v, size in coded])
    crowded = np.bincount(code[once], minlength=size) > k + 1
    if not crowded.any():
        return None
    fold = np.zeros(n, bool)
    rows = np.flatnonzero(once & crowded[code])
    rows = rows[np.argsort(code[rows], kind="stable")]
    group = code[rows]
    starts = np.r_[True, group[1:] != group[:-1]]
    position = np.arange(len(rows)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
    fold[rows[position > k]] = True  # positions 0..k: the k + 1 rows that stay
    return fold


def _keys_once(group: np.ndarray, values: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """Whether each row's key (its ``group`` and its ``values``, each a code below its size)
    occurs in no other row."""
    key = _combined([(group, int(group.max(initial=0)) + 1), *values], len(group))
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    once: np.ndarray = counts[inverse.reshape(-1)] == 1
    return once


def _distinct_codes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """:func:`_codes` of a column whose dictionary, if it has one, holds distinct values (as
    ``pc.dictionary_encode`` makes them): its indices are taken as they are."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(column.type):
        return _codes(column)
    size = len(column.dictionary) + 1
    return _indices(column.indices, size - 1), size


def _seen_once(group: np.ndarray, groups: int, value: np.ndarray, values: int) -> np.ndarray:
    """Whether each row's pair of ``group`` (below ``groups``) and ``value`` (below
    ``values``) occurs in no other row."""
    once: np.ndarray = np.bincount(value, minlength=values)[value] == 1  # once at all
    again = np.flatnonzero(~once)
    if not len(again):
        return once
    pair = group[again] * values + value[again]
    if groups * values <= max(4 * len(pair), 1 << 16):  # a count per possible pair: no sort
        once[again] = np.bincount(pair, minlength=groups * values)[pair] == 1
    else:
        _, inverse, counts = np.unique(pair, return_inverse=True, return_counts=True)
        once[again] = counts[inverse.reshape(-1)] == 1
    return once


def _pregrouped(folded: pa.Table, schema: pa.Schema) -> pa.Table:
    """Folded rows with equal keys summed (their counts) and their other columns reduced
    (minimum for a column named first or starting with min, else maximum): the part's own
    aggregation then works on a few rows."""
    keys = [f.name for f in schema if f.name not in _VALUES]
    code = group_codes(folded, keys)
    unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    out = folded.take(pa.array(first))
    count = np.bincount(inverse, weights=folded["count"].to_numpy(), minlength=len(unique))
    out = out.set_column(out.schema.get_field_index("count"), "count",
                         pa.array(count.astype(np.int64)))
    for name, smallest in (("first", True), ("last", False)):
        if name in folded.column_names:
            none = np.iinfo(np.int64).max if smallest else np.iinfo(np.int64).min
            values = _numpy(pc.fill_null(folded[name].cast(pa.int64()), none))
            extreme = np.full(len(unique), none)
            (np.minimum if smallest else np.maximum).at(extreme, inverse, values)
            column = pa.array(extreme, mask=extreme == none).cast(folded.schema.field(name).type)
            out = out.set_column(out.schema.get_field_index(name), name, column)
    return out


_VALUES = frozenset({"count", "first", "last"})


def group_codes(table: pa.Table, groups: Sequence[str]) -> np.ndarray:
    """A number per row for its group of ``groups`` (null is a value), from 0. A dictionary
    column is numbered by its dictionary's values (which may repeat), not re-hashed."""
    return _combined([_codes(table[name]) for name in groups], table.num_rows)


def _combined(codes: Sequence[tuple[np.ndarray, int]], n: int) -> np.ndarray:
    """A number per row (of ``n``) for its combination of ``codes`` (each a code per row and
    how many codes there are), from 0."""
    code = np.zeros(n, np.int64)
    stride = 1
    for index, size in codes:
        if stride * size >= 1 << 62:  # renumber what there is so far: the codes stay dense
            code = np.unique(code, return_inverse=True)[1].astype(np.int64).reshape(-1)
            stride = int(code.max(initial=0)) + 1
        code += index * stride
        stride *= size
    return code


def _codes(column: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """A number per row for its value (null the last), and how many numbers there are."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        values = encode_strings(column.dictionary)  # its values may repeat
        size = len(values.dictionary) + 1
        remap = np.append(_numpy(values.indices).astype(np.int64), size - 1)
        index = _indices(column.indices, len(remap) - 1)
        return remap[index], size
    encoded = encode_strings(column)
    size = len(encoded.dictionary) + 1
    return _indices(encoded.indices, size - 1), size


def _indices(indices: pa.Array, none: int) -> np.ndarray:
    """A dictionary array's indices as int64, ``none`` for a null."""
    codes: np.ndarray = _numpy(indices).astype(np.int64) if indices.null_count == 0 else \
        _numpy(pc.fill_null(indices, none)).astype(np.int64)
    return codes


# -- sample parts: the k keys of smallest rank ---------------------------------------------

def column_hashes(name: str, column: pa.Array | pa.ChunkedArray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's hash of a bounded column (uint64) and whether its value would fold (see
    :func:`coarse`), both computed on the column's distinct values."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = encode_strings(column)
    return hash_strings(column), _folds(name, column)


def ranks(hashes: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """The rank of each row's key, from :func:`column_hashes` of its bounded columns:
    ``tier << 58`` (tier: how many of its values would fold) plus the top 58 bits of the key's
    hash (int64, never negative), so that keys sort by (tier, hash)."""
    hashed = np.full(len(hashes[0][0]), _SEED, _U64)
    tier = np.zeros(len(hashed), np.int64)
    with np.errstate(over="ignore"):
        for column, folds in hashes:
            hashed = _mix(hashed * _LENGTH ^ column)
            tier += folds
    return (tier << _RANK_BITS) | (hashed >> _U64(64 - _RANK_BITS)).astype(np.int64)


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    values: np.ndarray = array.to_numpy(zero_copy_only=False)
    return values


def bound_samples(table: pa.Table, group: str, k: int) -> pa.Table:
    """The rows of at most ``k`` keys per value of the ``group`` column: the keys of smallest
    ``rank`` (a column of the table: :func:`ranks`), which does not depend on the input around
    a key, so that the bound merges exactly (module docstring)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if table.num_rows <= k:
        return table
    keep = rows_of_smallest([table[group]], table["rank"].to_numpy(), k)
    return table if keep is None else table.filter(pa.array(keep))


def rows_of_smallest(keys: Sequence[pa.Array | pa.ChunkedArray], values: np.ndarray, m: int
                     ) -> np.ndarray | None:
    """Which rows hold one of the ``m`` smallest distinct ``values`` of their key (the columns
    ``keys`` together); None: every row does. A dictionary column's values must be distinct
    (``pc.dictionary_encode``'s): its codes are taken as they are."""
    n = len(values)
    if n <= m:
        return None
    code = _combined([_distinct_codes(column) for column in keys], n)
    native = native_module()
    if native is not None:  # one pass over rows bucketed by key, no sort of them all
        kept: np.ndarray = native.rows_of_smallest(np.ascontiguousarray(code, np.int64),
                                                   np.ascontiguousarray(values, np.int64), m)
        return None if kept.all() else kept
    order = np.lexsort((values, code))
    key, value = code[order], values[order]
    starts_key = np.r_[True, key[1:] != key[:-1]]
    starts_value = starts_key | np.r_[True, value[1:] != value[:-1]]
    distinct = np.cumsum(starts_value) - 1  # the number of each (key, value), in order
    first_of_key = distinct[np.flatnonzero(starts_key)][np.cumsum(starts_key) - 1]
    keep = np.empty(n, bool)
    keep[order] = distinct - first_of_key < m
    return None if keep.all() else keep


def smallest_per_group(code: np.ndarray, values: np.ndarray, m: int
                       ) -> list[tuple[int, np.ndarray]]:
    """Per group code (a few: statuses): its ``m`` smallest distinct values, sorted. Distinct
    values are found by hashing (Arrow's ``unique``), and only they are sorted: a sketch's
    group holds thousands of rows of a few hundred clients. The native kernel, when it runs,
    does the same in one pass over the rows."""
    native = native_module()
    if native is not None:
        found: list[tuple[int, np.ndarray]] = native.smallest_per_group(
            np.ascontiguousarray(code, np.int64), np.ascontiguousarray(values, np.int64), m)
        return found
    groups = np.sort(_distinct(code))
    out = []
    for value in groups:
        mine = values if len(groups) == 1 else values[code == value]
        unique = _distinct(mine)
        if len(unique) > m:
            unique = np.partition(unique, m - 1)[:m]
        out.append((int(value), np.sort(unique)))
    return out


def smallest_per_key(table: pa.Table, keys: Sequence[str], value: str, m: int) -> pa.Table:
    """Per distinct combination of the ``keys`` columns, the rows of its ``m`` smallest
    distinct ``value``s (an int64 column), one row each, sorted by keys (as ``sort_by`` sorts
    them, nulls last) and value: a sketch part's canonical rows, found without sorting its
    strings."""
    if table.num_rows == 0:
        return table
    code = group_codes(table, keys)
    _, first = np.unique(code, return_index=True)
    combos = table.select(list(keys)).take(pa.array(first))
    order = pc.sort_indices(combos, sort_keys=[(k, "ascending") for k in keys]).to_numpy()
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))  # each combination's rank in key order
    values = _numpy(table[value]).astype(np.int64)
    picked = smallest_per_group(position[np.searchsorted(code[first], code)], values, m)
    rows = np.concatenate([np.full(len(v), first[order[g]]) for g, v in picked])
    out = table.take(pa.array(rows))
    column = pa.array(np.concatenate([v for _, v in picked]), table.schema.field(value).type)
    return out.set_column(out.schema.get_field_index(value), value, column)


def _distinct(values: np.ndarray) -> np.ndarray:
    distinct: np.ndarray = pc.unique(pa.array(values)).to_numpy(zero_copy_only=False)
    return distinct


# -- distinct counts --------------------------------------------------------------------------

def distinct(sketch: pa.Table, m: int = SKETCH_SIZE) -> tuple[int, bool]:
    """The number of distinct values behind a set of sketch hashes (those of one or more
    groups: their union is taken), and whether it is exact."""
    hashes = np.unique(sketch["hash"].to_numpy()) if sketch.num_rows else np.zeros(0, np.int64)
    if len(hashes) < m:
        return len(hashes), True
    largest = float(hashes[m - 1]) + 2.0**63
    unit = max(largest / 2.0**64, 2.0**-64)  # the m-th smallest hash as a fraction of the range
    return int(round((m - 1) / unit)), False
