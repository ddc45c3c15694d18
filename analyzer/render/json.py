"""The JSON report: the public contract ``logscan.report/1`` (DESIGN.md section 5).

Non-ASCII text is written as it is, except the characters that could act on a terminal or
disguise text (DEL, C1 controls, bidi and invisible formatting characters, line and paragraph
separators) and lone surrogates: those are written as ``\\uXXXX`` escapes, which parse back to
the same value, so the JSON is both exact and safe to print.
"""

from __future__ import annotations

import json
import re

from ..report.model import Report

# json.dumps escapes the C0 controls itself; these are the others (they can only occur inside
# strings, so escaping them keeps the document valid and its values unchanged)
_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def render_json(report: Report) -> str:
    text = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text) + "\n"
