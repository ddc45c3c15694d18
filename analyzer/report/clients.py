"""Who sent the classed requests: the client rows of a Summary (its ``hits`` part, each distinct
user agent described once) and the client lists of a report (top addresses, user-agent families,
client kinds), with Arrow grouped aggregations.

The ``hits`` part is bounded (analyzer.summary.bounded): requests of folded clients and user
agents are counted under ``(other clients)`` and ``(other user agents)``; such a row is never
listed as a client, and a list's distinct count is then a lower bound, unless the caller gives
the count of the class's sketch.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..summary.bounded import FOLDED, FOLDED_LABELS, labelled
from ..summary.summary import Summary
from ..summary.table import head_per_group
from ..verdicts.clients import describe_user_agent
from ..vocabulary import CLASS_BY_STATUS, CLASSES, NO_METHOD, class_key
from .model import ClientCount, Clients

__all__ = ["LISTED_COLUMNS", "OTHER_CLIENTS", "client_rows", "clients_by", "clients_of",
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
    found = clients_by(rows, [], top).get((), Clients())
    if distinct is not None and rows.num_rows:
        found = replace(found, distinct=max(distinct, found.distinct))
    return found


def clients_by(rows: pa.Table, keys: list[str], top: int) -> dict[tuple[Any, ...], Clients]:
    """What :func:`clients_of` gives for the rows of each combination of ``keys`` (null is a
    value), by the combination's values: each list from one grouping for all of them, not one
    per key (a report lists the clients of up to a hundred keys a class). Ties keep the rows'
    order."""
    if rows.num_rows == 0:
        return {}
    group, values = _groups(rows, keys)
    clients = pc.dictionary_encode(rows["client"].combine_chunks())
    none = len(clients.dictionary)  # the code of a null client
    coded = pa.table({
        "g": pa.array(group), "c": pc.fill_null(clients.indices, none).cast(pa.int64()),
        "ua_family": rows["ua_family"], "client_kind": rows["client_kind"],
        "count": rows["count"],
    })
    chosen, distinct = _top_clients(coded, clients.dictionary, top)
    main = _main_agents(coded, chosen, none)
    families = _ranked(sum_by(coded, ["g", "ua_family"]), "ua_family", top)
    kinds = _ranked(sum_by(coded, ["g", "client_kind"]), "client_kind", None)
    family_kinds = _family_kinds(coded, families)
    out = {}
    for g, key in enumerate(values):
        out[key] = Clients(
            top_clients=tuple(ClientCount(client, n, *main[(g, code)])
                              for code, client, n in chosen.get(g, [])),
            ua_families=tuple(families.get(g, [])),
            client_kinds=tuple(kinds.get(g, [])),
            distinct=int(distinct[g]),
            family_kinds=tuple(family_kinds.get(g, [])),
        )
    return out


def _groups(rows: pa.Table, keys: list[str]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """Each row's group (from 0, in order of first appearance) and each group's key values."""
    n = rows.num_rows
    code = np.zeros(n, np.int64)
    for name in keys:
        encoded = pc.dictionary_encode(rows[name].combine_chunks(), null_encoding="encode")
        code = code * (len(encoded.dictionary) + 1) + encoded.indices.to_numpy(
            zero_copy_only=False).astype(np.int64)
    _, first, group = np.unique(code, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # groups numbered by first appearance
    renumber = np.empty(len(order), np.int64)
    renumber[order] = np.arange(len(order))
    firsts = pa.array(first[order])
    columns = [rows[name].take(firsts).to_pylist() for name in keys]
    values = [tuple(c[i] for c in columns) for i in range(len(order))]
    return renumber[group.reshape(-1)], values


def _top_clients(coded: pa.Table, names: pa.Array, top: int
                 ) -> tuple[dict[int, list[tuple[int, str, int]]], np.ndarray]:
    """Per group, its ``top`` clients by requests (code, address, requests), and how many
    distinct clients each group has (neither counts the folded clients)."""
    summed = sum_by(coded, ["g", "c"])
    code = summed["c"].to_numpy()
    named = code < len(names)
    address = (pc.take(names, pa.array(np.where(named, code, 0))) if len(names)
               else pa.nulls(len(code), pa.string()))
    listed = pc.and_(pa.array(named), pc.fill_null(pc.not_equal(address, OTHER_CLIENTS), True))
    per_client = summed.append_column("client", address).filter(listed)
    groups = int(pc.max(coded["g"]).as_py()) + 1
    distinct = np.bincount(per_client["g"].to_numpy(), minlength=groups)
    ranked = head_per_group(per_client.sort_by(
        [("g", "ascending"), ("count", "descending"), ("client", "ascending")]), ["g"], top)
    chosen: dict[int, list[tuple[int, str, int]]] = {}
    for g, c, client, n in zip(*(ranked[name].to_pylist() for name in
                                 ("g", "c", "client", "count")), strict=True):
        chosen.setdefault(g, []).append((c, client, n))
    return chosen, distinct


def _main_agents(coded: pa.Table, chosen: dict[int, list[tuple[int, str, int]]], none: int
                 ) -> dict[tuple[int, int], tuple[str, str]]:
    """The family and kind of most of each chosen client's requests (ties: the first family
    by name, then the rows' order)."""
    pairs = np.array([g * (none + 1) + c for g, listed in chosen.items() for c, _, _ in listed],
                     np.int64)
    pair = coded["g"].to_numpy() * (none + 1) + coded["c"].to_numpy()
    detail = sum_by(coded.filter(pa.array(np.isin(pair, pairs))),
                    ["g", "c", "ua_family", "client_kind"])
    first = head_per_group(detail.sort_by(
        [("g", "ascending"), ("c", "ascending"), ("count", "descending"),
         ("ua_family", "ascending")]), ["g", "c"], 1)
    return {(g, c): (family, kind) for g, c, family, kind in zip(
        *(first[name].to_pylist() for name in ("g", "c", "ua_family", "client_kind")),
        strict=True)}


def _ranked(summed: pa.Table, name: str, top: int | None) -> dict[int, list[tuple[str, int]]]:
    """Per group, its values of ``name`` with requests, busiest first (ties by value), at
    most ``top`` of them."""
    ranked = summed.filter(pc.greater(summed["count"], 0)).sort_by(
        [("g", "ascending"), ("count", "descending"), (name, "ascending")])
    if top is not None:
        ranked = head_per_group(ranked, ["g"], top)
    out: dict[int, list[tuple[str, int]]] = {}
    for g, value, n in zip(*(ranked[c].to_pylist() for c in ("g", name, "count")), strict=True):
        out.setdefault(g, []).append((value, n))
    return out


def _family_kinds(coded: pa.Table, families: dict[int, list[tuple[str, int]]]
                  ) -> dict[int, list[tuple[str, str]]]:
    """Per group, the kind of most of each listed family's requests (ties: the first kind by
    name), so that a family is coloured as its clients are; families in that ranking's
    order."""
    encoded = pc.dictionary_encode(coded["ua_family"].combine_chunks(), null_encoding="encode")
    width = len(encoded.dictionary) + 1
    index = {name: i for i, name in enumerate(encoded.dictionary.to_pylist())}
    pairs_listed = np.array([g * width + index[f] for g, fs in families.items() for f, _ in fs],
                            np.int64)
    pair = coded["g"].to_numpy() * width + encoded.indices.to_numpy(zero_copy_only=False)
    rows = coded.filter(pa.array(np.isin(pair, pairs_listed)))
    pairs = sum_by(rows, ["g", "ua_family", "client_kind"])
    ranked = pairs.sort_by([("g", "ascending"), ("count", "descending"),
                            ("client_kind", "ascending")])
    out: dict[int, list[tuple[str, str]]] = {}
    seen: set[tuple[int, str]] = set()
    for g, family, kind in zip(*(ranked[c].to_pylist() for c in
                                 ("g", "ua_family", "client_kind")), strict=True):
        if (g, family) not in seen:
            seen.add((g, family))
            out.setdefault(g, []).append((family, kind))
    return out


def sum_by(table: pa.Table, keys: list[str]) -> pa.Table:
    summed = table.group_by(keys, use_threads=False).aggregate([("count", "sum")])
    return summed.rename_columns([*keys, "count"])


def top_of(table: pa.Table, key: str, top: int | None) -> tuple[tuple[str, int], ...]:
    ranked = table.filter(pc.greater(table["count"], 0)).sort_by(
        [("count", "descending"), (key, "ascending")])
    if top is not None:
        ranked = ranked.slice(0, top)
    return tuple(zip(ranked[key].to_pylist(), ranked["count"].to_pylist(), strict=True))


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
