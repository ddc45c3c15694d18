"""The parts of a Summary (see :mod:`analyzer.summary.summary` for the table of them), and how
they are built from a parsed block's rows: Arrow grouped aggregations over whole blocks, never
per row in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import AnalyzerError
from ..verdicts.clients import client_identity
from ..vocabulary import CLASS_BY_STATUS, IANA_METHODS
from .bounded import (
    DEFAULT_MAX_KEYS,
    REST,
    SKETCH_SIZE,
    as_int64,
    bounded_counts,
    coarse,
    column_hashes,
    encode_strings,
    folded_whole,
    hash_strings,
    ranks,
    rows_of_smallest,
    smallest_per_group,
)
from .table import (
    Part,
    bound_part,
    canonical_part,
    conform_part,
    count_rows,
    group_rows,
    unified_dictionary,
)

__all__ = [
    "EXAMPLES_PER_GROUP",
    "LINE_PARTS",
    "PARTS",
    "REJECT_EXAMPLES",
    "RESOURCES_PER_GROUP",
    "frame_table",
    "held_rows",
    "in_line_order",
    "long_schema",
    "rows_in_window",
    "source_row",
    "summarize_rejects",
    "summarize_rows",
    "summary_columns",
]

EXAMPLES_PER_GROUP = 5
MINUTE_KEYS = 8  # keys each minute and status keeps in the minutes part, whatever K is
# keys each status keeps in the sample parts (examples, first requests, resources), whatever K
# is: a report shows the evidence of at most 100 verdicts, registered methods first
SAMPLE_KEYS = 256
RESOURCES_PER_GROUP = 64
REJECT_EXAMPLES = 20

_S = pa.string()
_I16 = pa.int16()
_I64 = pa.int64()
_TS = pa.timestamp("us", tz="UTC")
_CLASS_STATUSES = pa.array(sorted(CLASS_BY_STATUS), _I16)
_REGISTERED = pa.array(sorted(IANA_METHODS), _S)
_MINUTE_US = 60_000_000
_HELD_CODED = ("client", "user_agent")  # encoded while a batch holds its blocks (held_rows)
# what the parts of classed rows read (other client fields need every column: see _clients)
_CLASSED_COLUMNS = frozenset(
    {"line", "vhost", "status", "method", "protocol", "client", "user_agent", "target", "time",
     "request", "allow"}
)


def summary_columns(client_field: str = "client") -> frozenset[str] | None:
    """The parsed columns a Summary reads, for :func:`analyzer.parse.block.parse_block`'s projection
    (None: every column, since another ``client_field`` may name any of them)."""
    return _CLASSED_COLUMNS if client_field == "client" else None


_KEY = (("vhost", _S), ("status", _I16), ("method", _S), ("protocol", _S))
_WHERE = (("source", _S), ("line", _I64))
_REST = (REST, pa.bool_())
_RANK = ("rank", _I64)  # of the key, in a bounded sample part (analyzer.summary.bounded.ranks)
_ENDS = ("vhost", "method", "protocol")  # what clients write in a request's key

PARTS: dict[str, Part] = {
    "sources": Part(
        keys=(("source", _S), ("format", _S), ("detection", _S), ("server", _S)),
        sums=("lines", "parsed", "rejected"),
        mins=(("order", _I64),),
    ),
    "requests": Part(
        keys=(("vhost", _S), ("method", _S), ("protocol", _S), ("status", _I16), _REST),
        sums=("count",),
        mins=(("first", _TS),),
        maxs=(("last", _TS),),
        bounded=_ENDS,
    ),
    "firsts": Part(
        keys=(("vhost", _S), ("method", _S), ("protocol", _S), ("status", _I16)),
        order=_WHERE,
        values=(("target", _S), _RANK),
        k=1,
        bounded=_ENDS,
        cap=SAMPLE_KEYS,
    ),
    # a user agent is ~100 bytes, and the same few recur on the part's many rows: held as
    # strings, the part was the largest thing in memory on a long log (65 MB at 20M lines)
    "hits": Part(keys=(*_KEY, ("client", _S), ("user_agent", _S), _REST), sums=("count",),
                  coded=("user_agent",), bounded=(*_ENDS, "client", "user_agent")),
    # one group per minute and status: a week is 10,080 minutes, so each keeps few keys (the
    # benchmark logs never have more than 7 in a minute; registered methods and known protocols
    # keep their names when folded, so their series stay exact)
    "minutes": Part(
        keys=(("minute", _TS), ("status", _I16), ("method", _S), ("protocol", _S), _REST),
        sums=("count",),
        bounded=("method", "protocol"),
        cap=MINUTE_KEYS,
    ),
    "volume": Part(keys=(("minute", _TS),), sums=("count",)),
    "examples": Part(
        keys=_KEY,
        order=_WHERE,
        values=(("time", _TS), ("client", _S), ("target", _S), ("request", _S), _RANK),
        k=EXAMPLES_PER_GROUP,
        bounded=_ENDS,
        cap=SAMPLE_KEYS,
    ),
    "resources": Part(
        keys=(("vhost", _S), ("status", _I16), ("method", _S)),
        order=(("hash", _I64), ("resource", _S)),
        sums=("count",),
        mins=(_RANK,),
        k=RESOURCES_PER_GROUP,
        bounded=("vhost", "method"),
        cap=SAMPLE_KEYS,
    ),
    "allow": Part(
        keys=(("vhost", _S), ("status", _I16), ("method", _S), ("allow", _S), _REST),
        sums=("count",),
        bounded=("vhost", "method", "allow"),
    ),
    "rejects": Part(keys=(("source", _S), ("reason", _S)), sums=("count",)),
    "reject_examples": Part(
        keys=(), order=_WHERE, values=(("reason", _S), ("text", _S)), k=REJECT_EXAMPLES
    ),
    # KMV sketches (analyzer.summary.bounded): per status, the smallest hashes of the distinct
    # values reports count: "method" (every status), "protocol" (505), "unregistered" methods
    # (501, 405), the "client"s of each class and the "unregistered_client"s (501, 405)
    "distinct": Part(
        keys=(("status", _I16), ("what", _S)), order=(("hash", _I64),), k=SKETCH_SIZE,
        unique=True,
    ),
}


#: The parts that name a line of a source (``source``, ``line``): all of them sample parts.
LINE_PARTS: tuple[str, ...] = tuple(
    name for name, spec in PARTS.items() if {"source", "line"} <= set(spec.schema.names)
)
assert all(PARTS[name].k is not None for name in LINE_PARTS)



# -- building parts ----------------------------------------------------------------------------

def rows_in_window(table: pa.Table, since: datetime | None, until: datetime | None) -> pa.Table:
    """Rows with ``since <= time < until``."""
    if since is None and until is None:
        return table
    if "time" not in table.column_names:
        if table.num_rows == 0:
            return table
        raise AnalyzerError(
            "--since/--until need timestamps, and this log format has no time field"
        )
    time = table["time"]
    keep = None
    for bound, op in ((since, pc.greater_equal), (until, pc.less)):
        if bound is not None:
            test = op(time, pa.scalar(_utc(bound), time.type))
            keep = test if keep is None else pc.and_(keep, test)
    return table.filter(pc.fill_null(keep, False))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _column(table: pa.Table, name: str, kind: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """A column of ``kind`` (chunks kept: no copy); all nulls when the format does not log it."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, kind)
    column = table[name]
    if column.num_chunks == 1:
        column = column.chunk(0)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if column.type != kind:
        column = column.cast(kind)
    return column


class _Built(dict[str, pa.Table]):
    """Parts as a block's rows are summarised, each cut to its bound as soon as it is built:
    the tables of one row per distinct key that a hostile block gives are freed before the
    next part is built (a block of random methods peaked 60 MB higher with all of them held)."""

    def __init__(self, keys: int) -> None:
        super().__init__()
        self.max_keys = keys

    def __setitem__(self, name: str, table: pa.Table) -> None:
        spec = PARTS[name]
        if spec.k is None:  # folded while its strings are dictionary-encoded (see fold_counts)
            if REST in spec.schema.names and REST not in table.column_names:
                table = table.append_column(REST, pa.array(np.zeros(table.num_rows, bool)))
            table = conform_part(bound_part(table, spec, self.max_keys), spec)
        else:
            table = canonical_part(conform_part(table, spec), spec, aggregate=False,
                                   keys=self.max_keys)
        super().__setitem__(name, table)

    def count(self, name: str, columns: Mapping[str, pa.Array | pa.ChunkedArray],
              folds: Mapping[str, np.ndarray]) -> None:
        """The count part ``name`` of rows (one a request) keyed by all of ``columns``;
        ``folds``: whether each row's value folds, for some of them (column_hashes')."""
        spec = PARTS[name]
        counted = bounded_counts(columns, spec.group_names, spec.bounded,
                                 spec.bound(self.max_keys), known=folds)
        if counted is None:
            self[name] = _count_part(name, columns, self.max_keys)
        else:
            self.bounded(name, counted)

    def bounded(self, name: str, table: pa.Table) -> None:
        """Holds a count part that is bounded already (analyzer.summary.bounded.bounded_counts)."""
        super().__setitem__(name, conform_part(table, PARTS[name]))


def summarize_rows(table: pa.Table, source: str, client_field: str,
                   max_keys: int = DEFAULT_MAX_KEYS,
                   counted: Mapping[str, pa.Table] | None = None) -> dict[str, pa.Table]:
    """A block's parts (bounded by ``max_keys``: analyzer.summary.bounded); ``counted``: the
    parts of the rows its parser counted itself (analyzer.parse.block.ParsedBlock.counted),
    summarised with the rows as one (their keys are counted, encoded, hashed and bounded once:
    summarising them apart and merging was a quarter of a batch of random virtual hosts)."""
    parts = _Built(max_keys)
    requested = _requested(table, counted or {})
    keys = requested.columns
    if len(keys["status"]) == 0:
        return parts
    status = keys["status"]
    coded = {name: _encoded(keys[name]) for name in _ENDS}  # each value hashed once
    hashes = {name: column_hashes(name, coded[name]) for name in _ENDS}
    rank = pa.array(ranks([hashes[name] for name in _ENDS]))
    columns = {**coded, "status": status, "count": keys["count"], "first": keys["first"],
               "last": keys["last"], "line": keys["line"], "rank": rank}
    folds = {name: hashes[name][1] for name in _ENDS}
    grouped = _requests(parts, columns, [*_ENDS, "status"], folds)
    grouped = _sampled(grouped, "status", grouped["rank_min"], parts, "firsts")
    parts["firsts"] = pa.table({
        **{k: grouped[k] for k in (*_ENDS, "status")},
        "source": pa.array([source] * grouped.num_rows, _S),
        "line": grouped["line_min"],
        "target": _targets_of_lines(keys["line"], keys["target"], grouped["line_min"]),
        "rank": grouped["rank_min"],
    })
    del grouped
    if requested.minutes is not None:
        parts["volume"] = requested.minutes
    # what the reports count: methods at every status, protocols answered 505, unregistered
    # methods answered 501 or 405 (and below, the clients of each class)
    code = _numpy(pc.fill_null(status, 0))
    refused = (code == 501) | (code == 405)
    unregistered = _unregistered(coded["method"])
    sketches = [
        _sketch(status, hashes["method"][0], "method", _numpy(pc.is_valid(coded["method"]))),
        _sketch(status, hashes["protocol"][0], "protocol",
                _numpy(pc.is_valid(coded["protocol"])) & (code == 505)),
        _sketch(status, hashes["method"][0], "unregistered", unregistered & refused),
    ]
    n = table.num_rows  # the table's rows come first among the keys' (_requested)
    classed = np.zeros(len(code), bool)
    classed[:n] = _numpy(pc.fill_null(pc.is_in(status[:n], _CLASS_STATUSES), False))
    if n and client_field == "client" and "client" in table.column_names:
        table = table.select([c for c in table.column_names if c in _CLASSED_COLUMNS])
    every = n == len(code) and bool(classed.all())
    rows = table if every else table.filter(pa.array(classed[:n]))  # chunk by chunk
    clients = _clients(rows, client_field) if n else None  # checks --client-field
    if rows.num_rows and clients is not None:
        kept = pa.array(classed)
        resource_rank = ranks([(h[classed], f[classed]) for h, f in (hashes["vhost"],
                                                                       hashes["method"])])
        encoded = {name: coded[name].filter(kept) for name in _ENDS}
        encoded["client"] = clients
        _summarize_classed(parts, rows, source, encoded, rank.filter(kept),
                           pa.array(resource_rank),
                           {name: fold[classed] for name, fold in folds.items()})
        who = hash_strings(encoded["client"])
        given = _numpy(pc.is_valid(clients))
        at = _column(rows, "status", _I16)
        sketches.append(_sketch(at, who, "client", given))
        sketches.append(_sketch(at, who, "unregistered_client",
                                given & (unregistered & refused)[classed]))
    parts["distinct"] = pa.concat_tables(sketches)
    return parts


class _Requested(NamedTuple):
    """The requests' keys (vhost, method, protocol, status), each key with its ``count``,
    ``first`` and ``last`` times, ``line`` and ``target`` (``columns``); and ``minutes``, the
    requests per minute (None when the format logs no time)."""

    columns: dict[str, pa.Array | pa.ChunkedArray]
    minutes: pa.Table | None


def _requested(table: pa.Table, counted: Mapping[str, pa.Table]) -> _Requested:
    """The requests of ``table``'s rows (one key each), then those of the keys the parser
    counted (``counted``'s requests and firsts, row for row)."""
    n = table.num_rows
    time = _column(table, "time", _TS)
    requests = counted.get("requests")
    minutes = _minute_counts(time) if "time" in table.column_names and n else None
    if requests is None or requests.num_rows == 0:
        return _Requested({**{name: _column(table, name, kind) for name, kind in _KEY},
                           "count": pa.array(np.ones(n, np.int64)), "first": time,
                           "last": time, "line": _column(table, "line", _I64),
                           "target": _column(table, "target", _S)}, minutes)
    firsts = counted["firsts"]
    volume = counted.get("volume")
    if volume is not None:
        # (a batch's blocks each counted their own minutes: a minute may be in several)
        minutes = _volume_of([volume] if minutes is None else [minutes, volume])

    def joined(name: str, kind: pa.DataType, other: pa.Table = requests) -> pa.Array:
        return pa.concat_arrays([_whole(_column(table, name, kind)),
                                 _whole(_column(other, name, kind))])

    return _Requested({
        **{name: joined(name, kind) for name, kind in _KEY},
        "count": pa.concat_arrays([pa.array(np.ones(n, np.int64)),
                                   _whole(_column(requests, "count", _I64))]),
        "first": pa.concat_arrays([_whole(time), _whole(_column(requests, "first", _TS))]),
        "last": pa.concat_arrays([_whole(time), _whole(_column(requests, "last", _TS))]),
        "line": joined("line", _I64, firsts), "target": joined("target", _S, firsts),
    }, minutes)


def _volume_of(volumes: list[pa.Table]) -> pa.Table:
    """Parts of ``volume`` (minute, count) as one, each minute's counts summed (a few hundred
    minutes a batch: in NumPy, since the tables' generic aggregation cost 10 ms)."""
    minute = np.concatenate([_numpy(v["minute"].cast(_I64)) for v in volumes])
    count = np.concatenate([_numpy(v["count"]) for v in volumes])
    minutes, at = np.unique(minute, return_inverse=True)
    summed = np.zeros(len(minutes), np.int64)
    np.add.at(summed, at, count)
    return pa.table({"minute": pa.array(minutes).cast(_TS), "count": pa.array(summed)})


def _whole(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _requests(parts: _Built, columns: Mapping[str, pa.Array | pa.ChunkedArray], keys: list[str],
              folds: Mapping[str, np.ndarray]) -> pa.Table:
    """The requests part of keys with their ``count``, ``first`` and ``last`` times, into
    ``parts``; returns the smallest line and rank of each key's rows (its first request), for
    the keys that part keeps at least."""
    spans = [("count", "sum"), ("first", "min"), ("last", "max")]
    firsts = [("line", "min"), ("rank", "min")]
    spec = PARTS["requests"]
    requests = bounded_counts({k: columns[k] for k in keys}, spec.group_names, spec.bounded,
                              spec.bound(parts.max_keys), count=columns["count"],
                              first=columns["first"], last=columns["last"], known=folds)
    if requests is not None:
        parts.bounded("requests", requests)
    else:
        fold = _folded_whole("requests", columns, parts.max_keys)
        if fold is None:  # one grouping for both parts
            grouped = group_rows(columns, keys, spans + firsts)
            parts["requests"] = _spans(grouped.append_column(
                REST, pa.array(np.zeros(grouped.num_rows, bool))), keys)
            return grouped
        parts["requests"] = _spans(_grouped_with_rest("requests", columns, keys, spans, fold),
                                   keys)
    # the first requests of the keys that part keeps, from their rows alone
    keep = rows_of_smallest([columns["status"]], _numpy(columns["rank"]),
                            PARTS["firsts"].bound(parts.max_keys))
    kept = columns if keep is None else {c: v.filter(keep) for c, v in columns.items()}
    # a key's first request is its row of smallest line (its rank is the key's): the row is
    # picked, not the rows grouped (a few keys of thousands of rows each, on a hostile log)
    first = rows_of_smallest([kept[k] for k in keys], _numpy(kept["line"]), 1)
    picked = {name: kept[name] if first is None else kept[name].filter(first)
              for name in [*keys, "line", "rank"]}
    return pa.table({**{k: picked[k] for k in keys}, "line_min": picked["line"],
                     "rank_min": picked["rank"]})


def _spans(grouped: pa.Table, keys: list[str]) -> pa.Table:
    """The requests part of rows grouped with count, first and last times."""
    return pa.table({
        **{k: grouped[k] for k in keys}, "count": grouped["count_sum"],
        "first": grouped["first_min"], "last": grouped["last_max"], REST: grouped[REST],
    })


def _folded_whole(name: str, columns: Mapping[str, pa.Array | pa.ChunkedArray],
                  max_keys: int) -> np.ndarray | None:
    """The rows a bounded count part would fold whole (analyzer.summary.bounded.folded_whole)."""
    spec = PARTS[name]
    return folded_whole([columns[g] for g in spec.group_names],
                        [columns[b] for b in spec.bounded], spec.bound(max_keys))


def _grouped_with_rest(name: str, columns: Mapping[str, pa.Array | pa.ChunkedArray],
                       keys: list[str], aggregations: list[Any], fold: np.ndarray) -> pa.Table:
    """``group_rows`` with a ``rest`` column: the rows ``fold`` names grouped by their coarse
    keys (as remainder rows), the others by their keys."""
    bounded = PARTS[name].bounded
    stay, gone = pa.array(~fold), pa.array(fold)
    kept = group_rows({c: v.filter(stay) for c, v in columns.items()}, keys, aggregations)
    folded = group_rows({c: coarse(c, v.filter(gone)) if c in bounded else v.filter(gone)
                         for c, v in columns.items()}, keys, aggregations)
    for key in keys:  # a key all null in one of them comes back undecoded (group_rows)
        if kept[key].type != folded[key].type:
            kept, folded = (_dictionary_key(t, key) for t in (kept, folded))
    return pa.concat_tables([
        kept.append_column(REST, pa.array(np.zeros(kept.num_rows, bool))),
        folded.append_column(REST, pa.array(np.ones(folded.num_rows, bool))),
    ])


def _dictionary_key(table: pa.Table, name: str) -> pa.Table:
    """``table`` with its string column ``name`` dictionary-encoded (as group_rows gives it)."""
    column = table[name]
    if pa.types.is_dictionary(column.type):
        return table
    return table.set_column(table.schema.get_field_index(name), name,
                            pc.dictionary_encode(column.cast(_S)))


def _count_part(name: str, columns: Mapping[str, pa.Array | pa.ChunkedArray],
                max_keys: int) -> pa.Table:
    """A count part of rows (one a request) keyed by all of ``columns``."""
    keys = list(columns)
    fold = _folded_whole(name, columns, max_keys)
    if fold is None:
        return count_rows(pa.table(dict(columns)), keys)
    return _grouped_with_rest(name, columns, keys, [([], "count_all")], fold).rename_columns(
        [*keys, "count", REST])


def _unregistered(method: pa.DictionaryArray) -> np.ndarray:
    """Whether each method is given and not in the IANA registry (each distinct one looked up
    once)."""
    if not len(method.dictionary):
        return np.zeros(len(method), bool)
    known = _numpy(pc.is_in(method.dictionary, value_set=_REGISTERED))
    unregistered: np.ndarray = ~known[_numpy(method.indices.fill_null(0))] & _numpy(
        method.is_valid())
    return unregistered


def _sampled(table: pa.Table, group: str, rank: pa.Array | pa.ChunkedArray, parts: _Built,
             name: str) -> pa.Table:
    """The rows of ``table`` whose keys the sample part ``name`` will keep (see
    analyzer.summary.bounded.bound_samples): a sample is built from those rows only."""
    keep = rows_of_smallest([table[group]], _numpy(rank), PARTS[name].bound(parts.max_keys))
    return table if keep is None else table.filter(pa.array(keep))


def _encoded(column: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """A string column dictionary-encoded, in one chunk (one dictionary of distinct values)."""
    return encode_strings(column)


def held_rows(table: pa.Table) -> pa.Table:
    """A parsed block's rows as a Summary's batch holds them until it is summarised: clients
    and user agents dictionary-encoded. A few agents recur on most rows, and they were two
    fifths of the bytes of a batch of random protocols: encoded, the batch's rows are filtered,
    joined and summarised as codes, not copied as strings."""
    for name in _HELD_CODED:
        if name not in table.column_names or not table.num_rows:
            continue
        column = table[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            table = table.set_column(table.schema.get_field_index(name), name,
                                     pa.chunked_array([encode_strings(column.cast(_S))]))
    return table


def _coded(table: pa.Table, name: str) -> pa.DictionaryArray:
    """A string column dictionary-encoded in one chunk; a column encoded block by block
    (:func:`held_rows`) has its blocks' dictionaries made one."""
    column = table[name] if name in table.column_names else None
    if column is None or not pa.types.is_dictionary(column.type) or not len(column):
        return _encoded(_column(table, name, _S))
    coded: pa.DictionaryArray = unified_dictionary(
        pa.chunked_array([c for c in column.chunks if len(c)], type=column.type)
    ).combine_chunks()
    return coded


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    values: np.ndarray = array.to_numpy(zero_copy_only=False)
    return values


def _sketch(status: pa.Array | pa.ChunkedArray, hashes: np.ndarray, what: str,
            where: np.ndarray) -> pa.Table:
    """Rows of the ``distinct`` part: each distinct (status, hash) of the rows ``where`` holds
    (a value given, and what ``what`` counts), named ``what``."""
    rows = np.flatnonzero(where)
    code = _numpy(pc.fill_null(status.cast(_I64), -1))[rows]
    picked = smallest_per_group(code, hashes[rows].view(np.int64), SKETCH_SIZE)  # a merge
    codes = np.concatenate([np.full(len(h), c) for c, h in picked] or [np.zeros(0, np.int64)])
    hashed = np.concatenate([h for _, h in picked] or [np.zeros(0, np.int64)])
    return pa.table({"status": pa.array(codes.astype(np.int16), _I16, mask=codes < 0),
                     "what": pa.array([what] * len(codes), _S), "hash": pa.array(hashed)})


def _targets_of_lines(line: pa.Array, target: pa.Array, wanted: pa.Array) -> pa.Array:
    """The ``target`` of the row of each ``wanted`` ``line`` (a group's first row is its
    smallest line: the rows need not be in line order, see analyzer.parse.block.parse_block's
    in_line_order).

    The rows are probed with the few wanted lines, not the wanted lines looked up among all the
    rows: hashing every line of a 100,000-row batch was a quarter of summarising it.
    """
    found = pa.table({"line": line, "target": target}).filter(pc.is_in(line, value_set=wanted))
    return pc.take(found["target"], pc.index_in(wanted, value_set=found["line"]))


def _minute_counts(time: pa.Array) -> pa.Table:
    counted = pc.value_counts(_floor_minute(time).drop_null())
    return pa.table({"minute": counted.field("values"), "count": counted.field("counts")})


def _clients(table: pa.Table, client_field: str) -> pa.DictionaryArray:
    """The client identity of each row, as chosen by ``--client-field`` (see
    analyzer.verdicts.clients), dictionary-encoded."""
    if client_field == "client" and "client" in table.column_names:
        return _coded(table, "client")
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    identity = client_identity(frame, client_field)
    array = pa.array(identity, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return _encoded(array.cast(_S) if len(array) else pa.array([], _S))


def _summarize_classed(parts: _Built, rows: pa.Table, source: str,
                       coded: dict[str, pa.DictionaryArray], rank: pa.Array,
                       resource_rank: pa.Array, folds: Mapping[str, np.ndarray]) -> None:
    """The parts of the classed rows, into ``parts``; ``coded``: the rows' vhost, method,
    protocol and client, dictionary-encoded once; ``folds``: whether the vhost, method and
    protocol of each row fold."""
    key = {name: _column(rows, name, kind) for name, kind in _KEY}
    clients = coded["client"]
    user_agent = _coded(rows, "user_agent")
    target = _column(rows, "target", _S)
    time = _column(rows, "time", _TS)
    status = key["status"]
    ends = {name: coded[name] for name in _ENDS}

    hits = {"vhost": ends["vhost"], "status": status, "method": ends["method"],
            "protocol": ends["protocol"], "client": clients, "user_agent": user_agent}
    parts.count("hits", hits, folds)

    if "time" in rows.column_names:
        minute = _floor_minute(time)
        valid = pc.is_valid(minute)
        minutes = pa.table({"minute": minute, "status": status, "method": ends["method"],
                            "protocol": ends["protocol"]}).filter(valid)
        valid_folds = {name: folds[name][_numpy(valid)] for name in ("method", "protocol")}
        parts.count("minutes", dict(zip(minutes.column_names, minutes.columns, strict=True)),
                    valid_folds)

    examples = _sampled(pa.table({
        **key,
        "line": _column(rows, "line", _I64),
        "time": time, "client": clients, "target": target,
        "request": _column(rows, "request", _S), "rank": rank,
    }), "status", rank, parts, "examples")
    # the part keeps a key's first rows: the others go before the rows are sorted
    first = rows_of_smallest([examples[name] for name, _ in _KEY], _numpy(examples["line"]),
                             EXAMPLES_PER_GROUP)
    if first is not None:
        examples = examples.filter(first)
    parts["examples"] = examples.append_column(
        "source", pa.array([source] * examples.num_rows, _S)).set_column(
        examples.schema.get_field_index("client"), "client", examples["client"].cast(_S))
    del examples

    located = _sampled(pa.table({"vhost": ends["vhost"], "status": status,
                                 "method": ends["method"], "target": target,
                                 "rank": resource_rank}), "status", resource_rank, parts,
                       "resources")
    # the rows of the resources each key keeps, found from hashes of the targets' paths (the
    # part keeps the smallest hashes): the paths encoded, each distinct one cut and hashed once
    resource = encode_strings(located["target"], ord("?"))
    path_hash = hash_strings(resource).view(np.int64)
    keep = rows_of_smallest([located["vhost"], located["status"], located["method"]], path_hash,
                            RESOURCES_PER_GROUP)
    if keep is not None:
        located, resource = located.filter(keep), resource.filter(keep)
    by_resource = _resource_counts(located, resource)
    parts["resources"] = by_resource.append_column("hash", _stable_hash(by_resource["resource"]))

    if "allow" in rows.column_names:
        allow = {"vhost": ends["vhost"], "status": status, "method": ends["method"],
                 "allow": _column(rows, "allow", _S)}
        parts.count("allow", allow, folds)


def _resource_counts(located: pa.Table, resource: pa.DictionaryArray) -> pa.Table:
    """The requests of each (vhost, status, method, resource) and the smallest rank among
    them: counted by the native kernel as keys of no bound, with ranks (never negative) as
    the times whose minimum it keeps; else grouped by Arrow."""
    keys = ["vhost", "status", "method", "resource"]
    columns = {"vhost": located["vhost"], "status": located["status"],
               "method": located["method"], "resource": resource}
    counted = bounded_counts(columns, keys, [], 1, time=located["rank"])
    if counted is not None:
        return counted.select([*keys, "count", "first"]).rename_columns([*keys, "count", "rank"])
    return group_rows({**columns, "rank": located["rank"]}, keys,
                      [([], "count_all"), ("rank", "min")]).rename_columns([*keys, "count", "rank"])


def summarize_rejects(rejects: pa.Table, source: str) -> dict[str, pa.Table]:
    if rejects.num_rows == 0:
        return {}
    reasons = rejects.group_by(["reason"], use_threads=False).aggregate([([], "count_all")])
    first = rejects.slice(0, REJECT_EXAMPLES)
    return {
        "rejects": pa.table({
            "source": pa.array([source] * reasons.num_rows, _S),
            "reason": reasons["reason"], "count": reasons["count_all"],
        }),
        "reject_examples": pa.table({
            "source": pa.array([source] * first.num_rows, _S),
            "line": first["line"], "reason": first["reason"], "text": first["text"],
        }),
    }


def source_row(
    source: str, fmt: str, detection: str | None, server: str | None, lines: int, parsed: int,
    rejected: int, order: int,
) -> pa.Table:
    return pa.table({
        "source": [source], "format": [fmt], "detection": pa.array([detection], _S),
        "server": pa.array([server], _S), "lines": pa.array([lines], _I64),
        "parsed": pa.array([parsed], _I64), "rejected": pa.array([rejected], _I64),
        "order": pa.array([order], _I64),
    })


def _floor_minute(time: pa.Array) -> pa.Array:
    micros = time.cast(_I64)
    # integer division truncates towards zero: only times before 1970 need the slow way
    if pc.min(micros).as_py() is not None and pc.min(micros).as_py() < 0:
        return pc.floor_temporal(time, unit="minute")
    return pc.multiply(pc.divide(micros, _MINUTE_US), _MINUTE_US).cast(_TS)


def _stable_hash(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A 64-bit hash of each string that is the same in every process (unlike ``hash``)."""
    return as_int64(hash_strings(values))


# -- frames ------------------------------------------------------------------------------------

def frame_table(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if "line" not in table.column_names:
        table = table.append_column("line", pa.array(np.arange(1, len(frame) + 1), _I64))
    if "time" in table.column_names and table["time"].type != _TS:
        time = table["time"]
        if pa.types.is_timestamp(time.type) and time.type.tz is None:
            time = pc.assume_timezone(time, "UTC")
        table = table.set_column(table.column_names.index("time"), "time", time.cast(_TS))
    return table


def in_line_order(table: pa.Table) -> pa.Table:
    line = table["line"].to_numpy()
    if len(line) > 1 and (np.diff(line) < 0).any():
        return table.sort_by([("line", "ascending")])
    return table


def long_schema() -> pa.Schema:
    fields: dict[str, pa.DataType] = {"part": _S}
    for spec in PARTS.values():
        for field in spec.schema:
            fields.setdefault(field.name, field.type)
    return pa.schema(list(fields.items()))
