"""The Report model: the pure-data result of an analysis that every renderer reads (renderers
never compute).

Everything in a Report is plain data (frozen dataclasses, strings, ints, dicts, tuples; times as
ISO 8601 strings in UTC), and :meth:`Report.to_dict` is the JSON contract of DESIGN.md section 5.
:func:`analyzer.report.build.build_report` makes one from a merged Summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from ..advice.guidance import Guidance
from ..advice.reproduce import Command
from ..parse.kernels import active_kernel
from ..verdicts.allow_checks import AllowChecks
from ..verdicts.server import ServerGuess
from ..verdicts.trends import SPIKE_K
from ..vocabulary import CLASSES, KEY_OF_CLASS, STATUS_OF_CLASS, is_registered

SCHEMA = "logscan.report/1"


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
class More:
    """What a cut list leaves out: ``count`` more entries (estimated when not ``exact``: the
    Summary counts distinct keys beyond K with a sketch) and their ``requests`` (exact)."""

    count: int
    requests: int
    exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"more": self.count, "requests": self.requests, "exact": self.exact}

    def text(self, noun: str = "") -> str:
        """``+4,981 more methods (29,017 requests)``; ``about`` when estimated."""
        about = "" if self.exact else "about "
        noun = f" {noun}" if noun else ""
        return f"+{about}{self.count:,} more{noun} ({self.requests:,} request" \
               f"{'s' * (self.requests != 1)})"


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
    more: More | None = None  # the keys beyond those in ``by``

    def to_dict(self) -> dict[str, Any]:
        clients = self.clients.to_dict()
        more = {"by_more": self.more.to_dict()} if self.more is not None else {}
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
            **more,
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
    vhost_folded: bool = False  # ``vhost`` stands for the vhosts the Summary folded
    succeeded_elsewhere_more: int = 0  # vhosts beyond those named in succeeded_elsewhere

    def to_dict(self) -> dict[str, Any]:
        clients = self.clients.to_dict()
        folded: dict[str, Any] = {"vhost_folded": True} if self.vhost_folded else {}
        if self.succeeded_elsewhere_more:
            folded["succeeded_elsewhere_more"] = self.succeeded_elsewhere_more
        return {
            **folded,
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
class Fold:
    """The keys of a class beyond those listed, as one finding: "4,981 distinct unregistered
    methods from 1 client, 29,017 requests: method fuzzing"."""

    cls: str  # the class name
    key: str  # "method" (unregistered methods) or "protocol"
    status: int
    distinct: int
    distinct_exact: bool
    requests: int
    clients: int
    clients_exact: bool
    label: str  # "method fuzzing", "unregistered methods", "protocol fuzzing", "other protocols"
    examples: tuple[Example, ...] = ()
    top_clients: Clients = field(default_factory=Clients)

    @property
    def what(self) -> str:
        noun = "unregistered methods" if self.key == "method" else "protocols"
        if self.distinct == 1:
            noun = noun[:-1]
        about = "" if self.distinct_exact else "about "
        clients = "" if self.clients_exact else "about "
        return (f"{about}{self.distinct:,} distinct {noun} from {clients}{self.clients:,} "
                f"client{'s' * (self.clients != 1)}, {self.requests:,} "
                f"request{'s' * (self.requests != 1)}: {self.label}")

    def to_dict(self) -> dict[str, Any]:
        clients = self.top_clients.to_dict()
        return {
            "class": self.cls, "key": self.key, "status": self.status,
            "distinct": self.distinct, "distinct_exact": self.distinct_exact,
            "requests": self.requests, "clients": self.clients,
            "clients_exact": self.clients_exact, "label": self.label, "what": self.what,
            "examples": [asdict(e) for e in self.examples],
            "top_clients": clients["top_clients"], "client_kinds": clients["client_kinds"],
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
    more: tuple[tuple[str, More], ...] = ()  # per class: the series not listed
    other: tuple[tuple[str, tuple[int, ...]], ...] = ()  # per class: their counts per bucket

    def to_dict(self) -> dict[str, Any]:
        counts = dict(self.other)
        more = ({"series_more": {
            cls: {**m.to_dict(), "points": [[b, n] for b, n in zip(
                self.buckets, counts.get(cls, ()), strict=False)]}
            for cls, m in self.more}} if self.more else {})
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
            **more,
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
    # what the lists leave out (see analyzer.summary.bounded: keys are written by clients)
    methods_more: More | None = None
    verdicts_more: More | None = None
    protocols_more: More | None = None
    folds: tuple[Fold, ...] = ()  # keys beyond the lists, one finding per class
    # the parsing kernel that was active when the report was built (analyzer.parse.kernels)
    kernel: str = field(default_factory=active_kernel)

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
        classes = {name: empty_class(name).to_dict() for name in CLASSES}
        classes.update({name: c.to_dict() for name, c in self.classes.items()})
        return {
            "schema": SCHEMA,
            "kernel": self.kernel,
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
            "folded": [f.to_dict() for f in self.folds],
            **{f"{name}_more": more.to_dict() for name, more in (
                ("methods", self.methods_more), ("verdicts", self.verdicts_more),
                ("protocols", self.protocols_more)) if more is not None},
            **self.extra,
        }


def _command_dict(command: Command | str) -> dict[str, Any]:
    """``{"command", "safe", "why"}``; a bare string is not known to be safe."""
    if isinstance(command, Command):
        return command.to_dict()
    return {"command": command, "safe": False, "why": ""}


def empty_class(name: str) -> ClassReport:
    """A class no request fell in (every class is in every report)."""
    return ClassReport(name, STATUS_OF_CLASS[name], 0, KEY_OF_CLASS[name], {})


# -- building -----------------------------------------------------------------------------------
