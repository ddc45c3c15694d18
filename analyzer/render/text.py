"""The terminal report: plain aligned tables; every log value passes through terminal_safe."""

from __future__ import annotations

from collections.abc import Sequence

from ..report import Report
from .safety import terminal_safe


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


def render_text(report: Report) -> str:
    totals = report.totals
    out = [
        f"logscan report: {totals['lines']} lines, {totals['parsed']} parsed, "
        f"{totals['rejected']} rejected",
        "",
        "Sources",
        *table(
            ["source", "format", "lines", "parsed", "rejected"],
            [[s.path, s.format, s.lines, s.parsed, s.rejected] for s in report.sources],
        ),
        "",
        "Statuses",
        *table(["status", "requests"], [[k, v] for k, v in report.status_counts.items()]),
    ]
    if report.rejects.count:
        out += [
            "",
            f"Rejected lines: {report.rejects.count}",
            *table(["reason", "lines"], [[k, v] for k, v in report.rejects.reasons.items()]),
            "",
            *table(
                ["where", "reason", "text"],
                [[f"{e.source}:{e.line}", e.reason, e.text[:80]] for e in report.rejects.examples],
            ),
        ]
    return "\n".join(out) + "\n"
