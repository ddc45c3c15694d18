"""Who sent the classed requests: the client rows of a Summary (its ``hits`` part, each distinct
user agent described once) and the client lists of a report (top addresses, user-agent families,
client kinds), with Arrow grouped aggregations.

The ``hits`` part is bounded (analyzer.summary.bounded): requests of folded clients and user
agents are counted under ``(other clients)`` and ``(other user agents)``; such a row is never
listed as a client, and a list's distinct count is then a lower bound, unless the caller gives
the count of the class's sketch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..summary.bounded import FOLDED, FOLDED_LABELS, labelled
from ..summary.summary import Summary
from ..verdicts.clients import describe_user_agent
from ..vocabulary import CLASS_BY_STATUS, CLASSES, NO_METHOD, class_key
from .model import ClientCount, Clients

__all__ = ["LISTED_COLUMNS", "OTHER_CLIENTS", "client_rows", "clients_of", "partition",
           "sum_by", "top_of", "where"]

LISTED_COLUMNS = ["client", "ua_family", "client_kind", "count"]  # what a client list reads
OTHER_CLIENTS = FOLDED_LABELS["client"]
_OTHER_AGENTS = (FOLDED_LABELS["user_agent"], "unknown")


def client_rows(summary: Summary) -> pa.Table:
    """The classed requests by class, vhost, method, protocol, status, client, user-agent
    family and kind, and ``key`` (the method, or the protocol for 505), once: what every client
    list of the report sums (different user agents of one family and kind are one row here).

    Grouped on codes straight from the hits part (each distinct user agent described once):
    building the wide table first took three times the memory of the result.
    """
    hits = summary.part("hits")
    agents = pc.dictionary_encode(hits["user_agent"]).combine_chunks()
    described = [_OTHER_AGENTS if ua == FOLDED else describe_user_agent(ua)
                 for ua in agents.dictionary.to_pylist()]
    described.append(describe_user_agent(None))  # for nulls
    pairs: dict[tuple[str, str], int] = {}
    pair_of_agent = pa.array([pairs.setdefault(d, len(pairs)) for d in described], pa.int32())
    status = hits["status"]
    named = labelled(hits, ["vhost", "method", "protocol", "client"])
    coded = {
        "vhost": named["vhost"], "method": named["method"], "protocol": named["protocol"],
        "status": status, "client": pc.fill_null(named["client"], NO_METHOD),
        "pair": pc.take(pair_of_agent, pc.fill_null(agents.indices, len(described) - 1)),
        "key": class_key(hits),
    }
    coded = {name: pc.dictionary_encode(column) if name not in ("status", "pair") else column
             for name, column in coded.items()}
    summed = sum_by(pa.table({**coded, "count": hits["count"]}), list(coded))
    statuses = pa.array(list(CLASS_BY_STATUS), pa.int16())
    pair = summed["pair"]
    columns = {
        "class": pc.take(pa.array(CLASSES, pa.string()), pc.index_in(summed["status"], statuses)),
        **{name: summed[name].cast(pa.string()) for name in ("vhost", "method", "protocol")},
        "status": summed["status"],
        "client": summed["client"].cast(pa.string()),
        "ua_family": pc.take(pa.array([f for f, _ in pairs], pa.string()), pair),
        "client_kind": pc.take(pa.array([k for _, k in pairs], pa.string()), pair),
        "key": summed["key"].cast(pa.string()),
        "count": summed["count"],
    }
    return pa.table(columns)


def clients_of(rows: pa.Table, top: int, distinct: int | None = None) -> Clients:
    """Top addresses (each with its most frequent family and kind), families and kinds;
    ``distinct``: the number of distinct clients when known better than the rows say."""
    if rows.num_rows == 0:
        return Clients()
    per_client = sum_by(rows, ["client"])
    per_client = per_client.filter(pc.not_equal(per_client["client"], OTHER_CLIENTS))
    ranked = per_client.sort_by([("count", "descending"), ("client", "ascending")])
    chosen = ranked.slice(0, top)
    detail = sum_by(rows.filter(pc.is_in(rows["client"], chosen["client"])),
                    ["client", "ua_family", "client_kind"])
    detail = detail.sort_by([("count", "descending"), ("ua_family", "ascending")])
    main: dict[str, tuple[str, str]] = {}
    for client, family, kind in zip(detail["client"].to_pylist(),
                                    detail["ua_family"].to_pylist(),
                                    detail["client_kind"].to_pylist(), strict=True):
        main.setdefault(client, (family, kind))
    top_clients = tuple(
        ClientCount(c, n, *main[c])
        for c, n in zip(chosen["client"].to_pylist(), chosen["count"].to_pylist(), strict=True)
    )
    families = top_of(sum_by(rows, ["ua_family"]), "ua_family", top)
    return Clients(
        top_clients=top_clients,
        ua_families=families,
        client_kinds=top_of(sum_by(rows, ["client_kind"]), "client_kind", None),
        distinct=per_client.num_rows if distinct is None else max(distinct, per_client.num_rows),
        family_kinds=_family_kinds(rows, [f for f, _ in families]),
    )


def _family_kinds(rows: pa.Table, families: list[str]) -> tuple[tuple[str, str], ...]:
    """The kind of most of each family's requests (ties: the first kind by name), so that a
    family is coloured as its clients are."""
    listed = rows.filter(pc.is_in(rows["ua_family"], pa.array(families, pa.string())))
    pairs = sum_by(listed, ["ua_family", "client_kind"]).sort_by(
        [("count", "descending"), ("client_kind", "ascending")])
    kinds: dict[str, str] = {}
    for family, kind in zip(pairs["ua_family"].to_pylist(), pairs["client_kind"].to_pylist(),
                            strict=True):
        kinds.setdefault(family, kind)
    return tuple(kinds.items())


def sum_by(table: pa.Table, keys: list[str]) -> pa.Table:
    summed = table.group_by(keys, use_threads=False).aggregate([("count", "sum")])
    return summed.rename_columns([*keys, "count"])


def top_of(table: pa.Table, key: str, top: int | None) -> tuple[tuple[str, int], ...]:
    ranked = table.filter(pc.greater(table["count"], 0)).sort_by(
        [("count", "descending"), (key, "ascending")])
    if top is not None:
        ranked = ranked.slice(0, top)
    return tuple(zip(ranked[key].to_pylist(), ranked["count"].to_pylist(), strict=True))


def partition(
    table: pa.Table, keys: list[str], where: pa.ChunkedArray | pa.Array | None = None
) -> dict[tuple[Any, ...], pa.Array]:
    """The row indices of each group of ``keys`` (nulls are a group) among the rows ``where``
    holds, in one grouped pass; callers take one group's rows at a time (all groups' copies at
    once were the report's peak memory on a large log)."""
    if table.num_rows == 0:
        return {}
    rows = table.select(keys).append_column("_row", pa.array(np.arange(table.num_rows)))
    if where is not None:
        rows = rows.filter(where)
    groups = rows.group_by(keys, use_threads=False).aggregate([("_row", "list")])
    values = [groups[k].to_pylist() for k in keys]
    return {
        tuple(v[i] for v in values): groups["_row_list"][i].values
        for i in range(groups.num_rows)
    }


def where(table: pa.Table, **equal: object) -> pa.Table:
    """Rows whose columns equal the given values (None matches null; a list: any of them)."""
    mask = None
    for name, value in equal.items():
        column = table[name]
        if value is None:
            test = pc.is_null(column)
        elif isinstance(value, list):
            test = pc.is_in(column, pa.array(value, column.type))
        else:
            test = pc.fill_null(pc.equal(column, pa.scalar(value, column.type)), False)
        mask = test if mask is None else pc.and_(mask, test)
    return table if mask is None else table.filter(mask)
