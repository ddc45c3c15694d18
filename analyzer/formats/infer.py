"""A format inferred from the sample when no preset fits: the line is split into bracketed,
quoted and bare fields, and the fields that read unambiguously are named (a time in a common
layout, a request line, the three-digit status after it, the size after that, an address first);
the others are kept as ``%{extra_N}e`` columns. The result is an Apache format string, shown in
the report so that the user can keep it (``--log-format``).
"""

from __future__ import annotations

import re

from ..errors import UnknownFormatError
from .logformat import LogFormat

_FIELD = re.compile(r'\[[^\]\n]*\]|"(?:[^"\\\n]|\\.)*"|[^\s"\[]\S*')
_REQUEST = re.compile(r'"(?:[A-Z][A-Z0-9_-]* \S+(?: HTTP/\d(?:\.\d)?)?|-)"')
# an IPv4 or IPv6 address, or a host name with a dot
_ADDRESS = re.compile(r"(?=\S*[.:])(?:[0-9A-Fa-f:.]+|[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,})")
# a time layout -> the directives that write it (inside brackets when the log has them)
_TIMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"), "%t"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\.\d{6}(?: ?[+-]\d{4})?"), "iso.usec"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\.\d{3}(?: ?[+-]\d{4})?"), "iso.msec"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?: ?[+-]\d{4})?"), "iso"),
)
_MAX_FIELDS = 40


def infer_format(lines: list[str]) -> LogFormat | None:
    """The format the sample's first line reads as (None when it has no time, request and
    status); the caller checks that the whole sample agrees."""
    for line in lines[:5]:
        fmt = _inferred(line.rstrip(" \t"))
        if fmt is not None:
            return fmt
    return None


def _inferred(line: str) -> LogFormat | None:
    fields = _FIELD.findall(line)
    if not fields or len(fields) > _MAX_FIELDS or " ".join(fields) != line:
        return None
    parts: list[str] = []
    seen = {"time": False, "request": False, "status": False, "bytes": False, "client": False}
    extra = 0
    for text in fields:
        directive = _named(text, seen)
        if directive is None:
            extra += 1
            directive = f"%{{extra_{extra}}}e"
            if text.startswith('"'):
                directive = f'"{directive}"'
        parts.append(directive)
    if not (seen["time"] and seen["request"] and seen["status"]):
        return None
    try:
        return LogFormat.apache(" ".join(parts), name="inferred", server=None)
    except UnknownFormatError:
        return None


def _named(text: str, seen: dict[str, bool]) -> str | None:
    if not seen["time"]:
        time = _time(text)
        if time is not None:
            seen["time"] = True
            return time
    if not seen["request"] and _REQUEST.fullmatch(text):
        seen["request"] = True
        return '"%r"'
    if seen["request"] and not seen["status"] and re.fullmatch(r"\d{3}", text):
        seen["status"] = True
        return "%>s"
    if seen["status"] and not seen["bytes"] and re.fullmatch(r"\d{1,18}|-", text):
        seen["bytes"] = True
        return "%b"
    if not seen["client"] and not seen["request"] and _ADDRESS.fullmatch(text):
        seen["client"] = True
        return "%h"
    return None


def _time(text: str) -> str | None:
    bracketed = text.startswith("[") and text.endswith("]")
    inner = text[1:-1] if bracketed else text
    for pattern, kind in _TIMES:
        if not pattern.fullmatch(inner):
            continue
        if kind == "%t":
            return "%t" if bracketed else None
        separator = "T" if "T" in inner else " "
        directive = f"%{{%Y-%m-%d{separator}%H:%M:%S}}t"
        if kind != "iso":
            directive += ".%{usec_frac}t" if kind == "iso.usec" else ".%{msec_frac}t"
        offset = re.search(r"( ?)([+-]\d{4})$", inner)
        if offset:
            directive += offset[1] + "%{%z}t"
        return f"[{directive}]" if bracketed else directive
    return None
