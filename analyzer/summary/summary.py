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
                                                                                target, rank
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

Bounds (:mod:`analyzer.summary.bounded`): the values that clients write (vhost, method,
protocol, client, user agent, Allow) keep at most K keys (``max_keys``) per status in
``requests``, ``hits`` and ``allow``, and at most 8 per minute and status in ``minutes``; the
rest is folded into exact remainder rows (a boolean ``rest`` key column). ``firsts``,
``examples`` and ``resources`` keep at most 256 keys per status, the smallest ``rank``. The
``distinct`` part holds KMV sketches (status, what, hash) that count distinct methods,
protocols and clients. So the merge is exactly associative and commutative while no group
exceeds its bound, and within the Misra–Gries bound otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..parse.block import ParsedBlock
from .bounded import DEFAULT_MAX_KEYS, REST
from .parts import (
    PARTS,
    frame_table,
    in_line_order,
    long_schema,
    rows_in_window,
    source_row,
    summarize_rejects,
    summarize_rows,
)
from .table import (
    aggregate_part,
    bound_part,
    canonical_part,
    conform_part,
    decode_part,
    merge_parts,
    sort_part,
    total_count,
)

__all__ = ["SUMMARY_SCHEMA", "Summary"]

SUMMARY_SCHEMA = "logscan.summary/1"
_S = pa.string()
_I64 = pa.int64()


class Summary:
    """Mergeable counts of one or more logs, or of any piece of one.

    Build one with :meth:`from_table` (a parsed block's Arrow table), :meth:`from_block`,
    :meth:`from_frame` (a canonical pandas frame); combine with :meth:`merge`; store with
    :meth:`to_arrow` / :meth:`to_dict` and load with :meth:`from_arrow` / :meth:`from_dict`.
    """

    # Count parts are sorted into their canonical order when first read, not when built or
    # merged: a long input is merged many times and read once, and sorting the largest part
    # (hits) at every merge cost as much time as the merge and a copy of it in memory.
    __slots__ = ("_keys", "_parts", "_unsorted")

    def __init__(self, parts: Mapping[str, pa.Table] | None = None, *, grouped: bool = False,
                 max_keys: int = DEFAULT_MAX_KEYS) -> None:
        """``parts`` by name (missing parts are empty); ``grouped`` says that each count part
        already has one row per key (as the builders make them), so it is not aggregated.
        ``max_keys`` is K, the keys each group of a bounded part keeps (module docstring)."""
        given = dict(parts or {})
        unknown = set(given) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown summary parts: {sorted(unknown)}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self._keys = max_keys
        self._parts: dict[str, pa.Table] = {}
        self._unsorted: set[str] = set()
        for name, spec in PARTS.items():
            if name not in given:
                self._parts[name] = spec.held_schema.empty_table()
            elif spec.k is None:
                table = conform_part(given[name], spec)
                table = table if grouped else aggregate_part(table, spec)
                self._parts[name] = bound_part(table, spec, max_keys)
                self._unsorted.add(name)
            else:
                self._parts[name] = canonical_part(conform_part(given[name], spec), spec,
                                                   aggregate=not grouped, keys=max_keys)

    # -- access ---------------------------------------------------------------------------------
    @property
    def max_keys(self) -> int:
        """K: the keys each group of a bounded part keeps (the rest is folded, exactly counted,
        into its remainder rows)."""
        return self._keys

    @property
    def parts(self) -> dict[str, pa.Table]:
        """The part tables, by name (see the module docstring)."""
        return {name: self.part(name) for name in PARTS}

    def part(self, name: str) -> pa.Table:
        """One part, in its canonical order (sorted by its keys), of the part's schema."""
        if name in self._unsorted:
            self._parts[name] = sort_part(self._parts[name], PARTS[name])
            self._unsorted.discard(name)
        return decode_part(self._parts[name], PARTS[name])

    def with_parts(self, changed: Mapping[str, pa.Table]) -> Summary:
        """This summary with some sample parts replaced (each already in canonical order, as
        :func:`analyzer.pipeline.shift_lines` keeps them); the other parts are shared."""
        if any(PARTS[name].k is None for name in changed):
            raise ValueError("with_parts replaces sample parts only")
        replaced = Summary.__new__(Summary)
        replaced._keys = self._keys
        replaced._parts = {**self._parts, **changed}
        replaced._unsorted = set(self._unsorted)
        return replaced

    @property
    def num_rows(self) -> int:
        return sum(t.num_rows for t in self._parts.values())

    @property
    def requests(self) -> int:
        return total_count(self._parts["requests"])

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
    def empty(cls, *, max_keys: int = DEFAULT_MAX_KEYS) -> Summary:
        return cls(max_keys=max_keys)

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
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> Summary:
        """Summarise one source's parsed rows (``line`` plus canonical columns), in any order.

        The ``sources`` part counts the rows as lines and parsed lines; :meth:`from_block` counts
        the block's lines and rejects instead.
        """
        counted = table.num_rows
        table = rows_in_window(table, since, until)
        parts = summarize_rows(table, source, client_field, max_keys)
        parts["sources"] = source_row(source, "", None, None, counted, counted, 0, order)
        return cls._built(parts, max_keys)

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
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> Summary:
        """Summarise a parsed block: its rows (inside the window), its rejects, its line count.

        ``format``, ``detection`` and ``server`` describe the block's source; ``order`` is the
        source's position among the inputs (reports list sources in that order).
        """
        table = rows_in_window(block.table, since, until)
        if block.counted and (since is not None or until is not None):
            raise ValueError("rows counted by the parser cannot be put in a time window")
        parts = summarize_rows(table, block.source, client_field, max_keys, block.counted)
        parts["sources"] = source_row(
            block.source, format, detection, server, block.lines, block.parsed,
            block.rejects.num_rows, order,
        )
        for name, rows in summarize_rejects(block.rejects, block.source).items():
            parts[name] = rows
        return cls._built(parts, max_keys)

    @classmethod
    def _built(cls, parts: Mapping[str, pa.Table], max_keys: int) -> Summary:
        """A Summary of parts as summarize_rows builds them: conformed, aggregated and bounded
        already (analyzer.summary.parts), so taken as they are."""
        built = cls.__new__(cls)
        built._keys = max_keys
        built._parts = {name: parts[name] if name in parts else spec.held_schema.empty_table()
                        for name, spec in PARTS.items()}
        built._unsorted = {name for name, spec in PARTS.items() if spec.k is None}
        return built

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        client_field: str = "client",
        since: datetime | None = None,
        until: datetime | None = None,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> Summary:
        """Summarise a canonical frame (``analyzer.read_log``), one summary per ``source``."""
        table = frame_table(frame)
        if "source" not in table.column_names:
            return cls.from_table(table, source="-", client_field=client_field, since=since,
                                  until=until, max_keys=max_keys)
        sources = table["source"]
        pieces = []
        for position, name in enumerate(pc.unique(sources).to_pylist()):
            mask = pc.is_null(sources) if name is None else pc.equal(sources, name)
            rows = table.filter(mask).drop_columns(["source"])
            rows = in_line_order(rows)
            pieces.append(cls.from_table(rows, source=name or "-", client_field=client_field,
                                         since=since, until=until, order=position,
                                         max_keys=max_keys))
        return cls.merge_all(pieces)

    # -- merging --------------------------------------------------------------------------------
    def merge(self, *others: Summary) -> Summary:
        """The summary of all that ``self`` and ``others`` summarise (associative, commutative)."""
        return Summary.merge_all([self, *others])

    @classmethod
    def merge_all(cls, summaries: Iterable[Summary]) -> Summary:
        """Merge any number of summaries at once (one grouped aggregation per part)."""
        items = list(summaries)
        # an empty summary adds no row and holds no key to bound: its K does not lower the
        # others', and merging it would only copy them (0.1 s for a hostile log's total)
        items = [s for s in items if s.num_rows] or items
        if len(items) == 1:
            return items[0]
        merged = cls.__new__(cls)
        merged._keys = min(s._keys for s in items) if items else DEFAULT_MAX_KEYS
        merged._parts = {
            name: merge_parts([s._parts[name] for s in items], spec, merged._keys)
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
    def from_dict(cls, data: Mapping[str, Any], *, max_keys: int = DEFAULT_MAX_KEYS
                  ) -> Summary:
        if data.get("schema") != SUMMARY_SCHEMA:
            raise ValueError(f"not a {SUMMARY_SCHEMA} dict: schema={data.get('schema')!r}")
        parts = {}
        for name, columns in data["parts"].items():
            spec = PARTS[name]
            arrays = []
            for field in spec.schema:
                size = len(next(iter(columns.values()), []))
                # a dict written before parts were bounded has no remainder rows
                values = columns[field.name] if field.name != REST else \
                    columns.get(REST, [False] * size)
                if pa.types.is_timestamp(field.type):
                    arrays.append(pa.array(values, _I64).cast(field.type))
                else:
                    arrays.append(pa.array(values, field.type))
            parts[name] = pa.Table.from_arrays(arrays, schema=spec.schema)
        return cls(parts, max_keys=max_keys)

    def to_arrow(self) -> pa.Table:
        """All parts in one long table (a ``part`` column plus the union of the columns), for
        Parquet: ``pyarrow.parquet.write_table(summary.to_arrow(), path)``."""
        schema = long_schema()
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
    def from_arrow(cls, table: pa.Table, *, max_keys: int = DEFAULT_MAX_KEYS) -> Summary:
        parts = {}
        for name, spec in PARTS.items():
            rows = table.filter(pc.equal(table["part"], name))
            if rows.num_rows == 0:
                continue  # an empty part (a table stored before it existed has no columns)
            # a table stored before parts were bounded has no "rest" column (conform_part)
            parts[name] = rows.select([n for n in spec.schema.names if n in rows.column_names])
        return cls(parts, max_keys=max_keys)
