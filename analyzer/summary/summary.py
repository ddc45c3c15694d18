"""``Summary``: the mergeable counts that every report is computed from (DESIGN.md section 1).

A Summary is a handful of small Arrow tables ("parts"). Count parts hold grouped counts; sample
parts hold a bounded number of rows per group, chosen deterministically (the smallest
``(source, line)`` or the smallest hash), so that

    summarize(A + B) == summarize(A).merge(summarize(B)) == summarize(B).merge(summarize(A))

for any split of a log into pieces: ``merge`` is associative and commutative, and verdicts are
computed from the merged counts only (``analyzer.verdicts.classify``), never per block.

Parts (keys -> values):

==================  ==========================================================  ================
part                keys                                                        values
==================  ==========================================================  ================
``sources``         source, format, detection, server                           lines, parsed,
                                                                                rejected, order
``requests``        vhost, method, protocol, status                             count, first,
                                                                                last
``firsts``          vhost, method, protocol, status (1 per group)               source, line,
                                                                                target
``hits``            vhost, status, method, protocol, client, user_agent         count
``minutes``         minute, status, method, protocol                            count
``volume``          minute                                                      count
``examples``        vhost, status, method, protocol (5 per group)               source, line,
                                                                                time, client,
                                                                                target, request
``resources``       vhost, status, method (64 per group, smallest hash)         resource, hash,
                                                                                count
``allow``           vhost, status, method, allow                                count
``rejects``         source, reason                                              count
``reject_examples`` (20 in all)                                                 source, line,
                                                                                reason, text
==================  ==========================================================  ================

``hits``, ``minutes``, ``examples``, ``resources`` and ``allow`` hold only the requests of a class
(status 501, 405 or 505): the rest of a log is counted in ``requests`` and ``volume`` alone.
Every part is built with Arrow grouped aggregations over whole blocks, never per row in Python.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import AnalyzerError
from ..parse.block import ParsedBlock
from ..verdicts.clients import client_identity
from ..vocabulary import CLASS_BY_STATUS

__all__ = [
    "SUMMARY_SCHEMA",
    "Summary",
    "summary_columns",
]

SUMMARY_SCHEMA = "logscan.summary/1"

EXAMPLES_PER_GROUP = 5
RESOURCES_PER_GROUP = 64
REJECT_EXAMPLES = 20

_S = pa.string()
_I16 = pa.int16()
_I64 = pa.int64()
_TS = pa.timestamp("us", tz="UTC")
_CLASS_STATUSES = pa.array(sorted(CLASS_BY_STATUS), _I16)
_MINUTE_US = 60_000_000
_GROUP_ROWS = 1 << 17  # rows of a part grouped at once when merging (see _partitions)
# what the parts of classed rows read (other client fields need every column: see _clients)
_CLASSED_COLUMNS = frozenset(
    {"line", "vhost", "status", "method", "protocol", "client", "user_agent", "target", "time",
     "request", "allow"}
)


def summary_columns(client_field: str = "client") -> frozenset[str] | None:
    """The parsed columns a Summary reads, for :func:`analyzer.parse.block.parse_block`'s projection
    (None: every column, since another ``client_field`` may name any of them)."""
    return _CLASSED_COLUMNS if client_field == "client" else None


@dataclass(frozen=True)
class _Part:
    """How one part is typed and merged."""

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


_KEY = (("vhost", _S), ("status", _I16), ("method", _S), ("protocol", _S))
_WHERE = (("source", _S), ("line", _I64))

PARTS: dict[str, _Part] = {
    "sources": _Part(
        keys=(("source", _S), ("format", _S), ("detection", _S), ("server", _S)),
        sums=("lines", "parsed", "rejected"),
        mins=(("order", _I64),),
    ),
    "requests": _Part(
        keys=(("vhost", _S), ("method", _S), ("protocol", _S), ("status", _I16)),
        sums=("count",),
        mins=(("first", _TS),),
        maxs=(("last", _TS),),
    ),
    "firsts": _Part(
        keys=(("vhost", _S), ("method", _S), ("protocol", _S), ("status", _I16)),
        order=_WHERE,
        values=(("target", _S),),
        k=1,
    ),
    # a user agent is ~100 bytes, and the same few recur on the part's many rows: held as
    # strings, the part was the largest thing in memory on a long log (65 MB at 20M lines)
    "hits": _Part(keys=(*_KEY, ("client", _S), ("user_agent", _S)), sums=("count",),
                  coded=("user_agent",)),
    "minutes": _Part(
        keys=(("minute", _TS), ("status", _I16), ("method", _S), ("protocol", _S)),
        sums=("count",),
    ),
    "volume": _Part(keys=(("minute", _TS),), sums=("count",)),
    "examples": _Part(
        keys=_KEY,
        order=_WHERE,
        values=(("time", _TS), ("client", _S), ("target", _S), ("request", _S)),
        k=EXAMPLES_PER_GROUP,
    ),
    "resources": _Part(
        keys=(("vhost", _S), ("status", _I16), ("method", _S)),
        order=(("hash", _I64), ("resource", _S)),
        sums=("count",),
        k=RESOURCES_PER_GROUP,
    ),
    "allow": _Part(
        keys=(("vhost", _S), ("status", _I16), ("method", _S), ("allow", _S)), sums=("count",)
    ),
    "rejects": _Part(keys=(("source", _S), ("reason", _S)), sums=("count",)),
    "reject_examples": _Part(
        keys=(), order=_WHERE, values=(("reason", _S), ("text", _S)), k=REJECT_EXAMPLES
    ),
}


#: The parts that name a line of a source (``source``, ``line``): all of them sample parts.
LINE_PARTS: tuple[str, ...] = tuple(
    name for name, spec in PARTS.items() if {"source", "line"} <= set(spec.schema.names)
)
assert all(PARTS[name].k is not None for name in LINE_PARTS)


class Summary:
    """Mergeable counts of one or more logs, or of any piece of one.

    Build one with :meth:`from_table` (a parsed block's Arrow table), :meth:`from_block`,
    :meth:`from_frame` (a canonical pandas frame); combine with :meth:`merge`; store with
    :meth:`to_arrow` / :meth:`to_dict` and load with :meth:`from_arrow` / :meth:`from_dict`.
    """

    # Count parts are sorted into their canonical order when first read, not when built or
    # merged: a long input is merged many times and read once, and sorting the largest part
    # (hits) at every merge cost as much time as the merge and a copy of it in memory.
    __slots__ = ("_parts", "_unsorted")

    def __init__(self, parts: Mapping[str, pa.Table] | None = None, *, grouped: bool = False
                 ) -> None:
        """``parts`` by name (missing parts are empty); ``grouped`` says that each count part
        already has one row per key (as the builders make them), so it is not aggregated."""
        given = dict(parts or {})
        unknown = set(given) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown summary parts: {sorted(unknown)}")
        self._parts: dict[str, pa.Table] = {}
        self._unsorted: set[str] = set()
        for name, spec in PARTS.items():
            if name not in given:
                self._parts[name] = spec.held_schema.empty_table()
            elif spec.k is None:
                table = _conform(given[name], spec)
                self._parts[name] = table if grouped else _aggregate(table, spec)
                self._unsorted.add(name)
            else:
                self._parts[name] = _canonical(_conform(given[name], spec), spec,
                                               aggregate=not grouped)

    # -- access ---------------------------------------------------------------------------------
    @property
    def parts(self) -> dict[str, pa.Table]:
        """The part tables, by name (see the module docstring)."""
        return {name: self.part(name) for name in PARTS}

    def part(self, name: str) -> pa.Table:
        """One part, in its canonical order (sorted by its keys), of the part's schema."""
        if name in self._unsorted:
            self._parts[name] = _sorted(self._parts[name], PARTS[name])
            self._unsorted.discard(name)
        return _decoded(self._parts[name], PARTS[name])

    def with_parts(self, changed: Mapping[str, pa.Table]) -> Summary:
        """This summary with some sample parts replaced (each already in canonical order, as
        :func:`analyzer.pipeline.shift_lines` keeps them); the other parts are shared."""
        if any(PARTS[name].k is None for name in changed):
            raise ValueError("with_parts replaces sample parts only")
        replaced = Summary.__new__(Summary)
        replaced._parts = {**self._parts, **changed}
        replaced._unsorted = set(self._unsorted)
        return replaced

    @property
    def num_rows(self) -> int:
        return sum(t.num_rows for t in self._parts.values())

    @property
    def requests(self) -> int:
        return _total(self._parts["requests"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Summary):
            return NotImplemented
        return all(self.part(n).equals(other.part(n)) for n in PARTS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={t.num_rows}" for n, t in self._parts.items() if t.num_rows)
        return f"Summary({self.requests} requests; {sizes or 'empty'})"

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def empty(cls) -> Summary:
        return cls()

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        *,
        source: str = "-",
        client_field: str = "client",
        since: datetime | None = None,
        until: datetime | None = None,
        order: int = 0,
    ) -> Summary:
        """Summarise one source's parsed rows (``line`` plus canonical columns), in any order.

        The ``sources`` part counts the rows as lines and parsed lines; :meth:`from_block` counts
        the block's lines and rejects instead.
        """
        counted = table.num_rows
        table = _window(table, since, until)
        parts = _summarize_rows(table, source, client_field)
        parts["sources"] = _source_row(source, "", None, None, counted, counted, 0, order)
        return cls(parts, grouped=True)

    @classmethod
    def from_block(
        cls,
        block: ParsedBlock,
        *,
        format: str = "",
        detection: str | None = None,
        server: str | None = None,
        order: int = 0,
        client_field: str = "client",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Summary:
        """Summarise a parsed block: its rows (inside the window), its rejects, its line count.

        ``format``, ``detection`` and ``server`` describe the block's source; ``order`` is the
        source's position among the inputs (reports list sources in that order).
        """
        table = _window(block.table, since, until)
        parts = _summarize_rows(table, block.source, client_field)
        parts["sources"] = _source_row(
            block.source, format, detection, server, block.lines, block.table.num_rows,
            block.rejects.num_rows, order,
        )
        parts.update(_summarize_rejects(block.rejects, block.source))
        return cls(parts, grouped=True)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        client_field: str = "client",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Summary:
        """Summarise a canonical frame (``analyzer.read_log``), one summary per ``source``."""
        table = _frame_table(frame)
        if "source" not in table.column_names:
            return cls.from_table(table, source="-", client_field=client_field, since=since,
                                  until=until)
        sources = table["source"]
        pieces = []
        for position, name in enumerate(pc.unique(sources).to_pylist()):
            mask = pc.is_null(sources) if name is None else pc.equal(sources, name)
            rows = table.filter(mask).drop_columns(["source"])
            rows = _in_line_order(rows)
            pieces.append(cls.from_table(rows, source=name or "-", client_field=client_field,
                                         since=since, until=until, order=position))
        return cls.merge_all(pieces)

    # -- merging --------------------------------------------------------------------------------
    def merge(self, *others: Summary) -> Summary:
        """The summary of all that ``self`` and ``others`` summarise (associative, commutative)."""
        return Summary.merge_all([self, *others])

    @classmethod
    def merge_all(cls, summaries: Iterable[Summary]) -> Summary:
        """Merge any number of summaries at once (one grouped aggregation per part)."""
        items = list(summaries)
        if len(items) == 1:
            return items[0]
        merged = cls.__new__(cls)
        merged._parts = {
            name: _merge_part([s._parts[name] for s in items], spec)
            for name, spec in PARTS.items()
        }
        merged._unsorted = {name for name, spec in PARTS.items() if spec.k is None}
        return merged

    # -- serialising ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps as integer microseconds since the epoch, UTC)."""
        parts = {}
        for name, table in self.parts.items():
            columns = {}
            for field in table.schema:
                column = table[field.name]
                if pa.types.is_timestamp(field.type):
                    column = column.cast(_I64)
                columns[field.name] = column.to_pylist()
            parts[name] = columns
        return {"schema": SUMMARY_SCHEMA, "parts": parts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        if data.get("schema") != SUMMARY_SCHEMA:
            raise ValueError(f"not a {SUMMARY_SCHEMA} dict: schema={data.get('schema')!r}")
        parts = {}
        for name, columns in data["parts"].items():
            spec = PARTS[name]
            arrays = []
            for field in spec.schema:
                values = columns[field.name]
                if pa.types.is_timestamp(field.type):
                    arrays.append(pa.array(values, _I64).cast(field.type))
                else:
                    arrays.append(pa.array(values, field.type))
            parts[name] = pa.Table.from_arrays(arrays, schema=spec.schema)
        return cls(parts)

    def to_arrow(self) -> pa.Table:
        """All parts in one long table (a ``part`` column plus the union of the columns), for
        Parquet: ``pyarrow.parquet.write_table(summary.to_arrow(), path)``."""
        schema = _long_schema()
        tables = []
        for name, table in self.parts.items():
            columns = [
                pa.array([name] * table.num_rows, _S) if f.name == "part"
                else (table[f.name] if f.name in table.column_names
                      else pa.nulls(table.num_rows, f.type))
                for f in schema
            ]
            tables.append(pa.Table.from_arrays(columns, schema=schema))
        return pa.concat_tables(tables)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Summary:
        parts = {}
        for name, spec in PARTS.items():
            rows = table.filter(pc.equal(table["part"], name))
            parts[name] = rows.select(spec.schema.names)
        return cls(parts)


# -- building parts ----------------------------------------------------------------------------

def _window(table: pa.Table, since: datetime | None, until: datetime | None) -> pa.Table:
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


def _summarize_rows(table: pa.Table, source: str, client_field: str) -> dict[str, pa.Table]:
    n = table.num_rows
    if n == 0:
        return {}
    status = _column(table, "status", _I16)
    keys = {
        "vhost": _column(table, "vhost", _S),
        "method": _column(table, "method", _S),
        "protocol": _column(table, "protocol", _S),
        "status": status,
    }
    time = _column(table, "time", _TS)
    line = _column(table, "line", _I64)
    grouped = _group(
        {**keys, "time": time, "line": line}, list(keys),
        [([], "count_all"), ("time", "min"), ("time", "max"), ("line", "min")],
    )
    parts = {
        "requests": pa.table({
            **{k: grouped[k] for k in keys},
            "count": grouped["count_all"], "first": grouped["time_min"],
            "last": grouped["time_max"],
        }),
        "firsts": pa.table({
            **{k: grouped[k] for k in keys},
            "source": pa.array([source] * grouped.num_rows, _S),
            "line": grouped["line_min"],
            "target": _targets_of_lines(table, line, grouped["line_min"]),
        }),
    }
    if "time" in table.column_names:
        parts["volume"] = _minute_counts(time)

    classed = pc.fill_null(pc.is_in(status, _CLASS_STATUSES), False)
    if client_field == "client" and "client" in table.column_names:
        table = table.select([c for c in table.column_names if c in _CLASSED_COLUMNS])
    rows = table.filter(classed)  # chunk by chunk: cheaper than a take across chunks
    clients = _clients(rows, client_field)  # checks --client-field even without classed rows
    if rows.num_rows:
        parts.update(_summarize_classed(rows, source, clients))
    return parts


def _targets_of_lines(table: pa.Table, line: pa.ChunkedArray | pa.Array, wanted: pa.Array
                      ) -> pa.Array:
    """The target of the row of each ``wanted`` line (a group's first row is its smallest line:
    the rows need not be in line order, see analyzer.parse.block.parse_block's in_line_order).

    The rows are probed with the few wanted lines, not the wanted lines looked up among all the
    rows: hashing every line of a 100,000-row batch was a quarter of summarising it.
    """
    target = _column(table, "target", _S)
    found = pa.table({"line": line, "target": target}).filter(pc.is_in(line, value_set=wanted))
    return pc.take(found["target"], pc.index_in(wanted, value_set=found["line"]))


def _minute_counts(time: pa.Array) -> pa.Table:
    counted = pc.value_counts(_floor_minute(time).drop_null())
    return pa.table({"minute": counted.field("values"), "count": counted.field("counts")})


def _clients(table: pa.Table, client_field: str) -> pa.Array:
    """The client identity of each row, as chosen by ``--client-field`` (see
    analyzer.verdicts.clients)."""
    if client_field == "client" and "client" in table.column_names:
        return _column(table, "client", _S)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    identity = client_identity(frame, client_field)
    array = pa.array(identity, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    return array.cast(_S) if len(array) else pa.array([], _S)


def _summarize_classed(rows: pa.Table, source: str, clients: pa.Array) -> dict[str, pa.Table]:
    n = rows.num_rows
    key = {name: _column(rows, name, kind) for name, kind in _KEY}
    user_agent = _column(rows, "user_agent", _S)
    target = _column(rows, "target", _S)
    time = _column(rows, "time", _TS)
    parts: dict[str, pa.Table] = {}

    hits = pa.table({**key, "client": clients, "user_agent": user_agent})
    parts["hits"] = _count(hits, list(hits.column_names))

    if "time" in rows.column_names:
        minute = _floor_minute(time)
        minutes = pa.table({"minute": minute, **{k: key[k] for k in ("status", "method",
                                                                     "protocol")}})
        parts["minutes"] = _count(minutes.filter(pc.is_valid(minute)), minutes.column_names)

    parts["examples"] = pa.table({
        **key,
        "source": pa.array([source] * n, _S),
        "line": _column(rows, "line", _I64),
        "time": time, "client": clients, "target": target,
        "request": _column(rows, "request", _S),
    })

    resource = pc.replace_substring_regex(target, r"(?s)\?.*$", "")
    by_resource = _count(
        pa.table({"vhost": key["vhost"], "status": key["status"], "method": key["method"],
                  "resource": resource}),
        ["vhost", "status", "method", "resource"],
    )
    parts["resources"] = by_resource.append_column("hash", _stable_hash(by_resource["resource"]))

    if "allow" in rows.column_names:
        allow = pa.table({"vhost": key["vhost"], "status": key["status"],
                          "method": key["method"], "allow": _column(rows, "allow", _S)})
        parts["allow"] = _count(allow, allow.column_names)
    return parts


def _summarize_rejects(rejects: pa.Table, source: str) -> dict[str, pa.Table]:
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


def _source_row(
    source: str, fmt: str, detection: str | None, server: str | None, lines: int, parsed: int,
    rejected: int, order: int,
) -> pa.Table:
    return pa.table({
        "source": [source], "format": [fmt], "detection": pa.array([detection], _S),
        "server": pa.array([server], _S), "lines": pa.array([lines], _I64),
        "parsed": pa.array([parsed], _I64), "rejected": pa.array([rejected], _I64),
        "order": pa.array([order], _I64),
    })


def _count(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    columns = {name: table[name] for name in table.column_names}
    counted = _group(columns, list(keys), [([], "count_all")])
    return counted.rename_columns([*keys, "count"])


def _group(
    columns: Mapping[str, pa.Array | pa.ChunkedArray], keys: list[str], aggregations: list[Any]
) -> pa.Table:
    """``group_by(keys).aggregate(aggregations)``, keys first; key columns that are all null
    (a field the format does not log) are left out of the hashing and added back as nulls."""
    table = pa.table(dict(columns))
    used = [k for k in keys if table[k].null_count < table.num_rows or table.num_rows == 0]
    if not used:
        used = keys[:1]
    grouped = table.group_by(used, use_threads=False).aggregate(aggregations)
    names = [c for c in grouped.column_names if c not in used]
    out = {}
    for key in keys:
        out[key] = grouped[key] if key in used else pa.nulls(grouped.num_rows, table[key].type)
    for name in names:
        out[name] = grouped[name]
    return pa.table(out)


def _floor_minute(time: pa.Array) -> pa.Array:
    micros = time.cast(_I64)
    # integer division truncates towards zero: only times before 1970 need the slow way
    if pc.min(micros).as_py() is not None and pc.min(micros).as_py() < 0:
        return pc.floor_temporal(time, unit="minute")
    return pc.multiply(pc.divide(micros, _MINUTE_US), _MINUTE_US).cast(_TS)


def _stable_hash(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A 64-bit hash of each string that is the same in every process (unlike ``hash``)."""
    return pa.array([_hash_one(value) for value in values.to_pylist()], _I64)


@lru_cache(maxsize=1 << 16)
def _hash_one(value: str | None) -> int:
    data = b"\x00" if value is None else b"\x01" + value.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


# -- merging parts ----------------------------------------------------------------------------

def _conform(table: pa.Table, spec: _Part) -> pa.Table:
    """The table with exactly the part's columns, in order, of the part's types (as held:
    ``coded`` columns dictionary-encoded)."""
    schema = spec.held_schema
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


def _merge_part(tables: list[pa.Table], spec: _Part) -> pa.Table:
    """The part of merged summaries: count parts aggregated (sorted when read), sample parts
    in canonical order."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return spec.held_schema.empty_table()
    if len(tables) == 1:
        return tables[0]
    if spec.k is None:
        return _aggregate(pa.concat_tables(tables), spec)
    return _canonical(pa.concat_tables(tables), spec)


def _aggregate(table: pa.Table, spec: _Part) -> pa.Table:
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
        coded = coded.set_column(index, name, _unified(coded[name]))
    for name in group:
        if pa.types.is_string(table.schema.field(name).type):
            index = coded.schema.get_field_index(name)
            coded = coded.set_column(index, name, pc.dictionary_encode(coded[name]))
    table = pa.concat_tables([
        part.group_by(group, use_threads=False).aggregate(aggregations)
        for part in _partitions(coded, group)
    ])
    table = table.rename_columns(
        [c.rsplit("_", 1)[0] if c not in group else c for c in table.column_names]
    )
    return _conform(table, spec)


def _partitions(table: pa.Table, keys: list[str]) -> Iterator[pa.Table]:
    """``table`` in pieces of about ``_GROUP_ROWS`` rows that share no key, to be grouped one
    at a time: Arrow's grouper holds about 110 bytes a group besides its input and output (one
    merge of the hits part of the 20,000,000-line log, 494k groups: 54 MB at once).

    Rows go by the code of their dictionary-encoded key with the most values (equal keys have
    equal codes, so a group stays in one piece)."""
    count = -(-table.num_rows // _GROUP_ROWS)
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


def _unified(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary column's chunks re-coded over one dictionary, the union of theirs.

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


def _sorted(table: pa.Table, spec: _Part) -> pa.Table:
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


def _decoded(table: pa.Table, spec: _Part) -> pa.Table:
    """A part as held, with its coded columns back as strings."""
    for name in spec.coded:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(_S))
    return table


def _canonical(table: pa.Table, spec: _Part, *, aggregate: bool = True) -> pa.Table:
    """A sample part: aggregated (when it counts too), sorted by keys, cut to k per group."""
    if aggregate and spec.counts:
        table = _aggregate(table, spec)
    table = _sorted(table, spec)
    return _head_per_group(table, spec.key_names, spec.k) if spec.k is not None else table


def _head_per_group(table: pa.Table, keys: list[str], k: int) -> pa.Table:
    """The first ``k`` rows of each group of a table sorted by ``keys``."""
    n = table.num_rows
    if n <= k:
        return table
    if not keys:
        return table.slice(0, k)
    starts = np.zeros(n, dtype=bool)
    starts[0] = True
    for key in keys:
        column = table[key].combine_chunks()
        after, before = column.slice(1), column.slice(0, n - 1)
        same = pc.or_(pc.fill_null(pc.equal(after, before), False),
                      pc.and_(pc.is_null(after), pc.is_null(before)))
        starts[1:] |= ~same.to_numpy(zero_copy_only=False)
    first = np.flatnonzero(starts)
    position = np.arange(n) - first[np.cumsum(starts) - 1]
    return table.filter(pa.array(position < k))


def _total(table: pa.Table) -> int:
    return int(pc.sum(table["count"]).as_py() or 0) if table.num_rows else 0


# -- frames ------------------------------------------------------------------------------------

def _frame_table(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if "line" not in table.column_names:
        table = table.append_column("line", pa.array(np.arange(1, len(frame) + 1), _I64))
    if "time" in table.column_names and table["time"].type != _TS:
        time = table["time"]
        if pa.types.is_timestamp(time.type) and time.type.tz is None:
            time = pc.assume_timezone(time, "UTC")
        table = table.set_column(table.column_names.index("time"), "time", time.cast(_TS))
    return table


def _in_line_order(table: pa.Table) -> pa.Table:
    line = table["line"].to_numpy()
    if len(line) > 1 and (np.diff(line) < 0).any():
        return table.sort_by([("line", "ascending")])
    return table


def _long_schema() -> pa.Schema:
    fields: dict[str, pa.DataType] = {"part": _S}
    for spec in PARTS.values():
        for field in spec.schema:
            fields.setdefault(field.name, field.type)
    return pa.schema(list(fields.items()))
