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
from ..summary.bounded import FOLDED, FOLDED_LABELS
from ..summary.parts import RESOURCES_PER_GROUP
from ..summary.summary import Summary
from ..verdicts.allow_checks import check_allow
from ..verdicts.classify import protocol_table, verdict_table
from ..verdicts.server import ServerGuess, guess_server
from ..verdicts.trends import bucket_series, seen_table, span, spike_threshold
from ..vocabulary import (
    CLASSES,
    KEY_OF_CLASS,
    NO_METHOD,
    STATUS_OF_CLASS,
    VERDICT_ORDER,
    class_key,
)
from .clients import (
    LISTED_COLUMNS,
    client_rows,
    clients_by,
    clients_of,
    sum_by,
    top_of,
    where,
)
from .folds import method_folds, more, protocol_fold, sketch_count
from .model import (
    CLIENT_COLUMNS,
    ClassReport,
    ClientCounts,
    Clients,
    Example,
    Fold,
    More,
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
#: The most entries any list of keys names (methods, class keys, verdicts, protocols), however
#: large K is: each is a few kB of JSON (see the README's hostile-volume section).
LISTED = 100
#: Trend series listed per class (each holds a count for every bucket of the span).
TREND_SERIES = 10
_OTHER_VHOSTS = FOLDED_LABELS["vhost"]


def build_report(
    summary: Summary,
    *,
    server: str = "auto",
    window: Window | None = None,
    client_field: str = "client",
    top: int = TOP,
    max_keys: int | None = None,
) -> Report:
    """The Report of a merged Summary: every verdict is computed here, after the merge.

    Every list of keys names at most ``max_keys`` entries (default: the Summary's K; never
    more than :data:`LISTED`) and says what it leaves out; the unregistered methods and the
    protocols beyond the lists become one finding per class (``Report.folds``).
    """
    listed = min(summary.max_keys if max_keys is None else max_keys, LISTED)
    if listed < 1:
        raise ValueError(f"max_keys must be at least 1, not {max_keys}")
    guess = guess_server(summary, server)
    clients = client_rows(summary)
    seen = seen_table(summary)
    classes = _classes(summary, clients, seen, top, listed)
    verdicts, folds, verdicts_more = _verdicts(summary, clients, guess, top, listed)
    protocols, fold, protocols_more = _protocols(summary, clients, classes, guess, top, listed)
    methods, methods_more = _methods(summary, listed)
    return Report(
        sources=_sources(summary),
        status_counts=_status_counts(summary),
        rejects=_rejects(summary),
        classes=classes,
        verdicts=with_actions(verdicts, guess.name),
        protocols=with_actions(protocols, guess.name),
        trends=_trends(summary, seen, classes),
        server=guess,
        window=window or Window(),
        client_field=client_field,
        client_counts=_client_counts(clients, listed),
        allow_checks=check_allow(summary, server=guess.name),
        methods=methods,
        methods_more=methods_more,
        verdicts_more=verdicts_more,
        protocols_more=protocols_more,
        folds=tuple(folds) + ((fold,) if fold is not None else ()),
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


def _methods(summary: Summary, listed: int) -> tuple[dict[str, dict[str, int]], More | None]:
    """Responses by method and status, busiest method first (at most ``listed`` methods);
    ``-`` for no method."""
    requests = summary.part("requests")
    requests = requests.filter(pc.is_valid(requests["status"]))
    if requests.num_rows == 0:
        return {}, None
    method = pc.fill_null(requests["method"], NO_METHOD)
    table = pa.table({"method": method, "status": requests["status"],
                      "count": requests["count"]})
    per_method = sum_by(table, ["method"])
    folded = per_method.filter(pc.equal(per_method["method"], FOLDED))
    ranked = per_method.filter(pc.not_equal(per_method["method"], FOLDED)).sort_by(
        [("count", "descending"), ("method", "ascending")])
    shown = ranked.slice(0, listed)
    names = shown["method"].to_pylist()
    counts = sum_by(table.filter(pc.is_in(table["method"], shown["method"])),
                    ["method", "status"]).sort_by([("status", "ascending")])
    by: dict[str, dict[str, int]] = {name: {} for name in names}
    for name, status, n in zip(counts["method"].to_pylist(), counts["status"].to_pylist(),
                               counts["count"].to_pylist(), strict=True):
        by[name][str(int(status))] = int(n)
    left = int(pc.sum(table["count"]).as_py()) - int(pc.sum(shown["count"]).as_py() or 0)
    named = len([n for n in names if n != NO_METHOD])
    return by, more(left, ranked.num_rows - shown.num_rows, folded.num_rows > 0,
                    sketch_count(summary.part("distinct"), "method"), named)


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


def _classes(summary: Summary, clients: pa.Table, seen: pd.DataFrame, top: int, listed: int
             ) -> dict[str, ClassReport]:
    requests = summary.part("requests")
    table = pa.table({"status": requests["status"], "key": class_key(requests),
                      "count": requests["count"]})
    sketch = summary.part("distinct")
    listed_rows = clients.select(LISTED_COLUMNS)
    out: dict[str, ClassReport] = {}
    for name in CLASSES:
        status = STATUS_OF_CLASS[name]
        rows = where(table, status=status)
        if rows.num_rows == 0:
            out[name] = empty_class(name)
            continue
        by = sum_by(rows, ["key"])
        folded = by.filter(pc.equal(by["key"], FOLDED)).num_rows > 0
        ranked = by.filter(pc.not_equal(by["key"], FOLDED)).sort_by(
            [("count", "descending"), ("key", "ascending")])
        shown = ranked.slice(0, listed)
        keys = shown["key"].to_pylist()
        count = int(pc.sum(rows["count"]).as_py())
        left = count - int(pc.sum(shown["count"]).as_py() or 0)
        what = KEY_OF_CLASS[name]
        cut = more(left, ranked.num_rows - shown.num_rows, folded,
                   sketch_count(sketch, what, [status]), len([k for k in keys if k != NO_METHOD]))
        mine = pc.equal(clients["status"], status)
        listed_keys = pc.is_in(clients["key"], value_set=pa.array(keys, pa.string()))
        found = clients_by(clients.filter(pc.and_(mine, listed_keys)), ["key"], top)
        by_key = {key: found.get((key,), Clients()) for key in keys}
        seen_here = seen.loc[(seen["class"] == name) & (seen["key"] != FOLDED)]
        n_clients, _ = sketch_count(sketch, "client", [status])
        out[name] = ClassReport(
            name=name, status=status, count=count, key=what,
            by=dict(zip(keys, shown["count"].to_pylist(), strict=True)),
            clients=clients_of(listed_rows.filter(mine), top, distinct=min(n_clients, count)),
            by_key=by_key, first_seen=_iso(seen.loc[seen["class"] == name, "first"].min()),
            last_seen=_iso(seen_here["last"].max() if not seen_here.empty
                           else seen.loc[seen["class"] == name, "last"].max()),
            more=cut,
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
    summary: Summary, clients: pa.Table, server: ServerGuess, top: int, listed: int
) -> tuple[tuple[Verdict, ...], list[Fold], More | None]:
    """The verdicts of the ``listed`` (vhost, method) keys with the most refusals, registered
    methods first; the unregistered methods beyond them as one fold per class, and how many
    registered ones did not fit."""
    table = verdict_table(summary, server=server)
    if table.empty:
        return (), method_folds(summary, table, set(), clients, top, EXAMPLES, _examples), None
    refused = table["not_implemented"] + table["method_not_allowed"]
    ranked = table.assign(_refused=refused, _unregistered=~table["registered"].astype(bool))
    ranked = ranked.sort_values(["_unregistered", "_refused", "vhost", "method"],
                                ascending=[True, False, True, True], kind="stable",
                                na_position="first")
    chosen, hidden = ranked.iloc[:listed], ranked.iloc[listed:]
    shown = {(v, m) for v, m in zip(chosen["vhost"], chosen["method"], strict=True)}
    folds = method_folds(summary, table, shown, clients, top, EXAMPLES, _examples)
    registered = hidden[hidden["registered"].astype(bool)]
    cut = (More(len(registered), int(registered["_refused"].sum()))
           if len(registered) else None)
    return _verdict_list(summary, chosen, clients, top), folds, cut


def _verdict_list(summary: Summary, table: pd.DataFrame, clients: pa.Table, top: int
                  ) -> tuple[Verdict, ...]:
    examples, firsts = summary.part("examples"), summary.part("firsts")
    resources = summary.part("resources")
    resources = resources.set_column(resources.schema.get_field_index("resource"), "resource",
                                     pc.fill_null(resources["resource"], NO_METHOD))
    classed = [405, 501]
    by_method = clients_by(clients.filter(pc.is_in(clients["status"],
                                                   pa.array(classed, pa.int16()))),
                           ["vhost", "method"], top)
    out = []
    for row in table.to_dict("records"):
        vhost, method = _text(row["vhost"]), str(row["method"])
        res = where(resources, vhost=vhost, method=method, status=classed)
        per_status = res.group_by(["status"]).aggregate([([], "count_all")])["count_all"]
        out.append(Verdict(
            vhost=vhost, method=method, verdict=str(row["verdict"]),
            counts=dict(row["counts"]), registered=bool(row["registered"]),
            requests=int(row["requests"]), successes=int(row["successes"]),
            first_seen=_iso(row["first_seen"]), last_seen=_iso(row["last_seen"]),
            explanation=str(row["explanation"]), notes=tuple(row["notes"]),
            examples=_examples(where(examples, vhost=vhost, method=method, status=classed),
                               EXAMPLES),
            success_examples=_examples(_successful(where(firsts, vhost=vhost, method=method)),
                                       3),
            resources=top_of(sum_by(res, ["resource"]), "resource", top),
            resources_complete=all(n < RESOURCES_PER_GROUP for n in per_status.to_pylist()),
            clients=by_method.get((vhost, method), Clients()),
            allow=tuple(row["allow"]),
            succeeded_elsewhere=tuple(row["succeeded_elsewhere"]),
            succeeded_elsewhere_more=int(row["elsewhere_count"])
            - len(row["succeeded_elsewhere"]),
            vhost_folded=vhost == _OTHER_VHOSTS,
        ))
    return tuple(sorted(out, key=lambda v: (_VERDICT_ORDER[v.verdict], -v.requests,
                                            v.vhost or "", v.method)))


def _protocols(
    summary: Summary, clients: pa.Table, classes: dict[str, ClassReport], server: ServerGuess,
    top: int, listed: int,
) -> tuple[tuple[ProtocolReport, ...], Fold | None, More | None]:
    """The ``listed`` protocols most worth a look; the protocols answered 505 beyond them
    as one fold, and how many others did not fit."""
    chosen = protocol_table(summary, server=server, limit=listed)
    if chosen.empty:
        return (), protocol_fold(summary, set(), clients, top, EXAMPLES, _examples), None
    examples, firsts = summary.part("examples"), summary.part("firsts")
    hidden, hidden_requests = chosen.attrs.get("unlisted", (0, 0))
    by_key = classes["version_not_supported"].by_key
    out = []
    for row in chosen.to_dict("records"):
        protocol = str(row["protocol"])
        logged = None if protocol == NO_METHOD else protocol
        shown = _examples(where(examples, protocol=logged, status=505), EXAMPLES)
        if len(shown) < EXAMPLES:
            shown += _examples(where(firsts, protocol=logged, status=400), EXAMPLES - len(shown))
        who = by_key.get(protocol)
        if who is None:
            who = clients_of(where(clients, status=505, key=protocol), top)
        out.append(ProtocolReport(
            protocol=protocol, requests=int(row["requests"]), counts=dict(row["counts"]),
            version_not_supported=int(row["version_not_supported"]),
            findings=tuple(row["findings"]), explanation=str(row["explanation"]),
            examples=shown, clients=who,
        ))
    names = {str(p) for p in chosen["protocol"]}
    fold = protocol_fold(summary, names, clients, top, EXAMPLES, _examples)
    cut = More(hidden, hidden_requests) if hidden else None
    return (tuple(sorted(out, key=lambda p: (-p.version_not_supported, -len(p.findings),
                                             -p.requests, p.protocol))), fold, cut)


def _trends(summary: Summary, seen_rows: pd.DataFrame, classes: dict[str, ClassReport]
            ) -> Trends:
    """``seen_rows``: :func:`analyzer.verdicts.trends.seen_table` of the summary; at most
    ``TREND_SERIES`` series per class, the rest summed in a More."""
    found = bucket_series(summary, per_class=TREND_SERIES,
                          keys={name: list(c.by) for name, c in classes.items()})
    if found is None:
        return Trends()
    start, end = span(summary)
    buckets = tuple(b.strftime("%Y-%m-%dT%H:%M:%SZ") for b in found.index)
    seen = {(c, k): (f, last) for c, k, f, last in
            seen_rows[["class", "key", "first", "last"]].itertuples(index=False)}
    series: list[TrendSeries] = []
    spikes: list[Spike] = []
    cut: list[tuple[str, More]] = []
    others: list[tuple[str, tuple[int, ...]]] = []

    def spiking(cls: str, key: str, values: np.ndarray) -> list[Spike]:
        if len(values) < 3:
            return []
        threshold = spike_threshold(values.astype(float))
        return [Spike(cls, key, buckets[i], int(values[i]), threshold)
                for i in np.flatnonzero(values > threshold)]

    for cls in CLASSES:
        keys = sorted((k for c, k in found.series if c == cls),
                      key=lambda k: (-int(found.series[(cls, k)].sum()), k))
        other = found.other.get(cls)
        if not keys and other is None:
            continue
        whole = np.zeros(len(buckets), "int64") if other is None else other.copy()
        for key in keys:
            whole += found.series[(cls, key)]
        spikes += spiking(cls, "*", whole)
        for key in keys:
            values = found.series[(cls, key)]
            first, last = seen.get((cls, key), (None, None))
            series.append(TrendSeries(cls, key, int(values.sum()), _iso(first), _iso(last),
                                      tuple(values.tolist())))
            spikes += spiking(cls, key, values)
        if other is not None:
            report = classes.get(cls)
            total = len(report.by) + (report.more.count if report and report.more else 0) \
                if report else 0
            exact = report.more.exact if report and report.more else True
            count = max(total - len(keys), found.other_keys.get(cls, 0), 1)
            cut.append((cls, More(count, int(other.sum()), exact)))
            others.append((cls, tuple(other.tolist())))
    return Trends(
        bucket=found.bucket, start=_iso(start), end=_iso(end), buckets=buckets,
        totals=tuple(found.totals.tolist()), series=tuple(series), spikes=tuple(spikes),
        more=tuple(cut), other=tuple(others),
    )


def _client_counts(clients: pa.Table, listed: int) -> ClientCounts:
    """The CSV table: the ``listed`` rows of each class with the most requests (sorted), then
    one row per class for the rest: client ``(+N more)`` (N rows), its requests."""
    if clients.num_rows == 0:
        return ClientCounts()
    ranked = clients.sort_by([("status", "ascending"), ("count", "descending"),
                              ("client", "ascending"), ("method", "ascending"),
                              ("vhost", "ascending"), ("protocol", "ascending"),
                              ("ua_family", "ascending")])
    status = ranked["status"].to_numpy()
    starts = np.r_[True, status[1:] != status[:-1]]
    rank = np.arange(len(status)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
    top = ranked.filter(pa.array(rank < listed))
    summed = top.sort_by(
        [("status", "ascending"), ("method", "ascending"), ("count", "descending"),
         ("client", "ascending"), ("vhost", "ascending"), ("protocol", "ascending"),
         ("ua_family", "ascending")]).select(list(CLIENT_COLUMNS))
    rest = ranked.filter(pa.array(rank >= listed))
    if rest.num_rows:
        left = rest.group_by(["class", "status"], use_threads=False).aggregate(
            [("count", "sum"), ([], "count_all")]).rename_columns(
            ["class", "status", "count", "count_all"]).sort_by([("status", "ascending")])
        n = left.num_rows
        nulls = pa.nulls(n, pa.string())
        summed = pa.concat_tables([summed, pa.table({
            "class": left["class"], "vhost": nulls, "method": nulls, "protocol": nulls,
            "status": left["status"],
            "client": pc.binary_join_element_wise(
                "(+", pc.cast(left["count_all"], pa.string()), " more)", ""),
            "ua_family": nulls, "client_kind": nulls, "count": left["count"],
        }).cast(summed.schema)])
    return ClientCounts(summed.combine_chunks())
