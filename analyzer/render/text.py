"""The terminal report: plain aligned tables; every log value passes through terminal_safe.

Colour (``color=True``, which the CLI sets only when stdout is a terminal) touches headings and
verdict names only, never log values.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from ..advice.actions import action_evidence, allow_check_lines
from ..report.model import Report
from . import common
from .safety import terminal_safe

WIDTH = 100
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"
_VERDICT_COLOURS = {
    "capability_gap": "\x1b[31m",
    "partial_implementation": "\x1b[33m",
    "never_allowed": "\x1b[35m",
    "resource_restriction": "\x1b[32m",
}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned text columns, numbers right-aligned."""
    cells = [[terminal_safe(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int) for row in rows) and rows for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric,
                                                                      strict=True)]
        return "  ".join(parts).rstrip()

    return [line(list(headers)), line(["-" * w for w in widths])] + [line(r) for r in cells]


def render_text(report: Report, *, color: bool = False) -> str:
    def heading(text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if color else text

    def wrap(text: str, first: str = "  ", rest: str = "  ") -> list[str]:
        return textwrap.wrap(terminal_safe(text), WIDTH, initial_indent=first,
                             subsequent_indent=rest) or [first.rstrip()]

    out = [heading("logscan report"), *(terminal_safe(x) for x in common.header_lines(report))]
    out += ["", heading("Sources"), *table(
        ["source", "format", "lines", "parsed", "rejected"],
        [[s.path, s.format, s.lines, s.parsed, s.rejected] for s in report.sources],
    )]
    out += [f"{terminal_safe(s.path)}: {terminal_safe(s.detection)}" for s in common.mixed(report)]
    out += ["", heading("Classes"), *table(common.CLASS_HEADERS, common.class_rows(report))]
    for name, title in common.CLASS_TITLES.items():
        cls = report.classes.get(name)
        if cls is None or not cls.count:
            continue
        out += ["", heading(f"{title} by {cls.key}"),
                *table(common.class_key_headers(cls), common.class_key_rows(cls))]

    out += ["", heading("Verdicts")]
    if report.verdicts:
        out += table(common.VERDICT_HEADERS, common.verdict_rows(report.verdicts))
        for v in report.verdicts:
            title = terminal_safe(common.verdict_title(v))
            if color:
                title = f"{_VERDICT_COLOURS.get(v.verdict, '')}{title}{_RESET}"
            out += ["", title, *wrap(v.explanation)]
            for note in v.notes:
                out += wrap(note, "  - ", "    ")
            for label, lines in common.verdict_evidence(v) + action_evidence(v):
                out.append(f"  {terminal_safe(label)}:")
                out += [f"    {terminal_safe(line)}".rstrip() for line in lines]
    else:
        out.append("no method was answered 501 or 405")

    if report.protocols:
        out += ["", heading("Protocols"),
                *table(common.PROTOCOL_HEADERS, common.protocol_rows(report.protocols))]
        for p in report.protocols:
            if p.explanation:
                out += ["", terminal_safe(p.protocol) + ":", *wrap(p.explanation)]
            for e in p.examples[:3]:
                out.append(f"    {terminal_safe(common.example_text(e))}")
            for line in common.client_lines(p.clients, 3):
                out.append(f"    client {terminal_safe(line)}")
            for label, lines in action_evidence(p):
                out.append(f"  {terminal_safe(label)}:")
                out += [f"    {terminal_safe(line)}".rstrip() for line in lines]

    if report.trends.series:
        trends = report.trends
        out += ["", heading(f"Trends (by {trends.bucket}, {common.when(trends.start)} to "
                            f"{common.when(trends.end)})"),
                *table(common.TREND_HEADERS, common.trend_rows(report))]
        if trends.spikes:
            out += ["", "Spikes:",
                    *(f"  {terminal_safe(line)}" for line in common.spike_lines(report))]

    allow = allow_check_lines(report.allow_checks)
    if allow:
        out += ["", heading("Allow checks"), *(terminal_safe(line) for line in allow)]

    out += ["", heading("Statuses"),
            *table(["status", "requests"], [[k, v] for k, v in report.status_counts.items()])]
    if report.rejects.count:
        out += [
            "",
            heading(f"Rejected lines: {report.rejects.count}"),
            *table(["reason", "lines"], [[k, v] for k, v in report.rejects.reasons.items()]),
            "",
            *table(
                ["where", "reason", "text"],
                [[f"{e.source}:{e.line}", e.reason, e.text[:80]] for e in report.rejects.examples],
            ),
        ]
    return "\n".join(out) + "\n"
