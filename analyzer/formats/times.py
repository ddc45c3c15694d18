"""Apache's ``%{format}t``: strftime formats read back, and the pieces of one instant joined.

The manual: "use %{format}t multiple times to build up a time format", as in
``%{%Y-%m-%d}t %{%H:%M:%S}t %{%z}t``. Each piece is a ``TIME_PART`` field; the pieces of one
instant (the request's begin or end) are joined and parsed as one timestamp, so a date, a time of
day and an offset written apart give one UTC instant. A format without a year gives no instant
(never an invented year); one without an offset is read as UTC, and the format says so.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import UnknownFormatError
from .fields import FieldSpec, Kind
from .pieces import Piece

# strftime code -> regex of what apr_strftime writes (C locale)
_STRFTIME = {
    "Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}", "e": r" ?\d{1,2}",
    "H": r"\d{2}", "M": r"\d{2}", "S": r"\d{2}", "j": r"\d{3}",
    "b": r"[A-Za-z]{3}", "h": r"[A-Za-z]{3}", "B": r"[A-Za-z]+",
    "a": r"[A-Za-z]{3}", "A": r"[A-Za-z]+", "z": r"[+-]\d{4}", "p": r"[AP]M",
    "I": r"\d{2}", "%": "%",
}
_ALIASES = {"T": "%H:%M:%S", "F": "%Y-%m-%d", "D": "%m/%d/%y", "R": "%H:%M"}
# what joins the pieces of one instant, in the text and in the strptime format alike
PART_SEPARATOR = "|"


def strftime_part(text: str, instant: str, directive: str, fmt: str, *,
                  optional: bool) -> FieldSpec:
    """The field of one ``%{format}t`` (``text``: the strftime format, not empty)."""
    pattern, strptime = _translated(text, directive, fmt)
    return FieldSpec("time_part", Kind.TIME_PART, directive, time_pattern=pattern,
                     strptime=strptime, optional=optional, instant=instant)


def _translated(text: str, directive: str, fmt: str) -> tuple[str, str]:
    from .apache import regex_escape

    for alias, expansion in _ALIASES.items():
        text = text.replace(f"%{alias}", expansion)
    parts: list[str] = []
    codes = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            code = text[i + 1] if i + 1 < len(text) else ""
            if code not in _STRFTIME:
                raise UnknownFormatError(fmt, f"{directive}: strftime code %{code} unsupported")
            parts.append(_STRFTIME[code])
            codes += code != "%"
            i += 2
            continue
        if ch == PART_SEPARATOR:
            raise UnknownFormatError(fmt, f"{directive}: {PART_SEPARATOR!r} in a time format")
        parts.append(regex_escape(ch))
        i += 1
    if not codes:
        raise UnknownFormatError(fmt, f"{directive}: a time format without a strftime code")
    return "".join(parts), text


def has_year(strptime: str) -> bool:
    return "%Y" in strptime or "%y" in strptime


def has_offset(strptime: str) -> bool:
    return "%z" in strptime


def assemble(pieces: list[Piece]) -> list[Piece]:
    """Name the instant of each group of ``TIME_PART`` fields (``time`` for the request's begin,
    ``time_end`` for its end when both are logged); a lone piece that holds a whole timestamp
    becomes a plain ``TIME`` field."""
    parts = [p for p in pieces if isinstance(p, FieldSpec) and p.kind is Kind.TIME_PART]
    if not parts:
        return pieces
    taken = {p.column for p in pieces if isinstance(p, FieldSpec) and p.kind is not Kind.TIME_PART}
    instants = sorted({p.instant for p in parts})  # "begin" before "end"
    renamed: dict[int, FieldSpec] = {}
    for instant in instants:
        group = [p for p in parts if p.instant == instant]
        column = _instant_column(instant, taken, len(instants))
        taken.add(column)
        if len(group) == 1 and has_year(group[0].strptime):
            only = group[0]
            renamed[id(only)] = replace(only, column=column, kind=Kind.TIME, instant="")
            continue
        for part in group:
            renamed[id(part)] = replace(part, instant=column)
    return [renamed.get(id(p), p) if isinstance(p, FieldSpec) else p for p in pieces]


def _instant_column(instant: str, taken: set[str], count: int) -> str:
    preferred = ["time_end", "time"] if instant == "end" and count > 1 else ["time", "time_end"]
    names = preferred + [f"time_{n}" for n in range(2, 100)]
    return next(n for n in names if n not in taken)


def instant_notes(pieces: tuple[Piece, ...]) -> tuple[str, ...]:
    """What the format leaves out of its times, as the report says it."""
    notes: list[str] = []
    fields = [p for p in pieces if isinstance(p, FieldSpec)]
    for column in dict.fromkeys(p.instant for p in fields if p.kind is Kind.TIME_PART):
        strptime = PART_SEPARATOR.join(p.strptime for p in fields if p.instant == column)
        if not has_year(strptime):
            notes.append(f"{column}: the format writes no year, so the time is left empty")
        elif not has_offset(strptime):
            notes.append(f"{column}: the format writes no UTC offset; read as UTC")
    for f in fields:
        if f.kind is Kind.TIME and not has_offset(f.strptime) and "%s" not in f.strptime:
            notes.append(f"{f.column}: the format writes no UTC offset; read as UTC")
    return tuple(notes)
