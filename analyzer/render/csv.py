"""The CSV report: one tidy table of the classed requests, by method x status x client.

One row per (class, vhost, method, protocol, status, client, user-agent family, client kind)
with its count; missing values are empty cells. A cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe, and
control characters and escape sequences are shown escaped (``\\x1b``), as in the terminal
report, since the CSV may well be printed on a terminal.
"""

from __future__ import annotations

import csv
import io

from ..report.model import Report
from .safety import terminal_safe

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A string cell that cannot start a spreadsheet formula; other values as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = terminal_safe(value)
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(report.client_counts.columns)
    writer.writerows([neutralise(v) for v in row] for row in report.client_counts.rows())
    return buffer.getvalue()
