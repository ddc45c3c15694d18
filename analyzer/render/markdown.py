"""The Markdown report: the text report's sections as Markdown tables.

Every cell is made safe for a table and for a Markdown-to-HTML renderer: control characters
(newlines included) are shown escaped as in the terminal report, ``|`` is escaped, and ``&``,
``<`` and ``>`` become HTML entities, so a log value can neither break the table nor inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..advice.actions import action_markdown, allow_check_markdown
from ..report.model import Report
from . import common
from .safety import terminal_safe

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "`": "\\`",
                           "*": "\\*", "[": "\\[", "]": "\\]", "\\": "\\\\"})


def cell(value: object) -> str:
    """One value, safe inside a Markdown table cell (or a paragraph)."""
    return terminal_safe(value).translate(_ENTITIES)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows)
               for i in range(len(headers))]
    out = ["| " + " | ".join(cell(h) for h in headers) + " |",
           "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(report: Report) -> str:
    out = ["# logscan report", ""]
    out += [f"- {cell(line)}" for line in common.header_lines(report)]
    out += ["", "## Sources", "", *md_table(
        ["source", "format", "lines", "parsed", "rejected"],
        [[s.path, s.format, s.lines, s.parsed, s.rejected] for s in report.sources],
    )]
    mixed = common.mixed(report)
    if mixed:
        out += ["", *(f"- {cell(s.path)}: {cell(s.detection)}" for s in mixed)]
    out += ["", "## Classes", "", *md_table(common.CLASS_HEADERS, common.class_rows(report))]
    for name, title in common.CLASS_TITLES.items():
        cls = report.classes.get(name)
        if cls is None or not cls.count:
            continue
        out += ["", f"### {cell(title)} by {cls.key}", "",
                *md_table(common.class_key_headers(cls), common.class_key_rows(cls))]

    out += ["", "## Verdicts", ""]
    if report.verdicts:
        out += md_table(common.VERDICT_HEADERS, common.verdict_rows(report.verdicts))
        if report.verdicts_more is not None:
            out += ["", cell(report.verdicts_more.text("verdicts"))]
        for v in report.verdicts:
            out += ["", f"### {cell(common.verdict_title(v))}", "", cell(v.explanation)]
            if v.notes:
                out += ["", *(f"- {cell(note)}" for note in v.notes)]
            out.append("")
            for label, lines in common.verdict_evidence(v):
                if len(lines) == 1:
                    out.append(f"- **{cell(label)}**: {cell(lines[0])}")
                else:
                    out.append(f"- **{cell(label)}**:")
                    out += [f"  - {cell(line)}" for line in lines]
            out += action_markdown(v)
    else:
        out.append("No method was answered 501 or 405.")

    if report.folds:
        out += ["", "## Folded", "", "Keys beyond the lists above, one finding per class:", ""]
        for fold in report.folds:
            out.append(f"- **{cell(fold.what)}** ({fold.status})")
            out += [f"  - {cell(common.example_text(e))}" for e in fold.examples[:3]]

    if report.protocols:
        out += ["", "## Protocols", "",
                *md_table(common.PROTOCOL_HEADERS, common.protocol_rows(report.protocols))]
        if report.protocols_more is not None:
            out += ["", cell(report.protocols_more.text("protocols"))]
        for p in report.protocols:
            if p.explanation:
                out += ["", f"- **{cell(p.protocol)}**: {cell(p.explanation)}"]
            out += [f"  - {cell(common.example_text(e))}" for e in p.examples[:3]]
            out += action_markdown(p)

    if report.trends.series:
        trends = report.trends
        out += ["", f"## Trends (by {trends.bucket}, {cell(common.when(trends.start))} to "
                    f"{cell(common.when(trends.end))})", "",
                *md_table(common.TREND_HEADERS, common.trend_rows(report))]
        out += ["", *(f"- {cell(name)}: {cell(more.text('series'))}"
                      for name, more in trends.more)] if trends.more else []
        if trends.spikes:
            out += ["", "Spikes:", "", *(f"- {cell(line)}" for line in common.spike_lines(report))]

    allow = allow_check_markdown(report.allow_checks)
    if allow:
        out += ["", "## Allow checks", "", *allow]

    out += ["", "## Statuses", "",
            *md_table(["status", "requests"], [[k, v] for k, v in report.status_counts.items()])]
    if report.rejects.count:
        out += ["", f"## Rejected lines: {report.rejects.count}", "",
                *md_table(["reason", "lines"], [[k, v] for k, v in report.rejects.reasons.items()]),
                "",
                *md_table(["where", "reason", "text"],
                          [[f"{e.source}:{e.line}", e.reason, e.text[:80]]
                           for e in report.rejects.examples])]
    return "\n".join(out) + "\n"
