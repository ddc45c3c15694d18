"""The JSON report: the public contract ``logscan.report/1`` (DESIGN.md section 5)."""

from __future__ import annotations

import json

from ..report import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
