"""Counts keyed by values that clients write, in memory set by K rather than by the input.

Methods, protocols, targets, virtual hosts, client addresses and user agents are chosen by
whoever sends requests, so a count table keyed by one of them grows with what an attacker
sends. Two mergeable kernels bound such a table per group (the other key columns, e.g. status):

* :func:`reduce_counts`: a Misra–Gries summary (mergeable as in Agarwal et al., "Mergeable
  Summaries", 2012). Merging is summing the counters of equal keys; when a group then holds
  more than ``k`` keys, the (k+1)-th largest count is subtracted from every key of the group and
  the keys left at zero or below are dropped. What is dropped goes to the group's exact
  remainder row (``rest``), so the group's total stays exact. For every key ``x`` of a group::

      true(x) - rest / (k + 1)  <=  kept(x)  <=  true(x)

  (a key not kept has ``kept(x) = 0``), whatever the split of the input and the order of the
  merges. A group that never holds more than ``k`` keys is never reduced: its counts are exact
  and equal to one pass over the whole input.
* :func:`reduce_hashes`: the ``m`` smallest 64-bit hashes of a group's keys (a KMV sketch),
  merged exactly (associative and commutative): :func:`distinct` is the exact number of
  distinct keys below ``m``, and an estimate with a relative standard error of about
  ``1 / sqrt(m - 2)`` above it.

Both work on whole Arrow tables with NumPy on the group boundaries: no Python loop per key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

REST = "rest"  # a row that holds a group's remainder (its key is null)
COUNT = "count"
HASH = "hash"

__all__ = ["COUNT", "HASH", "REST", "distinct", "hashes_of", "reduce_counts", "reduce_hashes"]


def reduce_counts(table: pa.Table, groups: Sequence[str], key: str, k: int) -> pa.Table:
    """A bounded count table: at most ``k`` keys per group plus one ``rest`` row per group.

    ``table`` has the ``groups`` columns, ``key``, ``count`` (int64) and ``rest`` (bool), with
    any number of rows per key (the concatenation of bounded tables, or exact counts with
    ``rest`` false). The result is sorted by group, then count (descending), then key.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if table.num_rows == 0:
        return table
    summed = table.group_by([*groups, key, REST], use_threads=False).aggregate(
        [(COUNT, "sum")]).rename_columns([*groups, key, REST, COUNT])
    summed = summed.sort_by([*((g, "ascending") for g in groups), (REST, "ascending"),
                             (COUNT, "descending"), (key, "ascending")])
    n = summed.num_rows
    starts = _group_starts(summed, groups)
    gid = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    count = summed[COUNT].to_numpy()
    rest = summed[REST].to_numpy(zero_copy_only=False)
    position = np.arange(n) - first[gid]
    threshold = np.zeros(len(first), dtype=np.int64)
    at_k = (position == k) & ~rest
    threshold[gid[at_k]] = count[at_k]
    reduced = count - threshold[gid]
    kept = ~rest & (reduced > 0)
    total = np.add.reduceat(count, first)
    remainder = total - np.add.reduceat(np.where(kept, reduced, 0), first)
    out = summed.filter(pa.array(kept)).set_column(
        summed.schema.get_field_index(COUNT), COUNT, pa.array(reduced[kept], pa.int64()))
    has_rest = remainder > 0
    if has_rest.any():
        heads = summed.take(pa.array(first[has_rest]))
        rows = heads.set_column(heads.schema.get_field_index(key), key,
                                pa.nulls(heads.num_rows, summed.schema.field(key).type))
        rows = rows.set_column(rows.schema.get_field_index(REST), REST,
                               pa.array(np.ones(heads.num_rows, dtype=bool)))
        rows = rows.set_column(rows.schema.get_field_index(COUNT), COUNT,
                               pa.array(remainder[has_rest], pa.int64()))
        out = pa.concat_tables([out, rows])
    return out.sort_by([*((g, "ascending") for g in groups), (REST, "ascending"),
                        (COUNT, "descending"), (key, "ascending")])


def hashes_of(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A 64-bit hash of each value, the same in every process (pandas' keyed SipHash)."""
    objects = np.asarray(values.to_pandas(), dtype=object)
    hashed = pd.util.hash_array(objects, categorize=False)
    return pa.array(hashed.view(np.int64))


def reduce_hashes(table: pa.Table, groups: Sequence[str], m: int) -> pa.Table:
    """The ``m`` smallest distinct ``hash`` values of each group (a KMV sketch), sorted."""
    if m < 2:
        raise ValueError(f"m must be at least 2, not {m}")
    if table.num_rows == 0:
        return table
    unique = table.group_by([*groups, HASH], use_threads=False).aggregate([])
    unique = unique.sort_by([*((g, "ascending") for g in groups), (HASH, "ascending")])
    starts = _group_starts(unique, groups)
    first = np.flatnonzero(starts)
    position = np.arange(unique.num_rows) - first[np.cumsum(starts) - 1]
    return unique.filter(pa.array(position < m))


def distinct(sketch: pa.Table, groups: Sequence[str], m: int) -> pa.Table:
    """Per group of a :func:`reduce_hashes` table: the number of distinct keys (``distinct``,
    int64) and whether it is exact (``exact``: fewer than ``m`` hashes held)."""
    if sketch.num_rows == 0:
        return pa.table({**{g: sketch[g] for g in groups},
                         "distinct": pa.array([], pa.int64()), "exact": pa.array([], pa.bool_())})
    starts = _group_starts(sketch, groups)
    first = np.flatnonzero(starts)
    sizes = np.diff(np.append(first, sketch.num_rows))
    largest = sketch[HASH].to_numpy()[first + sizes - 1].astype(np.float64)
    unit = (largest + 2.0**63) / 2.0**64  # the m-th smallest hash as a fraction of the range
    exact = sizes < m
    estimate = np.where(exact, sizes, np.round((m - 1) / np.maximum(unit, 2.0**-64)))
    heads = sketch.take(pa.array(first)).select(list(groups))
    return heads.append_column("distinct", pa.array(estimate.astype(np.int64))).append_column(
        "exact", pa.array(exact))


def _group_starts(table: pa.Table, groups: Sequence[str]) -> np.ndarray:
    """True where a row of a table sorted by ``groups`` starts a new group (nulls equal)."""
    n = table.num_rows
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for name in groups:
        column = table[name].combine_chunks()
        after, before = column.slice(1), column.slice(0, n - 1)
        same = pc.or_(pc.fill_null(pc.equal(after, before), False),
                      pc.and_(pc.is_null(after), pc.is_null(before)))
        starts[1:] |= ~same.to_numpy(zero_copy_only=False)
    return starts
