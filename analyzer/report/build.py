"""``Report``: the pure-data result that every renderer reads (renderers never compute).

:func:`build_report` turns a merged :class:`~analyzer.summary.Summary` into a Report: the classes
with their clients, the verdicts with their evidence, the protocol findings and the trends.
Everything in a Report is plain data (frozen dataclasses, strings, ints, dicts, tuples; times as
ISO 8601 strings in UTC), and :meth:`Report.to_dict` is the JSON contract of DESIGN.md section 5.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..advice.actions import with_actions
from ..advice.guidance import Guidance
from ..advice.reproduce import Command
from ..summary.summary import CLASS_BY_STATUS, CLASSES, RESOURCES_PER_GROUP, Summary
from ..verdicts.allow_checks import AllowChecks, check_allow
from ..verdicts.classify import (
    NO_METHOD,
    ServerGuess,
    guess_server,
    protocol_table,
    verdict_table,
)
from ..verdicts.clients import describe_user_agent
from ..verdicts.trends import SPIKE_K, bucket_series, seen_table, span, spike_threshold
from ..vocabulary import is_registered

SCHEMA = "logscan.report/1"
MAX_REJECT_EXAMPLES = 20
TOP = 10  # clients, families, resources... shown per class and per verdict
EXAMPLES = 5
STATUS_OF_CLASS = {name: status for status, name in CLASS_BY_STATUS.items()}
CLASS_KEY = {"not_implemented": "method", "method_not_allowed": "method",
             "version_not_supported": "protocol"}


@dataclass(frozen=True)
class SourceReport:
    path: str
    format: str
    lines: int
    parsed: int
    rejected: int
    detection: str | None = None


@dataclass(frozen=True)
class RejectExample:
    source: str
    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class RejectReport:
    count: int
    reasons: dict[str, int]
    examples: tuple[RejectExample, ...] = ()


@dataclass(frozen=True)
class ClientCount:
    """One client address, its requests, and the user-agent family and kind it mostly sent."""

    client: str
    count: int
    ua_family: str
    client_kind: str


@dataclass(frozen=True)
class Clients:
    """Who sent a set of requests: top addresses, user-agent families and client kinds."""

    top_clients: tuple[ClientCount, ...] = ()
    ua_families: tuple[tuple[str, int], ...] = ()
    client_kinds: tuple[tuple[str, int], ...] = ()
    distinct: int = 0
    family_kinds: tuple[tuple[str, str], ...] = ()  # each listed family's most frequent kind

    def to_dict(self) -> dict[str, Any]:
        kinds = dict(self.family_kinds)
        return {
            "top_clients": [
                {"client": c.client, "count": c.count, "family": c.ua_family, "kind": c.client_kind}
                for c in self.top_clients
            ],
            "top_families": [
                {"family": f, "count": n, "kind": kinds.get(f, "unknown")}
                for f, n in self.ua_families
            ],
            "client_kinds": {k: n for k, n in self.client_kinds},
            "distinct_clients": self.distinct,
        }


@dataclass(frozen=True)
class Example:
    """One logged request: where it is (source:line) and what it asked for."""

    source: str
    line: int
    status: int
    target: str | None = None
    request: str | None = None
    time: str | None = None
    client: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class ClassReport:
    """One class (not_implemented, method_not_allowed, version_not_supported)."""

    name: str
    status: int
    count: int
    key: str  # "method", or "protocol" for version_not_supported
    by: dict[str, int]
    clients: Clients = field(default_factory=Clients)
    by_key: dict[str, Clients] = field(default_factory=dict)  # the clients of each method
    first_seen: str | None = None
    last_seen: str | None = None

    def to_dict(self) -> dict[str, Any]:
        clients = self.clients.to_dict()
        return {
            "status": self.status,
            "count": self.count,
            "key": self.key,
            "by": dict(self.by),
            "top_clients": clients.pop("top_clients"),
            **clients,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            f"by_{self.key}": {k: c.to_dict() for k, c in self.by_key.items()},
        }


@dataclass(frozen=True)
class Verdict:
    """A per-(vhost, method) verdict and its evidence."""

    vhost: str | None
    method: str
    verdict: str
    counts: dict[str, int]
    registered: bool
    requests: int
    successes: int
    first_seen: str | None
    last_seen: str | None
    explanation: str
    notes: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    success_examples: tuple[Example, ...] = ()
    resources: tuple[tuple[str, int], ...] = ()
    resources_complete: bool = True
    clients: Clients = field(default_factory=Clients)
    allow: tuple[tuple[str, int], ...] = ()
    succeeded_elsewhere: tuple[str, ...] = ()
    reproduce: tuple[Command, ...] = ()  # analyzer.advice.reproduce: commands that confirm it
    guidance: Guidance | None = None  # analyzer.advice.guidance: how to fix it on this server

    def to_dict(self) -> dict[str, Any]:
        clients = self.clients.to_dict()
        return {
            "vhost": self.vhost,
            "method": self.method,
            "verdict": self.verdict,
            "counts": dict(self.counts),
            "registered": self.registered,
            "requests": self.requests,
            "successes": self.successes,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "explanation": self.explanation,
            "notes": list(self.notes),
            "examples": [asdict(e) for e in self.examples],
            "success_examples": [asdict(e) for e in self.success_examples],
            "resources": [{"resource": r, "count": n} for r, n in self.resources],
            "resources_complete": self.resources_complete,
            "top_clients": clients.pop("top_clients"),
            **clients,
            "allow": [{"allow": a, "count": n} for a, n in self.allow],
            "succeeded_elsewhere": list(self.succeeded_elsewhere),
            "reproduce": [str(c) for c in self.reproduce],
            "reproduce_commands": [_command_dict(c) for c in self.reproduce],
            "guidance": self.guidance.to_dict() if self.guidance else None,
        }


@dataclass(frozen=True)
class ProtocolReport:
    """How one protocol string was answered, and what does not fit."""

    protocol: str
    requests: int
    counts: dict[str, int]
    version_not_supported: int
    findings: tuple[str, ...]
    explanation: str
    examples: tuple[Example, ...] = ()
    clients: Clients = field(default_factory=Clients)
    reproduce: tuple[Command, ...] = ()
    guidance: Guidance | None = None

    def to_dict(self) -> dict[str, Any]:
        clients = self.clients.to_dict()
        return {
            "protocol": self.protocol,
            "requests": self.requests,
            "counts": dict(self.counts),
            "version_not_supported": self.version_not_supported,
            "findings": list(self.findings),
            "explanation": self.explanation,
            "examples": [asdict(e) for e in self.examples],
            "top_clients": clients.pop("top_clients"),
            **clients,
            "reproduce": [str(c) for c in self.reproduce],
            "reproduce_commands": [_command_dict(c) for c in self.reproduce],
            "guidance": self.guidance.to_dict() if self.guidance else None,
        }


@dataclass(frozen=True)
class TrendSeries:
    """Counts per bucket of one class and key (method, or protocol for 505)."""

    cls: str
    key: str
    total: int
    first_seen: str | None
    last_seen: str | None
    counts: tuple[int, ...]  # one per Trends.buckets


@dataclass(frozen=True)
class Spike:
    cls: str
    key: str  # "*" for the class as a whole
    bucket: str
    count: int
    threshold: float


@dataclass(frozen=True)
class Trends:
    bucket: str = "hour"
    start: str | None = None
    end: str | None = None
    buckets: tuple[str, ...] = ()
    totals: tuple[int, ...] = ()  # all requests per bucket
    series: tuple[TrendSeries, ...] = ()
    spikes: tuple[Spike, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "start": self.start,
            "end": self.end,
            "spike_rule": f"count > median + {SPIKE_K:g} * max(1.4826 * MAD, 1) over the buckets",
            "buckets": list(self.buckets),
            "totals": list(self.totals),
            "series": [
                {
                    "class": s.cls, "key": s.key, "total": s.total,
                    "first_seen": s.first_seen, "last_seen": s.last_seen,
                    "points": [[b, n] for b, n in zip(self.buckets, s.counts, strict=True)],
                }
                for s in self.series
            ],
            "spikes": [
                {"class": s.cls, "key": s.key, "time": s.bucket, "count": s.count,
                 "threshold": round(s.threshold, 3)}
                for s in self.spikes
            ],
        }


CLIENT_COLUMNS = ("class", "vhost", "method", "protocol", "status", "client", "ua_family",
                  "client_kind", "count")


@dataclass(frozen=True)
class ClientCounts:
    """The tidy table of classed requests by method x status x client (the CSV output): an
    immutable Arrow table with the ``CLIENT_COLUMNS``, sorted; :meth:`rows` gives its rows."""

    table: pa.Table = field(default_factory=lambda: pa.table(
        {name: pa.array([], pa.int64() if name in ("status", "count") else pa.string())
         for name in CLIENT_COLUMNS}))
    columns: tuple[str, ...] = CLIENT_COLUMNS

    def __len__(self) -> int:
        result: int = self.table.num_rows
        return result

    def rows(self) -> Iterator[tuple[Any, ...]]:
        for batch in self.table.to_batches(max_chunksize=65536):
            yield from zip(*(batch.column(name).to_pylist() for name in self.columns),
                           strict=True)


@dataclass(frozen=True)
class Window:
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class Report:
    sources: tuple[SourceReport, ...]
    status_counts: dict[str, int]
    rejects: RejectReport
    extra: dict[str, Any] = field(default_factory=dict)
    classes: dict[str, ClassReport] = field(default_factory=dict)
    verdicts: tuple[Verdict, ...] = ()
    protocols: tuple[ProtocolReport, ...] = ()
    trends: Trends = field(default_factory=Trends)
    server: ServerGuess = field(default_factory=lambda: ServerGuess("unknown", "none", ""))
    window: Window = field(default_factory=Window)
    client_field: str = "client"
    client_counts: ClientCounts = field(default_factory=ClientCounts)
    allow_checks: AllowChecks | None = None  # analyzer.verdicts.allow_checks: is Allow honest?
    # every method seen (None for requests without one), with its responses by status
    methods: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "lines": sum(s.lines for s in self.sources),
            "parsed": sum(s.parsed for s in self.sources),
            "rejected": sum(s.rejected for s in self.sources),
        }

    @property
    def requests(self) -> int:
        """Requests counted (inside the window, when there is one)."""
        return sum(self.status_counts.values())

    def _repr_html_(self) -> str:
        """Jupyter shows a Report as the HTML report (without the page around it)."""
        from ..render.html import report_html

        return report_html(self, fragment=True)

    def class_count(self, name: str) -> int:
        cls = self.classes.get(name)
        return cls.count if cls else 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON report contract (DESIGN.md section 5), plus evidence and explanations."""
        sources = [
            {k: v for k, v in asdict(s).items() if k != "detection" or v is not None}
            for s in self.sources
        ]
        classes = {name: _empty_class(name).to_dict() for name in CLASSES}
        classes.update({name: c.to_dict() for name, c in self.classes.items()})
        return {
            "schema": SCHEMA,
            "sources": sources,
            "totals": self.totals,
            "requests": self.requests,
            "window": asdict(self.window),
            "server": asdict(self.server),
            "client_field": self.client_field,
            "status_counts": dict(self.status_counts),
            "classes": classes,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "protocols": [p.to_dict() for p in self.protocols],
            "trends": self.trends.to_dict(),
            "allow_checks": self.allow_checks.to_dict() if self.allow_checks else None,
            "methods": {
                method: {"counts": dict(counts), "registered": is_registered(method)}
                for method, counts in self.methods.items()
            },
            "rejects": {
                "count": self.rejects.count,
                "reasons": dict(self.rejects.reasons),
                "examples": [asdict(e) for e in self.rejects.examples],
            },
            **self.extra,
        }


def _command_dict(command: Command | str) -> dict[str, Any]:
    """``{"command", "safe", "why"}``; a bare string is not known to be safe."""
    if isinstance(command, Command):
        return command.to_dict()
    return {"command": command, "safe": False, "why": ""}


def _empty_class(name: str) -> ClassReport:
    return ClassReport(name, STATUS_OF_CLASS[name], 0, CLASS_KEY[name], {})


# -- building -----------------------------------------------------------------------------------

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


def _iso(value: object) -> str | None:
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
    key = pc.if_else(pc.equal(status, 505), hits["protocol"], hits["method"])
    coded = {
        "vhost": hits["vhost"], "method": hits["method"], "protocol": hits["protocol"],
        "status": status, "client": pc.fill_null(hits["client"], NO_METHOD),
        "pair": pc.take(pair_of_agent, pc.fill_null(agents.indices, len(described) - 1)),
        "key": pc.fill_null(key, NO_METHOD),
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


def _key_column(frame: pd.DataFrame) -> pd.Series:
    """method, or protocol for 505; ``-`` where there is none."""
    key = frame["method"].where(frame["status"] != 505, frame["protocol"])
    return key.astype(object).where(key.notna(), NO_METHOD)


def _classes(summary: Summary, clients: pa.Table, seen: pd.DataFrame, top: int
             ) -> dict[str, ClassReport]:
    requests = summary.part("requests").to_pandas()
    requests = requests[requests["status"].isin(list(CLASS_BY_STATUS))]
    requests = requests.assign(key=_key_column(requests)) if not requests.empty else requests
    out: dict[str, ClassReport] = {}
    for name in CLASSES:
        status = STATUS_OF_CLASS[name]
        rows = requests[requests["status"] == status] if not requests.empty else requests
        if rows.empty:
            out[name] = _empty_class(name)
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
            name=name, status=status, count=int(rows["count"].sum()), key=CLASS_KEY[name],
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


_VERDICT_ORDER = {v: i for i, v in enumerate(
    ["capability_gap", "partial_implementation", "never_allowed", "resource_restriction"])}


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
        spikes += spiking(cls, "*", sum(found.series[(cls, k)] for k in keys))
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
