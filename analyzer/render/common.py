"""Formatting shared by the text and Markdown reports: the same rows, different markup.

Everything here only formats what a Report holds; nothing is computed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..report.model import (
    ClassReport,
    Clients,
    Example,
    More,
    ProtocolReport,
    Report,
    SourceReport,
    Verdict,
)
from ..vocabulary import CLASSES, STATUS_OF_CLASS, VERDICT_TITLES, class_title

#: Each class's heading, in report order.
CLASS_TITLES = {name: class_title(name) for name in CLASSES}


def when(value: str | None) -> str:
    """``2025-10-01T12:00:00Z`` -> ``2025-10-01 12:00:00``."""
    return value.replace("T", " ").rstrip("Z") if value else "-"


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{status}×{n}" for status, n in counts.items()) or "-"


def named_counts(items: Sequence[tuple[str, int]], limit: int = 3) -> str:
    shown = ", ".join(f"{name} ({n})" for name, n in items[:limit])
    more = len(items) - limit
    return (shown + (f", +{more} more" if more > 0 else "")) or "-"


def key_counts(cls: ClassReport, limit: int = 3) -> str:
    """A class's keys with their requests, the first ``limit``, then what the rest holds:
    ``FOO (12), BAR (3), get (1), +4,981 more (29,017 requests)``."""
    items = list(cls.by.items())
    shown = [f"{name} ({n})" for name, n in items[:limit]]
    rest = More(len(items[limit:]), sum(n for _, n in items[limit:]))
    more = joined_more(rest, cls.more)
    if more is not None:
        shown.append(more.text())
    return ", ".join(shown) or "-"


def joined_more(*parts: More | None) -> More | None:
    """Several Mores (None: nothing left out) as one."""
    given = [m for m in parts if m is not None and (m.count or m.requests)]
    if not given:
        return None
    return More(sum(m.count for m in given), sum(m.requests for m in given),
                all(m.exact for m in given))


def more_row(more: More | None, noun: str, width: int) -> list[list[object]]:
    """A table's last row saying what it leaves out (none when nothing is)."""
    if more is None:
        return []
    return [[more.text(noun), *["" for _ in range(width - 1)]]]


def top_clients_text(clients: Clients, limit: int = 3) -> str:
    return named_counts([(c.client, c.count) for c in clients.top_clients], limit)


def client_lines(clients: Clients, limit: int = 5) -> list[str]:
    lines = [f"{c.client}: {c.count} ({c.ua_family}, {c.client_kind})"
             for c in clients.top_clients[:limit]]
    if clients.distinct > limit:
        lines.append(f"... {clients.distinct} distinct clients in all")
    return lines


def example_text(example: Example) -> str:
    shown = example.request if example.request is not None else (example.target or "-")
    return f"{example.where} {example.status} {shown}"


def header_lines(report: Report) -> list[str]:
    totals = report.totals
    server = report.server
    basis = {"option": "as given", "format": "from the log format",
             "evidence": "guessed from the statuses", "none": "not known"}.get(server.basis, "")
    lines = [
        f"{totals['lines']} lines: {totals['parsed']} parsed, {totals['rejected']} rejected; "
        f"{report.requests} requests counted; times in UTC",
        f"server: {server.name} ({basis}{': ' + server.reason if server.reason else ''})",
    ]
    if report.window.since or report.window.until:
        lines.append(f"window: {when(report.window.since)} to {when(report.window.until)}")
    if report.client_field != "client":
        lines.append(f"clients identified by: {report.client_field}")
    return lines


def mixed(report: Report) -> list[SourceReport]:
    """The sources whose detection found lines of other formats too (a file of mixed formats),
    or has a note on how the format was read (unnamed fields, times without a year or offset)."""
    return [s for s in report.sources
            if s.detection and ("other formats" in s.detection or "note:" in s.detection)]


def class_rows(report: Report) -> list[list[object]]:
    rows: list[list[object]] = []
    for name in CLASSES:
        cls = report.classes.get(name)
        if cls is None or not cls.count:
            rows.append([name, STATUS_OF_CLASS[name], 0, 0, "-", "-", "-"])
            continue
        rows.append([name, cls.status, cls.count, cls.clients.distinct, key_counts(cls),
                     when(cls.first_seen), when(cls.last_seen)])
    return rows


CLASS_HEADERS = ["class", "status", "requests", "clients", "by method / protocol", "first seen",
                 "last seen"]


def class_key_rows(cls: ClassReport) -> list[list[object]]:
    rows: list[list[object]] = []
    for key, n in cls.by.items():
        clients = cls.by_key.get(key, Clients())
        rows.append([key, n, top_clients_text(clients), named_counts(list(clients.ua_families)),
                     named_counts(list(clients.client_kinds))])
    if cls.more is not None:
        rows.append([f"+{'about ' * (not cls.more.exact)}{cls.more.count:,} more",
                     cls.more.requests, "-", "-", "-"])
    return rows


def class_key_headers(cls: ClassReport) -> list[str]:
    return [cls.key, "requests", "top clients", "user-agent families", "client kinds"]


VERDICT_HEADERS = ["vhost", "method", "verdict", "501", "405", "2xx/3xx", "IANA", "first seen",
                   "last seen"]


def verdict_rows(verdicts: Sequence[Verdict]) -> list[list[object]]:
    return [
        [v.vhost or "-", v.method, v.verdict, int(v.counts.get("501", 0)),
         int(v.counts.get("405", 0)), v.successes, "yes" if v.registered else "no",
         when(v.first_seen), when(v.last_seen)]
        for v in verdicts
    ]


def verdict_title(v: Verdict) -> str:
    where = f" on {v.vhost}" if v.vhost else ""
    return f"{v.method}{where}: {VERDICT_TITLES.get(v.verdict, v.verdict)}"


def verdict_evidence(v: Verdict) -> list[tuple[str, list[str]]]:
    """(label, lines) pairs of a verdict's evidence, in the order shown."""
    items: list[tuple[str, list[str]]] = [("responses", [counts_text(v.counts)])]
    items.append(("seen", [f"{when(v.first_seen)} to {when(v.last_seen)}"]))
    if v.examples:
        items.append(("examples", [example_text(e) for e in v.examples]))
    if v.resources:
        more = "" if v.resources_complete else " (a sample: too many to list)"
        items.append(("resources" + more, [f"{r} ({n})" for r, n in v.resources[:5]]))
    if v.success_examples:
        items.append(("succeeded", [example_text(e) for e in v.success_examples]))
    if v.allow:
        items.append(("Allow header", [f"{a} ({n})" for a, n in v.allow[:3]]))
    if v.clients.top_clients:
        items.append(("clients", client_lines(v.clients)))
        items.append(("families", [named_counts(list(v.clients.ua_families), 5)]))
        items.append(("kinds", [named_counts(list(v.clients.client_kinds), 7)]))
    return items


PROTOCOL_HEADERS = ["protocol", "requests", "505", "statuses", "findings"]


def protocol_rows(protocols: Sequence[ProtocolReport]) -> list[list[object]]:
    return [
        [p.protocol, p.requests, p.version_not_supported, counts_text(p.counts),
         ", ".join(p.findings) or "-"]
        for p in protocols
    ]


TREND_HEADERS = ["class", "method / protocol", "requests", "first seen", "last seen", "spikes"]


def trend_rows(report: Report) -> list[list[object]]:
    spikes: dict[tuple[str, str], int] = {}
    for s in report.trends.spikes:
        spikes[(s.cls, s.key)] = spikes.get((s.cls, s.key), 0) + 1
    return [
        [s.cls, s.key, s.total, when(s.first_seen), when(s.last_seen),
         spikes.get((s.cls, s.key), 0)]
        for s in report.trends.series
    ]


def spike_lines(report: Report, limit: int = 10) -> list[str]:
    shown = [
        f"{when(s.bucket)}  {s.cls}{'' if s.key == '*' else ' ' + s.key}: {s.count} "
        f"(threshold {s.threshold:.1f})"
        for s in report.trends.spikes[:limit]
    ]
    more = len(report.trends.spikes) - limit
    return shown + ([f"... {more} more"] if more > 0 else [])
