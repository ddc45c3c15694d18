"""``build_report``: a merged :class:`~analyzer.summary.Summary` made into a
:class:`~analyzer.report.model.Report`: the classes with their clients, the verdicts with their
evidence, the protocol findings and the trends. Every verdict is computed here, after the merge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..advice.actions import with_actions
from ..summary.parts import RESOURCES_PER_GROUP
from ..summary.summary import Summary
from ..verdicts.allow_checks import check_allow
from ..verdicts.classify import protocol_table, verdict_table
from ..verdicts.clients import describe_user_agent
from ..verdicts.server import ServerGuess, guess_server
from ..verdicts.trends import bucket_series, seen_table, span, spike_threshold
from ..vocabulary import (
    CLASS_BY_STATUS,
    CLASSES,
    KEY_OF_CLASS,
    NO_METHOD,
    STATUS_OF_CLASS,
    VERDICT_ORDER,
    class_key,
)
from .model import (
    CLIENT_COLUMNS,
    ClassReport,
    ClientCount,
    ClientCounts,
    Clients,
    Example,
    ProtocolReport,
    RejectExample,
    RejectReport,
    Report,
    SourceReport,
    Spike,
    Trends,
    TrendSeries,
    Verdict,
    Window,
    empty_class,
)

MAX_REJECT_EXAMPLES = 20
TOP = 10  # clients, families, resources... shown per class and per verdict
EXAMPLES = 5


def build_report(
    summary: Summary,
    *,
    server: str = "auto",
    window: Window | None = None,
    client_field: str = "client",
    top: int = TOP,
) -> Report:
    """The Report of a merged Summary: every verdict is computed here, after the merge."""
    guess = guess_server(summary, server)
    clients = _client_rows(summary)
    seen = seen_table(summary)
    return Report(
        sources=_sources(summary),
        status_counts=_status_counts(summary),
        rejects=_rejects(summary),
        classes=_classes(summary, clients, seen, top),
        verdicts=with_actions(_verdicts(summary, clients, guess, top), guess.name),
        protocols=with_actions(_protocols(summary, clients, guess, top), guess.name),
        trends=_trends(summary, seen),
        server=guess,
        window=window or Window(),
        client_field=client_field,
        client_counts=_client_counts(clients),
        allow_checks=check_allow(summary, server=guess.name),
        methods=_methods(summary),
    )


def _iso(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return str(value)


def _sources(summary: Summary) -> tuple[SourceReport, ...]:
    rows = sorted(summary.part("sources").to_pylist(), key=lambda r: (r["order"], r["source"]))
    return tuple(
        SourceReport(r["source"], r["format"] or "(frame)", r["lines"], r["parsed"],
                     r["rejected"], r["detection"])
        for r in rows
    )


def _methods(summary: Summary) -> dict[str, dict[str, int]]:
    """Responses by method and status, busiest method first; ``-`` for no method."""
    requests = summary.part("requests").to_pandas()
    if requests.empty:
        return {}
    requests = requests.dropna(subset=["status"]).assign(method=requests["method"].fillna("-"))
    counts = requests.groupby(["method", "status"])["count"].sum()
    order = counts.groupby(level="method").sum().sort_values(ascending=False, kind="stable")
    return {
        str(method): {str(int(status)): int(n) for status, n in counts[method].sort_index().items()}
        for method in order.index
    }


def _status_counts(summary: Summary) -> dict[str, int]:
    requests = summary.part("requests").to_pandas()
    if requests.empty:
        return {}
    counts = requests.dropna(subset=["status"]).groupby("status")["count"].sum().sort_index()
    return {str(int(k)): int(v) for k, v in counts.items()}


def _rejects(summary: Summary) -> RejectReport:
    rejects = summary.part("rejects").to_pandas()
    reasons = (rejects.groupby("reason")["count"].sum().sort_values(ascending=False)
               if not rejects.empty else pd.Series(dtype="int64"))
    examples = tuple(
        RejectExample(r["source"], r["line"], r["reason"], r["text"])
        for r in summary.part("reject_examples").to_pylist()[:MAX_REJECT_EXAMPLES]
    )
    return RejectReport(int(reasons.sum()), {str(k): int(v) for k, v in reasons.items()},
                        examples)


_LISTED = ["client", "ua_family", "client_kind", "count"]  # what a client list reads


def _clients_of(rows: pa.Table, top: int) -> Clients:
    """Top addresses (each with its most frequent family and kind), families and kinds."""
    if rows.num_rows == 0:
        return Clients()
    per_client = _sum_by(rows, ["client"])
    ranked = per_client.sort_by([("count", "descending"), ("client", "ascending")])
    chosen = ranked.slice(0, top)
    detail = _sum_by(rows.filter(pc.is_in(rows["client"], chosen["client"])),
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
    families = _top(_sum_by(rows, ["ua_family"]), "ua_family", top)
    return Clients(
        top_clients=top_clients,
        ua_families=families,
        client_kinds=_top(_sum_by(rows, ["client_kind"]), "client_kind", None),
        distinct=per_client.num_rows,
        family_kinds=_family_kinds(rows, [f for f, _ in families]),
    )


def _family_kinds(rows: pa.Table, families: list[str]) -> tuple[tuple[str, str], ...]:
    """The kind of most of each family's requests (ties: the first kind by name), so that a
    family is coloured as its clients are."""
    listed = rows.filter(pc.is_in(rows["ua_family"], pa.array(families, pa.string())))
    pairs = _sum_by(listed, ["ua_family", "client_kind"]).sort_by(
        [("count", "descending"), ("client_kind", "ascending")])
    kinds: dict[str, str] = {}
    for family, kind in zip(pairs["ua_family"].to_pylist(), pairs["client_kind"].to_pylist(),
                            strict=True):
        kinds.setdefault(family, kind)
    return tuple(kinds.items())


def _sum_by(table: pa.Table, keys: list[str]) -> pa.Table:
    summed = table.group_by(keys, use_threads=False).aggregate([("count", "sum")])
    return summed.rename_columns([*keys, "count"])


def _top(table: pa.Table, key: str, top: int | None) -> tuple[tuple[str, int], ...]:
    ranked = table.filter(pc.greater(table["count"], 0)).sort_by(
        [("count", "descending"), (key, "ascending")])
    if top is not None:
        ranked = ranked.slice(0, top)
    return tuple(zip(ranked[key].to_pylist(), ranked["count"].to_pylist(), strict=True))


def _client_rows(summary: Summary) -> pa.Table:
    """The classed requests by ``CLIENT_COLUMNS`` and ``key``, once: what every client list of
    the report sums (different user agents of one family and kind are one row here).

    Grouped on codes straight from the hits part (each distinct user agent described once):
    building the wide table first took three times the memory of the result.
    """
    hits = summary.part("hits")
    agents = pc.dictionary_encode(hits["user_agent"]).combine_chunks()
    described = [describe_user_agent(ua) for ua in agents.dictionary.to_pylist()]
    described.append(describe_user_agent(None))  # for nulls
    pairs: dict[tuple[str, str], int] = {}
    pair_of_agent = pa.array([pairs.setdefault(d, len(pairs)) for d in described], pa.int32())
    status = hits["status"]
    coded = {
        "vhost": hits["vhost"], "method": hits["method"], "protocol": hits["protocol"],
        "status": status, "client": pc.fill_null(hits["client"], NO_METHOD),
        "pair": pc.take(pair_of_agent, pc.fill_null(agents.indices, len(described) - 1)),
        "key": class_key(hits),
    }
    coded = {name: pc.dictionary_encode(column) if name not in ("status", "pair") else column
             for name, column in coded.items()}
    summed = _sum_by(pa.table({**coded, "count": hits["count"]}), list(coded))
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


def _partition(
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


def _where(table: pa.Table, **equal: object) -> pa.Table:
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


def _classes(summary: Summary, clients: pa.Table, seen: pd.DataFrame, top: int
             ) -> dict[str, ClassReport]:
    requests = summary.part("requests")
    requests = requests.append_column("key", class_key(requests)).to_pandas()
    requests = requests[requests["status"].isin(list(CLASS_BY_STATUS))]
    out: dict[str, ClassReport] = {}
    for name in CLASSES:
        status = STATUS_OF_CLASS[name]
        rows = requests[requests["status"] == status] if not requests.empty else requests
        if rows.empty:
            out[name] = empty_class(name)
            continue
        by = rows.groupby("key")["count"].sum().reset_index()
        by = by.sort_values(["count", "key"], ascending=[False, True])
        where = pc.equal(clients["status"], status)
        listed = clients.select(_LISTED)
        parts = _partition(clients, ["key"], where)
        none = pa.array([], pa.int64())
        by_key = {str(key): _clients_of(listed.take(parts.get((str(key),), none)), top)
                  for key in by["key"]}
        first = seen.loc[seen["class"] == name, "first"].min()
        last = seen.loc[seen["class"] == name, "last"].max()
        out[name] = ClassReport(
            name=name, status=status, count=int(rows["count"].sum()), key=KEY_OF_CLASS[name],
            by={str(k): int(n) for k, n in zip(by["key"], by["count"], strict=True)},
            clients=_clients_of(listed.filter(where), top), by_key=by_key,
            first_seen=_iso(first), last_seen=_iso(last),
        )
    return out


def _examples(table: pa.Table, limit: int) -> tuple[Example, ...]:
    """The first ``limit`` rows by (source, line) as Examples."""
    if table.num_rows == 0:
        return ()
    rows = table.sort_by([("source", "ascending"), ("line", "ascending")]).slice(0, limit)
    return tuple(
        Example(source=r["source"], line=r["line"], status=r["status"], target=r.get("target"),
                request=r.get("request"), time=_iso(r.get("time")), client=r.get("client"))
        for r in rows.to_pylist()
    )


def _successful(table: pa.Table) -> pa.Table:
    status = table["status"]
    return table.filter(pc.and_(pc.greater_equal(status, 200), pc.less(status, 400)))


_VERDICT_ORDER = {v: i for i, v in enumerate(VERDICT_ORDER)}


def _verdicts(
    summary: Summary, clients: pa.Table, server: ServerGuess, top: int
) -> tuple[Verdict, ...]:
    table = verdict_table(summary, server=server)
    if table.empty:
        return ()
    examples, firsts = summary.part("examples"), summary.part("firsts")
    resources = summary.part("resources")
    resources = resources.set_column(resources.schema.get_field_index("resource"), "resource",
                                     pc.fill_null(resources["resource"], NO_METHOD))
    classed = [405, 501]
    by_method = _partition(clients, ["vhost", "method"],
                           pc.is_in(clients["status"], pa.array(classed, pa.int16())))
    listed, none = clients.select(_LISTED), pa.array([], pa.int64())
    out = []
    for row in table.to_dict("records"):
        vhost, method = _text(row["vhost"]), str(row["method"])
        res = _where(resources, vhost=vhost, method=method, status=classed)
        per_status = res.group_by(["status"]).aggregate([([], "count_all")])["count_all"]
        out.append(Verdict(
            vhost=vhost, method=method, verdict=str(row["verdict"]),
            counts=dict(row["counts"]), registered=bool(row["registered"]),
            requests=int(row["requests"]), successes=int(row["successes"]),
            first_seen=_iso(row["first_seen"]), last_seen=_iso(row["last_seen"]),
            explanation=str(row["explanation"]), notes=tuple(row["notes"]),
            examples=_examples(_where(examples, vhost=vhost, method=method, status=classed),
                               EXAMPLES),
            success_examples=_examples(_successful(_where(firsts, vhost=vhost, method=method)),
                                       3),
            resources=_top(_sum_by(res, ["resource"]), "resource", top),
            resources_complete=all(n < RESOURCES_PER_GROUP for n in per_status.to_pylist()),
            clients=_clients_of(listed.take(by_method.get((vhost, method), none)), top),
            allow=tuple(row["allow"]),
            succeeded_elsewhere=tuple(row["succeeded_elsewhere"]),
        ))
    return tuple(sorted(out, key=lambda v: (_VERDICT_ORDER[v.verdict], -v.requests,
                                            v.vhost or "", v.method)))


def _protocols(
    summary: Summary, clients: pa.Table, server: ServerGuess, top: int
) -> tuple[ProtocolReport, ...]:
    table = protocol_table(summary, server=server)
    if table.empty:
        return ()
    examples, firsts = summary.part("examples"), summary.part("firsts")
    out = []
    for row in table.to_dict("records"):
        protocol = str(row["protocol"])
        logged = None if protocol == NO_METHOD else protocol
        shown = _examples(_where(examples, protocol=logged, status=505), EXAMPLES)
        if len(shown) < EXAMPLES:
            shown += _examples(_where(firsts, protocol=logged, status=400), EXAMPLES - len(shown))
        out.append(ProtocolReport(
            protocol=protocol, requests=int(row["requests"]), counts=dict(row["counts"]),
            version_not_supported=int(row["version_not_supported"]),
            findings=tuple(row["findings"]), explanation=str(row["explanation"]),
            examples=shown, clients=_clients_of(_where(clients, status=505, key=protocol), top),
        ))
    return tuple(sorted(out, key=lambda p: (-p.version_not_supported, -len(p.findings),
                                            -p.requests, p.protocol)))


def _trends(summary: Summary, seen_rows: pd.DataFrame) -> Trends:
    """``seen_rows``: :func:`analyzer.verdicts.trends.seen_table` of the summary."""
    found = bucket_series(summary)
    if found is None:
        return Trends()
    start, end = span(summary)
    buckets = tuple(b.strftime("%Y-%m-%dT%H:%M:%SZ") for b in found.index)
    seen = {(c, k): (f, last) for c, k, f, last in
            seen_rows[["class", "key", "first", "last"]].itertuples(index=False)}
    series: list[TrendSeries] = []
    spikes: list[Spike] = []

    def spiking(cls: str, key: str, values: np.ndarray) -> list[Spike]:
        if len(values) < 3:
            return []
        threshold = spike_threshold(values.astype(float))
        return [Spike(cls, key, buckets[i], int(values[i]), threshold)
                for i in np.flatnonzero(values > threshold)]

    for cls in CLASSES:
        keys = sorted((k for c, k in found.series if c == cls),
                      key=lambda k: (-int(found.series[(cls, k)].sum()), k))
        if not keys:
            continue
        spikes += spiking(cls, "*", np.sum([found.series[(cls, k)] for k in keys], axis=0))
        for key in keys:
            values = found.series[(cls, key)]
            first, last = seen.get((cls, key), (None, None))
            series.append(TrendSeries(cls, key, int(values.sum()), _iso(first), _iso(last),
                                      tuple(values.tolist())))
            spikes += spiking(cls, key, values)
    return Trends(
        bucket=found.bucket, start=_iso(start), end=_iso(end), buckets=buckets,
        totals=tuple(found.totals.tolist()), series=tuple(series), spikes=tuple(spikes),
    )


def _client_counts(clients: pa.Table) -> ClientCounts:
    """The CSV table: ``clients`` (:func:`_client_rows`, one row per its columns) sorted."""
    if clients.num_rows == 0:
        return ClientCounts()
    summed = clients.sort_by(
        [("status", "ascending"), ("method", "ascending"), ("count", "descending"),
         ("client", "ascending"), ("vhost", "ascending"), ("protocol", "ascending"),
         ("ua_family", "ascending")])
    return ClientCounts(summed.select(list(CLIENT_COLUMNS)).combine_chunks())
