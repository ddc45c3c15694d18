"""The mergeable-table kernel a Summary is made of: a :class:`Part` describes one table (its
keys, the columns summed, kept as minimum or maximum, or sampled k per group), and the functions
here conform, aggregate, merge, sort and sample such tables with Arrow kernels, never per row.

A count part has one row per key once aggregated; a sample part keeps the ``k`` rows of each
group that are smallest by its ``order`` columns. Both merge associatively and commutatively: any
grouping of the same rows gives the same table once sorted (:func:`sort_part`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .bounded import (
    REST,
    bound_samples,
    bounded_counts,
    column_hashes,
    encode_strings,
    fold_counts,
    group_codes,
    ranks,
    smallest_per_key,
)

__all__ = [
    "Part",
    "aggregate_part",
    "bound_part",
    "canonical_part",
    "conform_part",
    "count_rows",
    "decode_part",
    "group_rows",
    "head_per_group",
    "merge_parts",
    "sort_part",
    "total_count",
    "unified_dictionary",
]

_S = pa.string()
_I64 = pa.int64()
_GROUP_ROWS = 1 << 17  # rows of a part grouped at once when merging (see _partitions)


@dataclass(frozen=True)
class Part:
    """How one part is typed and merged: keys, then the columns summed (int64), kept as minimum
    or maximum, or (``k`` set) the ``k`` rows of each group smallest by ``order``."""

    keys: tuple[tuple[str, pa.DataType], ...]
    sums: tuple[str, ...] = ()  # int64, added
    mins: tuple[tuple[str, pa.DataType], ...] = ()
    maxs: tuple[tuple[str, pa.DataType], ...] = ()
    # samples: rows ranked by ``order`` within each group of ``keys``; the ``k`` smallest kept
    order: tuple[tuple[str, pa.DataType], ...] = ()
    values: tuple[tuple[str, pa.DataType], ...] = ()
    k: int | None = None
    # string columns held dictionary-encoded while summaries are built and merged (read back
    # as strings): few distinct values repeated on many rows
    coded: tuple[str, ...] = ()
    # key columns whose values clients write: at most K keys per group of the other key
    # columns (analyzer.summary.bounded); a count part has a boolean "rest" key column too
    bounded: tuple[str, ...] = ()
    # at most this many keys per group whatever K is (a part with many groups: minutes)
    cap: int | None = None
    # a sample part whose rows are distinct values (hashes): equal rows are kept once
    unique: bool = False

    @property
    def schema(self) -> pa.Schema:
        fields = [*self.keys, *self.order, *((s, _I64) for s in self.sums), *self.mins,
                  *self.maxs, *self.values]
        return pa.schema(fields)

    @property
    def held_schema(self) -> pa.Schema:
        """The schema of the part as a Summary holds it (``coded`` columns as dictionaries)."""
        schema = self.schema
        for name in self.coded:
            index = schema.get_field_index(name)
            schema = schema.set(index, pa.field(name, pa.dictionary(pa.int32(), _S)))
        return schema

    @property
    def key_names(self) -> list[str]:
        return [name for name, _ in self.keys]

    @property
    def order_names(self) -> list[str]:
        return [name for name, _ in self.order]

    @property
    def counts(self) -> bool:
        return bool(self.sums or self.mins or self.maxs)

    def bound(self, keys: int) -> int:
        """The keys each group keeps when a Summary keeps ``keys`` (K)."""
        return keys if self.cap is None else min(keys, self.cap)

    @property
    def group_names(self) -> list[str]:
        """The key columns that group a bounded part's keys (not written by clients)."""
        return [n for n in self.key_names if n not in self.bounded and n != REST]


def count_rows(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    columns = {name: table[name] for name in table.column_names}
    counted = group_rows(columns, list(keys), [([], "count_all")])
    return counted.rename_columns([*keys, "count"])


def group_rows(
    columns: Mapping[str, pa.Array | pa.ChunkedArray], keys: list[str], aggregations: list[Any]
) -> pa.Table:
    """``group_by(keys).aggregate(aggregations)``, keys first (a dictionary key column must
    have distinct values; string keys come back dictionary-encoded); key columns that are all
    null (a field the format does not log) are left out of the hashing and added back as
    nulls.

    The keys are grouped as one int64: each key column is dictionary-encoded (one hash pass of
    its own) and the codes are combined, so that Arrow's grouper hashes one number a row rather
    than several strings (a block of distinct methods, clients and user agents: 3 times faster).
    """
    table = pa.table(dict(columns))
    used = [k for k in keys if table[k].null_count < table.num_rows or table.num_rows == 0]
    if not used:
        used = keys[:1]
    coded = _combined_codes(table, used)
    if coded is None:
        grouped = table.group_by(used, use_threads=False).aggregate(aggregations)
        values = {key: grouped[key] for key in used}
    else:
        combined, parts = coded
        others = [c for c in table.column_names if c not in used]
        grouped = pa.table({**{c: table[c] for c in others}, _CODE: combined}).group_by(
            [_CODE], use_threads=False).aggregate(aggregations)
        code = grouped[_CODE].to_numpy()
        values = {}
        for key, (dictionary, stride, size) in zip(used, parts, strict=True):
            index = (code // stride) % (size + 1)
            codes = pa.array(index.astype(np.int32), mask=index == size)
            # string keys stay encoded (cheap to fold and group again), others are decoded
            values[key] = (pa.DictionaryArray.from_arrays(codes, dictionary)
                           if pa.types.is_string(dictionary.type)
                           else pc.take(dictionary, codes))
    names = [c for c in grouped.column_names if c not in used and c != _CODE]
    out = {}
    for key in keys:
        out[key] = values[key] if key in used else pa.nulls(grouped.num_rows, table[key].type)
    for name in names:
        out[name] = grouped[name]
    return pa.table(out)


_CODE = "__code"


def _combined_codes(table: pa.Table, keys: list[str]
                    ) -> tuple[np.ndarray, list[tuple[pa.Array, int, int]]] | None:
    """One int64 per row that numbers its combination of ``keys`` (null is a value), and per
    key its dictionary, stride and size; None when the combinations do not fit in 62 bits."""
    combined = np.zeros(table.num_rows, np.int64)
    parts = []
    stride = 1
    for key in keys:
        column = table[key]
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()  # dictionaries of the chunks unified
        # a dictionary column is taken as it is: callers pass pc.dictionary_encode's, whose
        # values are distinct (one encoding shared by every grouping of a block)
        encoded = column if pa.types.is_dictionary(column.type) else encode_strings(column)
        dictionary = encoded.dictionary
        size = len(dictionary)
        if stride * (size + 1) >= 1 << 62:
            return None
        index = pc.fill_null(encoded.indices, size).to_numpy(zero_copy_only=False)
        combined += index.astype(np.int64) * stride
        parts.append((dictionary, stride, size))
        stride *= size + 1
    return combined, parts


def conform_part(table: pa.Table, spec: Part) -> pa.Table:
    """The table with exactly the part's columns, in order, of the part's types (as held:
    ``coded`` columns dictionary-encoded)."""
    schema = spec.held_schema
    if REST in schema.names and REST not in table.column_names:
        # rows just counted (or stored before parts were bounded) are keys, not remainders
        table = table.append_column(REST, pa.array(np.zeros(table.num_rows, bool)))
    if "rank" in schema.names and "rank" not in table.column_names and spec.bounded:
        # a sample stored before parts were bounded: its keys ranked now
        hashes = [column_hashes(name, table[name]) for name in spec.bounded]
        table = table.append_column("rank", pa.array(ranks(hashes)))
    missing = [n for n in schema.names if n not in table.column_names]
    if missing:
        raise ValueError(f"summary part lacks columns {missing}")
    columns = []
    for field in schema:
        column = table[field.name]
        if pa.types.is_dictionary(field.type):
            column = _encoded(column, field.type)
        else:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            if column.type != field.type:
                column = column.cast(field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _encoded(column: pa.Array | pa.ChunkedArray, kind: pa.DictionaryType
             ) -> pa.Array | pa.ChunkedArray:
    """``column`` as a dictionary column of ``kind`` (string values, int32 indices)."""
    if column.type == kind:
        return column
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if column.type != kind.value_type:
        column = column.cast(kind.value_type)
    return pc.dictionary_encode(column)


def merge_parts(tables: list[pa.Table], spec: Part, keys: int) -> pa.Table:
    """The part of merged summaries: count parts aggregated (sorted when read), sample parts
    in canonical order; a bounded part keeps at most ``keys`` keys per group."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return spec.held_schema.empty_table()
    if len(tables) == 1:
        return bound_part(tables[0], spec, keys)
    if spec.k is None:
        merged = _merged_counts(pa.concat_tables(tables), spec, keys) if spec.bounded else None
        if merged is not None:
            return merged
        return bound_part(aggregate_part(pa.concat_tables(tables), spec), spec, keys)
    return canonical_part(pa.concat_tables(tables), spec, keys=keys)


def _merged_counts(table: pa.Table, spec: Part, keys: int) -> pa.Table | None:
    """The rows of a bounded count part summed by key and bounded, by the native kernel in
    one pass (None when it does not run)."""
    names = [*spec.group_names, *spec.bounded]
    columns = {name: _plain(table[name]) for name in names}
    times = {name: table[name] for name, _ in (*spec.mins, *spec.maxs)}
    if not set(times) <= {"first", "last"}:  # the kernel keeps those two alone
        return None
    counted = bounded_counts(columns, spec.group_names, spec.bounded, spec.bound(keys),
                             count=table["count"], first=times.get("first"),
                             last=times.get("last"), rest=table[REST])
    return None if counted is None else conform_part(counted, spec)


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A held column with its dictionaries (one per merged Summary) decoded."""
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) \
        else column


def bound_part(table: pa.Table, spec: Part, keys: int) -> pa.Table:
    """A count part (one row per key) with at most ``keys`` keys per group: the others folded
    into its remainder rows (analyzer.summary.bounded.fold_counts)."""
    if not spec.bounded or spec.k is not None:
        return table
    return fold_counts(table, spec.group_names, spec.bounded, spec.bound(keys),
                       lambda rows: aggregate_part(conform_part(rows, spec), spec))


def aggregate_part(table: pa.Table, spec: Part, *, piece_rows: int = _GROUP_ROWS) -> pa.Table:
    """One row per key of a count part (in no particular order).

    String keys are grouped by dictionary code: Arrow's grouper copies string keys into its
    own rows, and for the hits part (user agents) that took twice the time and memory.
    """
    if not table.num_rows:
        return table
    group = spec.key_names + spec.order_names
    aggregations = ([(s, "sum") for s in spec.sums] + [(m, "min") for m, _ in spec.mins]
                    + [(m, "max") for m, _ in spec.maxs])
    coded = table
    for name in spec.coded:  # the grouper needs one dictionary per column
        index = coded.schema.get_field_index(name)
        coded = coded.set_column(index, name, unified_dictionary(coded[name]))
    for name in group:
        if pa.types.is_string(table.schema.field(name).type):
            index = coded.schema.get_field_index(name)
            coded = coded.set_column(index, name, encode_strings(coded[name]))
    table = pa.concat_tables([
        group_rows({name: part[name] for name in part.column_names}, group, aggregations)
        for part in _partitions(coded, group, piece_rows)
    ])
    table = table.rename_columns(
        [c.rsplit("_", 1)[0] if c not in group else c for c in table.column_names]
    )
    return conform_part(table, spec)


def _partitions(table: pa.Table, keys: list[str], piece_rows: int) -> Iterator[pa.Table]:
    """``table`` in pieces of about ``piece_rows`` rows that share no key, to be grouped one
    at a time: Arrow's grouper holds about 110 bytes a group besides its input and output (one
    merge of the hits part of the 20,000,000-line log, 494k groups: 54 MB at once).

    Rows go by the code of their dictionary-encoded key with the most values (equal keys have
    equal codes, so a group stays in one piece)."""
    count = -(-table.num_rows // piece_rows)
    coded = [table[k] for k in keys if pa.types.is_dictionary(table.schema.field(k).type)]
    if count <= 1 or not coded:
        yield table
        return
    widest = max(coded, key=lambda c: max((len(chunk.dictionary) for chunk in c.chunks),
                                          default=0))
    codes = np.concatenate([
        pc.fill_null(chunk.indices, 0).to_numpy(zero_copy_only=False) for chunk in widest.chunks
    ]) % count
    for piece in range(count):
        yield table.filter(pa.array(codes == piece))


def unified_dictionary(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary column's chunks re-coded over one dictionary, the union of theirs (each
    distinct value once; a chunk of nulls alone, with no dictionary, stays null).

    Plain kernels on the (small) dictionaries: ``Table.unify_dictionaries`` crashed the
    process, rarely, on the merges of the summary property tests.
    """
    if column.num_chunks <= 1:
        return column
    values = pc.unique(pa.concat_arrays([chunk.dictionary for chunk in column.chunks]))
    chunks = [
        pa.DictionaryArray.from_arrays(
            pc.take(pc.index_in(chunk.dictionary, value_set=values), chunk.indices), values)
        for chunk in column.chunks
    ]
    return pa.chunked_array(chunks, type=column.type)


def sort_part(table: pa.Table, spec: Part) -> pa.Table:
    # chunks combined first: Arrow sorts a table of several chunks resolving the chunk of
    # every value it compares (the hits part of a 5,000,000-line log: 0.27 s against 0.10 s)
    table = table.combine_chunks()
    sort = [(name, "ascending") for name in spec.key_names + spec.order_names]
    if not sort or table.num_rows <= 1:
        return table
    if not spec.coded:
        return table.sort_by(sort)
    # Arrow does not sort by dictionary columns: they sort as the rank of their value
    keys = table.select([name for name, _ in sort])
    for name in spec.coded:
        if name in keys.column_names:
            index = keys.schema.get_field_index(name)
            keys = keys.set_column(index, name, _value_rank(keys[name].combine_chunks()))
    return table.take(pc.sort_indices(keys, sort_keys=sort))


def _value_rank(column: pa.DictionaryArray) -> pa.Array:
    """For each row, the rank of its value among the dictionary's values (null stays null)."""
    order = pc.sort_indices(column.dictionary).to_numpy(zero_copy_only=False)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return pc.take(pa.array(rank), column.indices)


def decode_part(table: pa.Table, spec: Part) -> pa.Table:
    """A part as held, with its coded columns back as strings."""
    for name in spec.coded:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(_S))
    return table


def canonical_part(table: pa.Table, spec: Part, *, aggregate: bool = True,
                   keys: int | None = None) -> pa.Table:
    """A sample part: aggregated (when it counts too), cut to ``keys`` keys per group when
    bounded, sorted by keys, cut to k rows per key."""
    if aggregate and spec.counts:
        table = aggregate_part(table, spec)
    if spec.unique and spec.k is not None:  # rows of distinct values: the k smallest
        (value,) = spec.order_names
        return smallest_per_key(table, spec.key_names, value, spec.k)
    if spec.bounded and keys is not None:
        (group,) = spec.group_names  # bounded samples are grouped by status
        table = bound_samples(table, group, spec.bound(keys))
    table = sort_part(table, spec)
    return head_per_group(table, spec.key_names, spec.k) if spec.k is not None else table


def head_per_group(table: pa.Table, keys: list[str], k: int) -> pa.Table:
    """The first ``k`` rows of each group of a table sorted by ``keys``."""
    n = table.num_rows
    if n <= k:
        return table
    if not keys:
        return table.slice(0, k)
    code = group_codes(table, keys)  # sorted by keys: a group's rows are adjacent
    starts = np.r_[True, code[1:] != code[:-1]]
    first = np.flatnonzero(starts)
    position = np.arange(n) - first[np.cumsum(starts) - 1]
    return table.filter(pa.array(position < k))


def total_count(table: pa.Table) -> int:
    return int(pc.sum(table["count"]).as_py() or 0) if table.num_rows else 0
