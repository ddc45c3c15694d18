"""The terminal (and cron mail) header of a scheduled report: this run, the window against the
window before, and what is new. The report over the window follows it (render.text)."""

from __future__ import annotations

from ..scheduled.run import LISTED, ScheduledReport, listed
from .safety import terminal_safe
from .text import table


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else str(value)


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def render_run_text(result: ScheduledReport) -> str:
    run, comparison = result.run, result.comparison
    history = result.report.extra.get("history", {})
    out = [
        f"logscan scheduled run {run.id}: {run.new_lines} new lines "
        f"({run.started:%Y-%m-%d %H:%M:%S} to {run.finished:%H:%M:%S} UTC)",
        "",
        *table(
            ["input", "from", "to", "new lines", "rotated", "truncated"],
            [[s.path, s.from_offset, s.to_offset, s.new_lines, "yes" if s.rotated else "no",
              "yes" if s.truncated else "no"] for s in run.sources],
        ),
    ]
    notes = [s.note for s in run.sources if s.note]
    out += [f"note: {terminal_safe(n)}" for n in notes]
    out += [
        "",
        f"Window {history.get('window', '')}: {_runs(comparison.runs)}, against "
        f"{_runs(comparison.previous_runs)} in the window before",
        *table(
            ["class", "now", "before", "change"],
            [[name, c.current, c.previous, _signed(c.delta)]
             for name, c in comparison.classes.items()],
        ),
    ]
    for title, names in (("New methods in the window", comparison.new_methods),
                         ("New clients of 501/405/505 in the window", comparison.new_clients),
                         ("New in this run, methods", result.novelty.methods),
                         ("New in this run, clients", result.novelty.clients)):
        if names:
            out.append(f"{title}: " + listed(names, LISTED, show=terminal_safe))
    return "\n".join(out) + "\n\n"
