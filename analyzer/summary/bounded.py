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
  first) and ``hash`` is :func:`hash_columns`. The rank of a key does not depend on the input
  around it, so the bound merges exactly: any split, any order, the same rows.
* **Distinct counts** (:func:`sketch_rows`, :func:`distinct`): the ``m`` smallest 64-bit hashes
  of a group's values (a KMV sketch), merged exactly; the number of distinct values is exact
  below ``m`` and estimated above it, with a relative standard error of about
  ``1 / sqrt(m - 2)`` (3% for ``m = 1024``).

Everything works on whole Arrow tables with NumPy on the group boundaries; strings are hashed
from their Arrow buffers (:func:`hash_strings`): no Python object per key and no loop per key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..vocabulary import IANA_METHODS

__all__ = [
    "DEFAULT_MAX_KEYS",
    "FOLDED",
    "FOLDED_LABELS",
    "KNOWN_PROTOCOLS",
    "REST",
    "SKETCH_SIZE",
    "bound_samples",
    "coarse",
    "distinct",
    "fold_counts",
    "hash_columns",
    "hash_strings",
    "labelled",
    "sketch_rows",
]

#: Keys kept per group unless told otherwise: measured with benchmarks/bench_hostile.py (see
#: the README's hostile-volume section): the ordinary benchmark logs never hold more than 282
#: keys in a group, so their Summaries stay exact.
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
_METHODS = pa.array(sorted(IANA_METHODS), _S)
_PROTOCOLS = pa.array(sorted(KNOWN_PROTOCOLS), _S)
_U64 = np.uint64
_NULL_HASH = _U64(0x6A09E667F3BCC908)
_LENGTH = _U64(0x9E3779B97F4A7C15)
_SEED = _U64(0xD1B54A32D192ED03)


# -- hashing ----------------------------------------------------------------------------------

def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (uint64 in, uint64 out; products wrap)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        mixed: np.ndarray = z ^ (z >> _U64(31))
        return mixed


def hash_strings(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash (uint64) of each string, the same in every process and every version:
    a sum of the bytes weighted by a hash of their position, mixed with the length. Computed
    from the Arrow buffers with NumPy; a dictionary array hashes its dictionary once."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        codes = values.indices.to_numpy(zero_copy_only=False)
        hashed = hash_strings(values.dictionary)
        out = hashed[np.where(values.indices.is_null().to_numpy(zero_copy_only=False), 0,
                              codes).astype(np.int64)] if len(hashed) else \
            np.full(len(values), _NULL_HASH, _U64)
        return np.where(values.is_null().to_numpy(zero_copy_only=False), _NULL_HASH, out)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(_S)
    n = len(values)
    if n == 0:
        return np.zeros(0, _U64)
    wide = pa.types.is_large_string(values.type)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], np.int64 if wide else np.int32)[
        values.offset : values.offset + n + 1].astype(np.int64)
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = (np.frombuffer(buffers[2], np.uint8)[lo:hi] if buffers[2] is not None and hi > lo
            else np.zeros(0, np.uint8))
    starts = offsets[:-1] - lo
    lengths = np.diff(offsets)
    position = np.arange(hi - lo, dtype=np.int64) - np.repeat(starts, lengths)
    with np.errstate(over="ignore"):
        weights = _mix(position.astype(_U64) + _SEED)
        total = np.concatenate([np.zeros(1, _U64), np.cumsum(data.astype(_U64) * weights,
                                                             dtype=_U64)])
        summed = total[starts + lengths] - total[starts]
        hashed = _mix(summed + lengths.astype(_U64) * _LENGTH)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    return np.where(valid, hashed, _NULL_HASH)


def _hash_any(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    kind = column.type
    if pa.types.is_dictionary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return hash_strings(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.int64())
    numbers = pc.fill_null(column.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    with np.errstate(over="ignore"):
        hashed = _mix(numbers.astype(np.int64).view(_U64) + _SEED)
    return np.where(column.is_valid().to_numpy(zero_copy_only=False), hashed, _NULL_HASH)


def hash_columns(table: pa.Table, names: Sequence[str]) -> np.ndarray:
    """One 64-bit hash (uint64) per row of the named columns taken together."""
    out = np.full(table.num_rows, _SEED, _U64)
    with np.errstate(over="ignore"):
        for name in names:
            out = _mix(out * _LENGTH ^ _hash_any(table[name]))
    return out


def as_int64(hashed: np.ndarray) -> pa.Array:
    """Hashes as the int64 column they are stored in."""
    return pa.array(hashed.view(np.int64))


# -- coarse keys ------------------------------------------------------------------------------

def _keep_if(column: pa.Array | pa.ChunkedArray, keep: pa.Array | pa.ChunkedArray
             ) -> pa.Array | pa.ChunkedArray:
    """``column`` where ``keep`` (or null), :data:`FOLDED` elsewhere."""
    return pc.if_else(pc.or_(pc.is_null(column), pc.fill_null(keep, False)), column, FOLDED)


def coarse(name: str, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """What a bounded column's values read as once folded: a registered method, a known
    protocol, null and an empty ``Allow`` stay; any other value is :data:`FOLDED`."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if name == "method":
        return _keep_if(column, pc.is_in(column, value_set=_METHODS))
    if name == "protocol":
        return _keep_if(column, pc.is_in(column, value_set=_PROTOCOLS))
    if name == "allow":
        return _keep_if(column, pc.equal(column, ""))
    return _keep_if(column, pc.is_null(column))


def _tier(table: pa.Table, names: Sequence[str]) -> np.ndarray:
    """How many of a row's bounded values would fold (0: all of them stay as they are)."""
    tier = np.zeros(table.num_rows, np.int64)
    for name in names:
        column = table[name]
        folds = pc.not_equal(pc.fill_null(coarse(name, column), ""), FOLDED)
        tier += ~folds.to_numpy(zero_copy_only=False) if isinstance(folds, pa.Array) else \
            ~folds.combine_chunks().to_numpy(zero_copy_only=False)
    return tier


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
    is_rest = pc.fill_null(table[REST], False)
    keys = table.filter(pc.invert(is_rest))
    if _largest_group(keys, groups) <= k:
        return table
    sort = [*((g, "ascending") for g in groups), ("count", "descending")]
    keys = keys.take(pc.sort_indices(keys, sort_keys=sort))
    starts = _group_starts(keys, groups)
    gid = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    position = np.arange(keys.num_rows) - first[gid]
    count = keys["count"].to_numpy()
    threshold = np.zeros(len(first), dtype=np.int64)
    at_k = position == k
    threshold[gid[at_k]] = count[at_k]
    reduced = count - threshold[gid]
    kept = reduced > 0
    moved = np.where(kept, threshold[gid], count)
    index = keys.schema.get_field_index("count")
    out = keys.filter(pa.array(kept)).set_column(index, "count",
                                                 pa.array(reduced[kept], pa.int64()))
    folded = keys.filter(pa.array(moved > 0))
    folded = folded.set_column(index, "count", pa.array(moved[moved > 0], pa.int64()))
    for name in bounded:
        i = folded.schema.get_field_index(name)
        folded = folded.set_column(i, name, coarse(name, folded[name]))
    i = folded.schema.get_field_index(REST)
    folded = folded.set_column(i, REST, pa.array(np.ones(folded.num_rows, bool)))
    for i, field in enumerate(table.schema):  # coarse values of a dictionary column, encoded
        if pa.types.is_dictionary(field.type) and field.type != folded.schema.field(i).type:
            folded = folded.set_column(i, field.name, pc.dictionary_encode(folded[field.name]))
    remainder = regroup(pa.concat_tables([table.filter(is_rest), folded],
                                         promote_options="permissive"))
    return pa.concat_tables([out, remainder], promote_options="permissive")


# -- sample parts: the k keys of smallest (tier, hash) ----------------------------------------

def bound_samples(table: pa.Table, groups: Sequence[str], bounded: Sequence[str], k: int
                  ) -> pa.Table:
    """The rows of at most ``k`` keys (values of ``bounded``) per group of ``groups``: the keys
    of smallest ``(tier, hash)`` (module docstring)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if table.num_rows <= k:
        return table
    key = hash_columns(table, [*groups, *bounded])
    ranked = pa.table({
        **{g: table[g] for g in groups},
        "tier": pa.array(_tier(table, bounded)),
        "hash": pa.array(hash_columns(table, bounded).view(np.int64)),
        "key": pa.array(key.view(np.int64)),
    })
    unique = ranked.group_by([*groups, "tier", "hash", "key"], use_threads=False).aggregate([])
    if _largest_group(unique, groups) <= k:
        return table
    unique = unique.sort_by([*((g, "ascending") for g in groups), ("tier", "ascending"),
                             ("hash", "ascending")])
    starts = _group_starts(unique, groups)
    first = np.flatnonzero(starts)
    position = np.arange(unique.num_rows) - first[np.cumsum(starts) - 1]
    chosen = unique["key"].filter(pa.array(position < k))
    return table.filter(pc.is_in(ranked["key"], value_set=chosen))


# -- distinct counts --------------------------------------------------------------------------

def sketch_rows(status: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray,
                what: str) -> pa.Table:
    """Rows of the ``distinct`` part: each distinct (status, hash of a non-null value), under
    the name ``what``."""
    table = pa.table({"status": status, "value": values}).filter(pc.is_valid(values))
    if table.num_rows == 0:
        return pa.table({"status": pa.array([], pa.int16()), "what": pa.array([], _S),
                         "hash": pa.array([], pa.int64())})
    hashed = pa.table({"status": table["status"],
                       "hash": as_int64(hash_strings(table["value"]))})
    unique = hashed.group_by(["status", "hash"], use_threads=False).aggregate([])
    return pa.table({"status": unique["status"],
                     "what": pa.array([what] * unique.num_rows, _S), "hash": unique["hash"]})


def distinct(sketch: pa.Table, m: int = SKETCH_SIZE) -> tuple[int, bool]:
    """The number of distinct values behind a set of sketch hashes (those of one or more
    groups: their union is taken), and whether it is exact."""
    hashes = np.unique(sketch["hash"].to_numpy()) if sketch.num_rows else np.zeros(0, np.int64)
    if len(hashes) < m:
        return len(hashes), True
    largest = float(hashes[m - 1]) + 2.0**63
    unit = max(largest / 2.0**64, 2.0**-64)  # the m-th smallest hash as a fraction of the range
    return int(round((m - 1) / unit)), False


def distinct_by(sketch: pa.Table, keys: Sequence[str], m: int = SKETCH_SIZE
                ) -> dict[tuple[object, ...], tuple[int, bool]]:
    """:func:`distinct` of each group of ``keys`` in a sketch (a few groups: statuses)."""
    if sketch.num_rows == 0:
        return {}
    out = {}
    groups = sketch.select(list(keys)).group_by(list(keys), use_threads=False).aggregate([])
    for row in groups.to_pylist():
        mask = None
        for name in keys:
            test = (pc.is_null(sketch[name]) if row[name] is None
                    else pc.equal(sketch[name], row[name]))
            mask = test if mask is None else pc.and_(mask, test)
        out[tuple(row[name] for name in keys)] = distinct(sketch.filter(mask), m)
    return out
