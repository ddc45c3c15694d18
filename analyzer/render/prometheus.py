"""Prometheus' text exposition format, for node_exporter's textfile collector.

The collector reads every ``*.prom`` file in its directory at each scrape, so the file must
never be seen half written: :func:`write_textfile` writes a temporary file beside it (a name
the collector ignores), fsyncs it and renames it over the old one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from ..atomic import write_atomic
from ..scheduled.run import Metric


def escape_label(value: str) -> str:
    """A label value as the exposition format wants it: ``\\``, ``"`` and newline escaped."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value == int(value) and abs(value) < 2**53 else repr(value)


def render_prometheus(metrics: Sequence[Metric]) -> str:
    out: list[str] = []
    for metric in metrics:
        out.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        out.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels)
            out.append(f"{metric.name}{{{text}}} {_number(value)}" if text
                       else f"{metric.name} {_number(value)}")
    return "\n".join(out) + "\n"


def write_textfile(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` atomically (readable by the collector: mode 0644)."""
    write_atomic(path, text, mode=0o644)
