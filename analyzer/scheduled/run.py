"""Scheduled reports: one run reads what was added, stores it, and reports over a window.

``run_report`` is the whole of ``logscan report``: under the state's lock it reads the new lines
of each input (:mod:`analyzer.scheduled.checkpoints`), merges their Summary with the stored
Summaries of the window, compares them with the window before, hands the result to the caller's
``publish`` (the CLI writes its outputs there), and only then commits the Summary with the
checkpoints (:mod:`analyzer.scheduled.history`). The result is pure data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..formats.serverconfig import FormatChoice, resolve_choice
from ..report import Report, build_report
from ..summary import Summary
from ..summary.bounded import DEFAULT_MAX_KEYS, FOLDED
from ..timewindow import format_duration, parse_duration
from ..vocabulary import CLASS_BY_STATUS, CLASSES, IANA_METHODS, NO_METHOD
from .checkpoints import NewLines, SourceRun, expand_live, read_new
from .history import RunRecord, State, StateStore, new_run_id

DEFAULT_WINDOW = timedelta(days=7)
# How many methods, protocols or clients a list names before it says how many more there are:
# clients choose these values, so a list of them is as long as a scanner wants
LISTED = 20  # in alert lines and the terminal
LISTED_JSON = 100  # in the JSON comparison
NOVELTY_CONDITIONS = ("new_method", "new_client")


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """This run: what it read of each input."""

    id: str
    started: datetime
    finished: datetime
    sources: tuple[SourceRun, ...]

    @property
    def new_lines(self) -> int:
        return sum(s.new_lines for s in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "new_lines": self.new_lines,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "sources": [s.to_dict() for s in self.sources],
        }


@dataclass(frozen=True)
class Change:
    current: int
    previous: int

    @property
    def delta(self) -> int:
        return self.current - self.previous

    def to_dict(self) -> dict[str, int]:
        return {"current": self.current, "previous": self.previous, "delta": self.delta}


@dataclass(frozen=True)
class Comparison:
    """The window against the window of the same length before it."""

    start: datetime
    end: datetime
    previous_start: datetime
    runs: int
    previous_runs: int
    classes: dict[str, Change]
    methods: dict[str, Change]  # every request, by method
    class_methods: dict[str, dict[str, Change]]  # per class, by method (protocol for 505)
    new_methods: tuple[str, ...]  # in the window, not in the previous one
    new_clients: tuple[str, ...]  # sending requests of a class in the window, not before
    baseline: bool = True  # the previous window had requests to compare with

    def to_dict(self) -> dict[str, Any]:
        """As JSON; each list and map is cut at ``LISTED_JSON`` entries (the most requests in
        the window first), and a ``*_more`` key says how many were left out and what they
        count."""
        data: dict[str, Any] = {
            "window": {"start": self.start.isoformat(), "end": self.end.isoformat(),
                       "runs": self.runs},
            "previous": {"start": self.previous_start.isoformat(),
                         "end": self.start.isoformat(), "runs": self.previous_runs},
            "classes": {k: v.to_dict() for k, v in self.classes.items()},
            "methods": _cut_changes(self.methods),
            "class_methods": {c: _cut_changes(by) for c, by in self.class_methods.items()},
            "new_methods": list(self.new_methods[:LISTED_JSON]),
            "new_clients": list(self.new_clients[:LISTED_JSON]),
            "baseline": self.baseline,
        }
        more = _more(self.methods)
        if more:
            data["methods_more"] = more
        class_more = {c: m for c, by in self.class_methods.items() if (m := _more(by))}
        if class_more:
            data["class_methods_more"] = class_more
        for name, values in (("new_methods", self.new_methods), ("new_clients", self.new_clients)):
            if len(values) > LISTED_JSON:
                data[f"{name}_more"] = len(values) - LISTED_JSON
        return data


def _cut_changes(changes: Mapping[str, Change]) -> dict[str, dict[str, int]]:
    return {k: v.to_dict() for k, v in list(changes.items())[:LISTED_JSON]}


def _more(changes: Mapping[str, Change]) -> dict[str, int] | None:
    """What a cut map of changes leaves out: how many keys, and their requests now and before."""
    rest = list(changes.values())[LISTED_JSON:]
    if not rest:
        return None
    return {"keys": len(rest), "current": sum(c.current for c in rest),
            "previous": sum(c.previous for c in rest)}


def listed(names: Sequence[str], limit: int = LISTED,
           show: Callable[[str], str] = str) -> str:
    """``names`` (each through ``show``) joined with commas, cut at ``limit`` with "and N
    more"."""
    shown = ", ".join(show(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


@dataclass(frozen=True)
class Novelty:
    """Methods and clients this run saw that no earlier run of the window had seen.

    With no earlier traffic in the window there is nothing to compare with, and nothing is new.
    Methods count every request; clients count those that sent requests of a class (501, 405,
    505), since new visitors to a site are no news.
    """

    methods: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    baseline: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"methods": list(self.methods[:LISTED_JSON]),
                                "clients": list(self.clients[:LISTED_JSON]),
                                "baseline": self.baseline}
        for name, values in (("methods", self.methods), ("clients", self.clients)):
            if len(values) > LISTED_JSON:
                data[f"{name}_more"] = len(values) - LISTED_JSON
        return data


@dataclass(frozen=True)
class Metric:
    """One metric family for Prometheus' textfile collector."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: tuple[tuple[tuple[tuple[str, str], ...], float], ...] = ()


@dataclass(frozen=True)
class ScheduledReport:
    """A scheduled run: the Report over the window (with ``run`` and ``comparison`` in its
    JSON), the novelty of this run, and the metrics for Prometheus."""

    report: Report
    run: RunInfo
    window: timedelta
    comparison: Comparison
    novelty: Novelty
    metrics: tuple[Metric, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def triggered(self, conditions: Iterable[str]) -> list[str]:
        """Which of ``new_method`` / ``new_client`` hold, as one line each."""
        hits = []
        for condition in conditions:
            if condition == "new_method" and self.novelty.methods:
                hits.append("new_method: " + listed(self.novelty.methods))
            elif condition == "new_client" and self.novelty.clients:
                hits.append("new_client: " + listed(self.novelty.clients))
        return hits


# -- the run ------------------------------------------------------------------------------------


def run_report(
    inputs: Sequence[str],
    state: str,
    *,
    window: timedelta = DEFAULT_WINDOW,
    log_format: FormatChoice = None,
    wait: float = 0.0,
    server: str = "auto",
    strict: bool = False,
    clock: Callable[[], datetime] | None = None,
    workers: int | None = None,
    publish: Callable[[ScheduledReport], None] | None = None,
    max_keys: int = DEFAULT_MAX_KEYS,
) -> ScheduledReport:
    """Read what was added to ``inputs`` since the last run on ``state``, store it, and report
    over the last ``window`` of runs (DESIGN.md section 5, Scheduled).

    The Report is :func:`analyzer.report.build_report` of the merged Summaries of the runs that
    finished in the window; ``server`` and ``max_keys`` are as for :func:`analyzer.analyze`.

    The state's lock is held from the first read of the state to the commit, and ``publish``
    (which writes the outputs) runs under it, before the commit: when it raises, nothing is
    committed, so the next run reads the same lines again and raises the same alerts. A second
    run on the same state waits up to ``wait`` seconds, then raises
    :class:`~analyzer.errors.StateLockedError`.
    """
    now = clock or (lambda: datetime.now(UTC))
    fmt = resolve_choice(log_format)
    store = StateStore(state)
    with store.locked(wait):
        started = now()
        saved = store.load()
        store.verify(saved)
        store.clean(saved)
        paths = expand_live(inputs, known=saved.checkpoints)
        new = read_new(paths, saved.checkpoints, fmt, strict=strict, workers=workers,
                       max_keys=max_keys)
        finished = max(now(), started)
        record = RunRecord(new_run_id(started), started, finished, new.new_lines)
        totals = _counters(store.totals(saved).merge(_counters(new.summary)))
        result = _report(store, saved, record, new, totals, window=window, server=server)
        if publish is not None:
            publish(result)  # an output that cannot be written commits nothing
        store.commit(saved, record, new.summary, new.checkpoints, totals)
    return result


def _report(
    store: StateStore,
    saved: State,
    record: RunRecord,
    new: NewLines,
    totals: Summary,
    *,
    window: timedelta,
    server: str,
) -> ScheduledReport:
    """The report of a run that is not committed yet: the stored runs of the window and this
    run's Summary as the next run will read it back from its Parquet file."""
    finished = record.finished
    current = [r for r in saved.runs if finished - window < r.finished <= finished]
    previous = [r for r in saved.runs
                if finished - 2 * window < r.finished <= finished - window]
    pieces = store.run_summaries(current)
    stored = new.summary.to_arrow()
    if stored.num_rows:
        pieces[record.id] = Summary.from_arrow(stored, max_keys=new.summary.max_keys)
    before = store.summary(previous)
    this = pieces.get(record.id, Summary.empty())
    earlier = _merged(s for run_id, s in pieces.items() if run_id != record.id)
    in_window = _merged(pieces.values())
    run = RunInfo(record.id, record.started, finished, new.sources)
    runs = len(current) + 1
    comparison = compare(in_window, before, start=finished - window, end=finished,
                         window=window, runs=runs, previous_runs=len(previous))
    novelty = novel(this, earlier)
    report = build_report(in_window, server=server)
    report = replace(report, extra={
        **report.extra,
        "history": {"window": format_duration(window), "start": (finished - window).isoformat(),
                   "end": finished.isoformat(), "runs": runs},
        "run": run.to_dict(),
        "comparison": comparison.to_dict(),
        "novelty": novelty.to_dict(),
    })
    return ScheduledReport(report, run, window, comparison, novelty,
                           metrics(totals, in_window, run, window))


def _counters(summary: Summary) -> Summary:
    """The parts of a Summary that the Prometheus counters need, kept in the state since it was
    created. Their labels name a method only when it is registered and no protocol (see
    :func:`metrics`), so methods outside the IANA registry are stored as ``other`` and
    protocols not at all: a method-fuzzing scanner does not grow what every run reads."""
    requests = summary.part("requests")
    method = requests["method"]
    keep = pc.or_(pc.is_null(method), pc.fill_null(pc.is_in(method, value_set=_REGISTERED), False))
    requests = requests.set_column(requests.schema.get_field_index("method"), "method",
                                   pc.if_else(keep, method, OTHER))
    requests = requests.set_column(requests.schema.get_field_index("protocol"), "protocol",
                                   pa.nulls(requests.num_rows, pa.string()))
    return Summary({"sources": summary.part("sources"), "requests": requests})


def _merged(summaries: Iterable[Summary]) -> Summary:
    items = list(summaries)
    return Summary.merge_all(items) if items else Summary.empty()


# -- comparing ----------------------------------------------------------------------------------


def _method(value: str | None) -> str:
    return NO_METHOD if value is None else value


def method_counts(summary: Summary) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in summary.part("requests").select(["method", "count"]).to_pylist():
        key = _method(row["method"])
        counts[key] = counts.get(key, 0) + row["count"]
    return counts


def class_counts(summary: Summary) -> dict[str, dict[str, int]]:
    """Per class, requests by method (by protocol for version_not_supported)."""
    out: dict[str, dict[str, int]] = {name: {} for name in CLASSES}
    rows = summary.part("requests").select(["method", "protocol", "status", "count"]).to_pylist()
    for row in rows:
        name = CLASS_BY_STATUS.get(row["status"])
        if name is None:
            continue
        key = row["protocol"] if name == "version_not_supported" else row["method"]
        key = _method(key)
        out[name][key] = out[name].get(key, 0) + row["count"]
    return out


def class_clients(summary: Summary) -> dict[str, dict[str, int]]:
    """Per class, requests by client."""
    out: dict[str, dict[str, int]] = {name: {} for name in CLASSES}
    for row in summary.part("hits").select(["status", "client", "count"]).to_pylist():
        name = CLASS_BY_STATUS.get(row["status"])
        if name is None or row["client"] is None:
            continue
        out[name][row["client"]] = out[name].get(row["client"], 0) + row["count"]
    return out


def _clients(summary: Summary) -> set[str]:
    return {c for by in class_clients(summary).values() for c in by}


def _changes(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, Change]:
    keys = sorted(set(now) | set(before), key=lambda k: (-(now.get(k, 0)), k))
    return {k: Change(now.get(k, 0), before.get(k, 0)) for k in keys}


def compare(
    current: Summary,
    previous: Summary,
    *,
    start: datetime,
    end: datetime,
    window: timedelta,
    runs: int,
    previous_runs: int,
) -> Comparison:
    baseline = previous.requests > 0  # with nothing before, nothing is new
    now_classes, before_classes = class_counts(current), class_counts(previous)
    now_methods, before_methods = method_counts(current), method_counts(previous)
    return Comparison(
        start=start,
        end=end,
        previous_start=start - window,
        runs=runs,
        previous_runs=previous_runs,
        classes={
            name: Change(sum(now_classes[name].values()), sum(before_classes[name].values()))
            for name in CLASSES
        },
        methods=_changes(now_methods, before_methods),
        class_methods={
            name: _changes(now_classes[name], before_classes[name]) for name in CLASSES
        },
        new_methods=tuple(sorted(set(now_methods) - set(before_methods))) if baseline else (),
        new_clients=tuple(sorted(_clients(current) - _clients(previous))) if baseline else (),
        baseline=baseline,
    )


def novel(run: Summary, earlier: Summary) -> Novelty:
    if earlier.requests == 0:
        return Novelty()
    methods = set(method_counts(run)) - set(method_counts(earlier))
    clients = _clients(run) - _clients(earlier)
    return Novelty(tuple(sorted(methods)), tuple(sorted(clients)), baseline=True)


# -- metrics ------------------------------------------------------------------------------------

VHOST_LABELS = 20  # virtual hosts named in the Prometheus labels; the rest are "other"
# series of logscan_requests_total and logscan_class_requests_total: the busiest keep their
# labels, the rest add up in one series whose labels are all "other" (a file of at most ~400
# lines, whatever statuses, methods and virtual hosts the log holds)
REQUEST_SERIES = 250
CLASS_SERIES = 100
OTHER = "other"
_REGISTERED = pa.array(sorted(IANA_METHODS), pa.string())


def _labelled_requests(totals: Summary, vhost_labels: int) -> pa.Table:
    """Request counts by (vhost, method, status) label values, with the values that come from
    log content capped (see :func:`metrics`); Arrow kernels, so that a log of a million
    distinct methods costs no Python loop per method."""
    table = totals.part("requests")
    if table.num_rows == 0:
        return pa.table({"vhost": pa.array([], pa.string()), "method": pa.array([], pa.string()),
                         "status": pa.array([], pa.string()), "count": pa.array([], pa.int64())})
    vhost = pc.fill_null(table["vhost"], "")
    named = pc.not_equal(vhost, FOLDED)  # folded vhosts (analyzer.summary.bounded) are other
    top = _top(vhost.filter(named), table["count"].filter(named), vhost_labels)
    vhost = pc.if_else(pc.is_in(vhost, value_set=top), vhost, OTHER)
    method = table["method"]
    registered = pc.fill_null(pc.is_in(method, value_set=_REGISTERED), False)
    method = pc.if_else(pc.is_null(method), NO_METHOD, pc.if_else(registered, method, OTHER))
    status = pc.fill_null(pc.cast(table["status"], pa.string()), "")
    labelled = pa.table({"vhost": vhost, "method": method, "status": status,
                         "count": table["count"]})
    grouped = labelled.group_by(["vhost", "method", "status"], use_threads=False).aggregate(
        [("count", "sum")])
    return grouped.rename_columns(["vhost", "method", "status", "count"])


def _capped(series: dict[tuple[str, str, str], int], limit: int
            ) -> dict[tuple[str, str, str], int]:
    """The ``limit`` - 1 busiest series (ties: by labels), the rest summed in one series whose
    labels are all ``other``."""
    if len(series) <= limit:
        return series
    ranked = sorted(series.items(), key=lambda item: (-item[1], item[0]))
    kept = dict(ranked[: limit - 1])
    other = (OTHER, OTHER, OTHER)
    kept[other] = kept.get(other, 0) + sum(n for _, n in ranked[limit - 1:])
    return kept


def _top(values: pa.ChunkedArray, counts: pa.ChunkedArray, k: int) -> pa.Array:
    """The ``k`` values with the largest total count (ties: the smallest value first)."""
    totals = pa.table({"value": values, "count": counts}).group_by(
        ["value"], use_threads=False).aggregate([("count", "sum")])
    ranked = totals.sort_by([("count_sum", "descending"), ("value", "ascending")])
    return ranked["value"].slice(0, max(k, 0)).combine_chunks()



def metrics(totals: Summary, window: Summary, run: RunInfo, length: timedelta, *,
            vhost_labels: int = VHOST_LABELS) -> tuple[Metric, ...]:
    """Counters since the state was created (monotonic, for ``rate()``), gauges over the window
    and of the last run.

    Label values that come from log content are capped, since each one is a time series in the
    user's database: a method keeps its name when it is in the IANA registry (a fixed set) and
    is ``other`` otherwise; the ``vhost_labels`` virtual hosts with the most requests keep
    theirs, the rest are ``other``.
    """
    requests: dict[tuple[str, str, str], int] = {}
    classed: dict[tuple[str, str, str], int] = {}
    for row in _labelled_requests(totals, vhost_labels).to_pylist():
        vhost, method, status = row["vhost"], row["method"], row["status"]
        requests[(vhost, method, status)] = row["count"]
        name = CLASS_BY_STATUS.get(int(status)) if status.isdigit() else None
        if name is not None:
            ckey = (name, vhost, method)
            classed[ckey] = classed.get(ckey, 0) + row["count"]
    requests = _capped(requests, REQUEST_SERIES)
    classed = _capped(classed, CLASS_SERIES)
    lines = [(r["source"], r["lines"], r["rejected"]) for r in totals.part("sources").to_pylist()]
    per_source: dict[str, list[int]] = {}
    for source, n, rejected in lines:
        per_source.setdefault(source, [0, 0])
        per_source[source][0] += n
        per_source[source][1] += rejected
    window_classes = class_counts(window)
    span = format_duration(length)

    def labels(**values: str) -> tuple[tuple[str, str], ...]:
        return tuple(values.items())

    return (
        Metric("logscan_requests_total", "counter",
               "Requests read by logscan report since its state was created.",
               tuple((labels(vhost=v, method=m, status=s), float(n))
                     for (v, m, s), n in sorted(requests.items()))),
        Metric("logscan_class_requests_total", "counter",
               "Requests answered 501 (not_implemented), 405 (method_not_allowed) or 505 "
               "(version_not_supported), since the state was created.",
               tuple((labels(**{"class": c}, vhost=v, method=m), float(n))
                     for (c, v, m), n in sorted(classed.items()))),
        Metric("logscan_lines_total", "counter", "Log lines read, per input.",
               tuple((labels(source=s), float(v[0])) for s, v in sorted(per_source.items()))),
        Metric("logscan_rejected_lines_total", "counter",
               "Log lines that could not be parsed, per input.",
               tuple((labels(source=s), float(v[1])) for s, v in sorted(per_source.items()))),
        Metric("logscan_window_class_requests", "gauge",
               "Requests of each class in the report window.",
               tuple((labels(**{"class": c}, window=span), float(sum(window_classes[c].values())))
                     for c in CLASSES)),
        Metric("logscan_last_run_new_lines", "gauge", "Lines read by the last run.",
               ((labels(), float(run.new_lines)),)),
        Metric("logscan_last_run_timestamp_seconds", "gauge",
               "When the last run finished (Unix time).",
               ((labels(), run.finished.timestamp()),)),
        Metric("logscan_last_run_duration_seconds", "gauge", "How long the last run took.",
               ((labels(), (run.finished - run.started).total_seconds()),)),
    )


__all__ = [
    "DEFAULT_WINDOW",
    "Comparison",
    "Metric",
    "Novelty",
    "RunInfo",
    "ScheduledReport",
    "parse_duration",
    "run_report",
]
