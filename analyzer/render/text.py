"""The terminal report: a summary first (what is wrong, what to do, then the counts), the
evidence of every finding with ``details=True``.

Tables and wrapping come from rich and follow ``width`` (cells wrap, not words mid-way); every
log value passes through terminal_safe and is put in as plain Text, never as markup. Colour
(``color=True``, which the CLI decides from ``--color``, NO_COLOR, FORCE_COLOR and the
terminal) touches headings and verdict names only, never log values.

Everything is bounded whatever the log holds: at most ``SUMMARY_FINDINGS`` lines of findings in
the summary (and ``PROBE_GROUPS`` lines of findings only scanners hit), ``DETAIL_FINDINGS``
findings in full, ``TREND_ROWS`` trend rows, and every list of keys says what it leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..advice.actions import allow_check_lines, command_lines
from ..report.model import Fold, ProtocolReport, Report, Verdict
from ..vocabulary import VERDICT_TITLES
from . import common
from .findings import Finding, findings, fix_letters, fixes, has_finding
from .safety import terminal_safe

WIDTH = 100  # when the output is not a terminal
SUMMARY_FINDINGS = 20
DETAIL_FINDINGS = 50
TREND_ROWS = 25
PROBE_GROUPS = 8  # lines of findings only scanners hit (one per verdict and vhost)
_VERDICT_STYLES = {
    "capability_gap": "red",
    "partial_implementation": "yellow",
    "never_allowed": "magenta",
    "resource_restriction": "green",
    "version": "red",
    "allow": "yellow",
    "h2_preface": "green",
}


class _Out:
    """Lines written through one rich Console of a fixed width, colour on or off."""

    def __init__(self, width: int, color: bool) -> None:
        self.console = Console(
            file=StringIO(), width=max(width, 40), color_system="standard" if color else None,
            force_terminal=color, no_color=not color, highlight=False, markup=False,
            emoji=False, soft_wrap=False, force_jupyter=False,  # text, even in a notebook
            _environ={},  # the caller decided about colour
        )

    def heading(self, text: str) -> None:
        self.console.print()
        self.console.print(Text(text, style="bold"))

    def line(self, text: str | Text = "", indent: int = 0) -> None:
        body = text if isinstance(text, Text) else Text(terminal_safe(text))
        if indent:
            body = Text(" " * indent) + body
        self.console.print(body, overflow="fold")

    def wrapped(self, text: str, indent: int = 2, bullet: str = "") -> None:
        """A paragraph wrapped at word boundaries with a hanging indent (after the bullet)."""
        table = Table.grid(padding=(0, 0))
        cells: list[str | Text] = []
        if indent:
            table.add_column(width=indent)
            cells.append("")
        if bullet:
            table.add_column(width=len(bullet))
            cells.append(bullet)
        table.add_column(overflow="fold")
        table.add_row(*cells, Text(terminal_safe(text)))
        self.console.print(table)

    def verbatim(self, text: str, indent: int = 4) -> None:
        """A command or configuration line, never wrapped, so that it can be copied whole."""
        self.console.print(Text(" " * indent + terminal_safe(text)), soft_wrap=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object]],
              indent: int = 0) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold",
                      padding=(0, 1))
        for i, header in enumerate(headers):
            values = [r[i] for r in rows]
            numeric = (any(isinstance(v, int) for v in values)
                       and all(isinstance(v, int) or v == "-" for v in values))
            table.add_column(header, justify="right" if numeric else "left", overflow="fold")
        for row in rows:
            table.add_row(*(c if isinstance(c, Text) else Text(terminal_safe(c)) for c in row))
        if indent:
            grid = Table.grid()
            grid.add_column(width=indent)
            grid.add_column()
            grid.add_row("", table)
            self.console.print(grid)
        else:
            self.console.print(table)

    def text(self) -> str:
        out = self.console.file.getvalue()  # type: ignore[attr-defined]
        return "\n".join(line.rstrip() for line in out.splitlines()) + "\n"


def render_text(report: Report, *, color: bool = False, width: int = WIDTH,
                details: bool = False) -> str:
    """The report for a terminal or a file: the summary, and with ``details`` the evidence."""
    out = _Out(width, color)
    items = findings(report)
    _summary(out, report, items, details)
    if details:
        _details(out, report, items)
    return out.text()


# -- the summary: the first screen -------------------------------------------------------------

def _summary(out: _Out, report: Report, items: list[Finding], details: bool) -> None:
    header = common.header_lines(report)
    title = Text("logscan report: ", style="bold")
    title.append(terminal_safe(header[0]))
    out.line(title)
    for line in header[1:]:
        out.line(line)
    if 0 < len(report.sources) <= 3:
        out.wrapped("sources: " + ", ".join(f"{s.path} ({s.format})" for s in report.sources),
                    indent=0)
    elif report.sources:
        out.line(f"sources: {len(report.sources)} (listed with --details)")
    for source in common.mixed(report):  # lines of other formats are rejected: say so first
        out.wrapped(f"{source.path}: {source.detection}", indent=0)
    if not items:
        out.heading("No finding: no method or protocol version was refused")
    else:
        _findings_table(out, items)
    _counts(out, report)
    if not details and items:
        out.line()
        out.line("More: --details shows the evidence of each finding, how to reproduce it and "
                 "each fix in full.")


def _findings_table(out: _Out, items: list[Finding]) -> None:
    """One line per finding that reaches real clients, then the findings only scanners hit,
    grouped by kind (probes: usually nothing to fix), then each fix's title once."""
    acted = [i for i in items if not i.scanners_only][:SUMMARY_FINDINGS]
    probes = [i for i in items if i.scanners_only]
    letters = fix_letters(acted)
    out.heading(f"What to act on first ({len(items)} finding{'s' if len(items) != 1 else ''})")
    rows: list[list[object]] = []
    for item in acted:
        what = Text(terminal_safe(item.what), style=_VERDICT_STYLES.get(item.kind, ""))
        fix = letters.get(item.fix.key, "-") if item.fix is not None else "-"
        rows.append([what, item.requests, "-" if not item.clients else item.clients,
                     _short_when(item.since), fix])
    if rows:
        out.table(["finding", "requests", "clients", "since", "fix"], rows)
    hidden = len([i for i in items if not i.scanners_only]) - len(acted)
    if hidden:
        out.line(f"... {hidden} more findings (--details, or --format json)", indent=2)
    if probes:
        out.line()
        out.line("Only scanners (probes, usually nothing to fix):")
        groups = _by_kind(probes)
        for kind, group in groups[:PROBE_GROUPS]:
            names = ", ".join(terminal_safe(_name(i)) for i in group[:10])
            more = f", +{len(group) - 10} more" if len(group) > 10 else ""
            requests = sum(i.requests for i in group)
            out.wrapped(f"{kind}: {names}{more} ({requests} request{'s' * (requests != 1)})")
        left = [i for _, group in groups[PROBE_GROUPS:] for i in group]
        if left:
            requests = sum(i.requests for i in left)
            out.line(f"... {len(left)} more in {len(groups) - PROBE_GROUPS} more groups "
                     f"({requests} request{'s' * (requests != 1)}; --details)", indent=2)
    legend = [(letter, fix.title) for letter, fix, _ in fixes(acted)]
    if legend:
        out.heading("Fixes")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column(overflow="fold")
        for letter, title in legend:
            grid.add_row(Text(letter, style="bold"), Text(terminal_safe(title)))
        out.console.print(grid)


def _by_kind(items: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by verdict and vhost: ("capability gap on www.example.org", [...])."""
    groups: dict[str, list[Finding]] = {}
    for item in items:
        kind = "folded" if item.kind == "fold" else VERDICT_TITLES.get(item.kind, "protocol")
        vhost = getattr(item.source, "vhost", None)
        groups.setdefault(f"{kind} on {vhost}" if vhost else kind, []).append(item)
    return list(groups.items())


def _name(item: Finding) -> str:
    """A finding's method (or protocol), for a list of findings that share verdict and vhost."""
    return str(getattr(item.source, "method", None) or getattr(item.source, "protocol", item.what))


def _counts(out: _Out, report: Report) -> None:
    out.heading("Counts")
    rows: list[list[object]] = []
    for name, title in common.CLASS_TITLES.items():
        cls = report.classes.get(name)
        if cls is None or not cls.count:
            rows.append([title, 0, 0, "-"])
            continue
        rows.append([title, cls.count, cls.clients.distinct, common.key_counts(cls)])
    out.table(["refused with", "requests", "clients", "by method / protocol"], rows)
    if report.rejects.count:
        out.line(f"rejected lines: {report.rejects.count} (reasons and examples with --details)")
    if report.trends.spikes:
        out.line(f"spikes: {len(report.trends.spikes)} (with --details)")


def _short_when(value: str | None) -> str:
    """``2025-10-01T12:00:00Z`` -> ``2025-10-01 12:00``."""
    return common.when(value)[:16] if value else "-"


# -- the details: evidence, reproduction, fixes in full ----------------------------------------

def _details(out: _Out, report: Report, items: list[Finding]) -> None:
    _sources(out, report)
    letters = fix_letters(items)
    shown = items[:DETAIL_FINDINGS]
    if shown:
        out.heading("Findings in detail")
    for n, item in enumerate(shown, 1):
        fix = letters.get(item.fix.key) if item.fix is not None else None
        title = Text(f"{n}. ", style="bold")
        title.append(terminal_safe(item.what), style=_VERDICT_STYLES.get(item.kind, "bold"))
        if fix:
            title.append(f"  (fix {fix})")
        out.line()
        out.line(title)
        if isinstance(item.source, Verdict):
            _verdict_details(out, item.source)
        elif isinstance(item.source, ProtocolReport):
            _protocol_details(out, item.source)
        elif isinstance(item.source, Fold):
            _fold_details(out, item.source)
    if len(items) > len(shown):
        out.line()
        out.line(f"... {len(items) - len(shown)} more findings: see --format json")
    _fixes_in_full(out, items)
    _protocols(out, report)
    _class_tables(out, report)
    _trends(out, report)
    allow = allow_check_lines(report.allow_checks)
    if allow:
        out.heading("Allow checks")
        for line in allow:
            out.line(line)
    _rejects(out, report)


def _sources(out: _Out, report: Report) -> None:
    out.heading("Sources")
    out.table(["source", "format", "lines", "parsed", "rejected"],
              [[s.path, s.format, s.lines, s.parsed, s.rejected] for s in report.sources])
    for s in common.mixed(report):
        out.line(f"{s.path}: {s.detection}")
    out.line(f"parsing kernel: {report.kernel}")


def _evidence(out: _Out, pairs: list[tuple[str, list[str]]]) -> None:
    for label, lines in pairs:
        out.line(f"{label}:", indent=2)
        for line in lines:
            out.line(line, indent=4)


def _commands(out: _Out, commands: Sequence[Any]) -> None:
    """The reproduction commands, each under a comment that says whether it is safe to run."""
    if commands:
        out.line("reproduce (safe commands first):", indent=2)
        for line in command_lines(list(commands)):
            out.verbatim(line)


def _verdict_details(out: _Out, v: Verdict) -> None:
    out.wrapped(v.explanation)
    for note in v.notes:
        out.wrapped(note, indent=2, bullet="- ")
    _evidence(out, common.verdict_evidence(v))
    _commands(out, v.reproduce)


def _fold_details(out: _Out, fold: Fold) -> None:
    out.wrapped(f"Keys beyond the report's lists (--max-keys), counted together: "
                f"{fold.requests} request{'s' * (fold.requests != 1)} answered {fold.status}.")
    pairs = [("examples", [common.example_text(e) for e in fold.examples[:3]])] \
        if fold.examples else []
    if fold.top_clients.top_clients:
        pairs.append(("clients", common.client_lines(fold.top_clients, 3)))
    _evidence(out, pairs)


def _protocol_details(out: _Out, p: ProtocolReport) -> None:
    out.line(f"{p.requests} request{'s' * (p.requests != 1)}: {common.counts_text(p.counts)}",
             indent=2)
    if p.explanation:
        out.wrapped(p.explanation)
    pairs = [("examples", [common.example_text(e) for e in p.examples[:3]])] if p.examples else []
    if p.clients.top_clients:
        pairs.append(("clients", common.client_lines(p.clients, 3)))
    _evidence(out, pairs)
    _commands(out, p.reproduce)


def _fixes_in_full(out: _Out, items: list[Finding]) -> None:
    listed = fixes(items[:DETAIL_FINDINGS])
    if not listed:
        return
    out.heading("Fixes in full")
    for letter, fix, snippets in listed:
        out.line()
        out.line(Text(f"{letter}. {terminal_safe(fix.title)} ({terminal_safe(fix.rfc)})",
                      style="bold"))
        if fix.why:
            out.wrapped(fix.why)
        for snippet, whats in snippets:
            out.line()
            if len(snippets) > 1:
                out.line("for " + ", ".join(whats[:5]) + (", ..." if len(whats) > 5 else "")
                         + ":", indent=2)
            for line in snippet.splitlines():
                out.verbatim(line)


def _protocols(out: _Out, report: Report) -> None:
    """Every protocol version seen; the ones that are no finding get their explanation only."""
    if not report.protocols:
        return
    out.heading("Protocols")
    out.table(common.PROTOCOL_HEADERS, common.protocol_rows(report.protocols))
    if report.protocols_more is not None:
        out.line(report.protocols_more.text("protocols"), indent=2)
    for p in report.protocols:
        if has_finding(p) or not p.explanation:
            continue  # findings are shown above, with their evidence
        out.line()
        out.line(f"{p.protocol}:")
        out.wrapped(p.explanation)


def _class_tables(out: _Out, report: Report) -> None:
    for name, title in common.CLASS_TITLES.items():
        cls = report.classes.get(name)
        if cls is None or not cls.count:
            continue
        out.heading(f"{title} by {cls.key}")
        out.table(common.class_key_headers(cls), common.class_key_rows(cls))


def _trends(out: _Out, report: Report) -> None:
    trends = report.trends
    if not trends.series:
        return
    out.heading(f"Trends (by {trends.bucket}, {common.when(trends.start)} to "
                f"{common.when(trends.end)})")
    rows = common.trend_rows(report)
    out.table(common.TREND_HEADERS, rows[:TREND_ROWS])
    if len(rows) > TREND_ROWS:
        out.line(f"... {len(rows) - TREND_ROWS} more series: see --format json", indent=2)
    for name, more in trends.more:
        out.line(f"{name}: {more.text('series')}", indent=2)
    if trends.spikes:
        out.line()
        out.line("Spikes:")
        for line in common.spike_lines(report):
            out.line(line, indent=2)


def _rejects(out: _Out, report: Report) -> None:
    out.heading("Statuses")
    out.table(["status", "requests"], [[k, v] for k, v in report.status_counts.items()])
    if not report.rejects.count:
        return
    out.heading(f"Rejected lines: {report.rejects.count}")
    out.table(["reason", "lines"], [[k, v] for k, v in report.rejects.reasons.items()])
    out.line()
    out.table(["where", "reason", "text"],
              [[f"{e.source}:{e.line}", e.reason, e.text[:80]] for e in report.rejects.examples])



def table(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int = WIDTH
          ) -> list[str]:
    """A plain table as lines (numbers right-aligned), for other terminal renderers."""
    out = _Out(width, False)
    out.table(headers, rows)
    return out.text().splitlines()
