"""Why no format fits a sample: the closest candidate, and where it stops reading a line.

The closest candidate is the one that fits the most sample lines, or, when none fits any, the
one that reads furthest into the first line that nothing fits. It is read piece by piece with
RE2 (Arrow), as detection and the parser read lines: a growing prefix of its pieces is matched
at the start of the line, and the first piece that cannot follow is where it stops. Pieces
match prefixes monotonically (if the first k pieces match, so do the first k - 1), so a binary
search finds that piece in a few matches per candidate. What the message shows of the line is
cut short and escaped: the line is hostile.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from .fields import FieldSpec
from .jsonlines import MAX_KEYS, json_format
from .logformat import LogFormat
from .pieces import Piece

_MAX_CHARS = 16384  # of the line read: enough for any field that can break a format
_SHOWN = 40  # characters of the line shown where the format stops
_DIRECTIVE = 60  # characters of a directive shown (a user's format may have long ones)
_FIELDS = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')


@dataclass(frozen=True)
class _Reach:
    """How far a format reads into a line: characters, pieces, and where it stops, in words."""

    chars: int
    pieces: int
    stop: str


def explain(candidates: Sequence[LogFormat], lines: Sequence[tuple[int, str]],
            hits: dict[str, list[bool]]) -> str:
    """The finding of a detection error: which candidate comes closest to ``lines`` (line
    number, text) and where it stops, given which lines each candidate fits (``hits``)."""
    best = max(candidates, key=lambda f: sum(hits.get(f.name, ())), default=None)
    matched = sum(hits.get(best.name, ())) if best is not None else 0
    if best is not None and matched:
        number, line = next(((n, text) for (n, text), hit in
                             zip(lines, hits[best.name], strict=True) if not hit), lines[0])
        return (f"closest is {best.name!r} (it fits {matched} of {len(lines)} sample lines), "
                f"which stops {_reach(best, line, number).stop}")
    number, line = next(((n, text) for i, (n, text) in enumerate(lines)
                         if not any(h[i] for h in hits.values())), lines[0])
    if line.lstrip().startswith("{") and json_format(line) is None:
        return (f"line {number} looks like JSON, but JSON lines are read only as flat objects "
                f"of string and number values (at most {MAX_KEYS} keys): {_shown(line)}")
    count = len(_FIELDS.findall(line[:_MAX_CHARS]))
    # a format that reads no more than its first field (and not the separator after it) has
    # read nothing that sets it apart: most first fields take any word
    reads = [(r, fmt) for fmt in candidates if (r := _reach(fmt, line, number)).pieces >= 2]
    if not reads:
        return f"no format reads even the first fields of line {number} ({_shown(line)})"
    # furthest first; of those that stop at the same place, the one whose number of fields is
    # nearest the line's (combined rather than common for a combined line with a bad status)
    reach, fmt = max(reads, key=lambda r: (r[0].chars, -abs(len(r[1].fields) - count)))
    return f"closest is {fmt.name!r}, which stops {reach.stop}"


def _reach(fmt: LogFormat, line: str, number: int) -> _Reach:
    """How far the format reads into ``line`` (line ``number``)."""
    text = line[:_MAX_CHARS]
    patterns = fmt.piece_patterns
    low, high = 0, len(patterns)  # the first ``low`` pieces read a prefix of the line
    seen = 0
    while low < high:
        middle = (low + high + 1) // 2
        length = _prefix(text, patterns[:middle])
        if length is None:
            high = middle - 1
        else:
            low, seen = middle, length
    pieces = fmt.pieces
    if _separator_after_a_field(pieces, low, text, seen):
        # a separator that does not follow a field: the field read nothing, or stopped inside
        # a word ("2000" read as the status "200"); that field is what does not fit
        before = _prefix(text, patterns[: low - 1]) or 0
        if before == seen or not text[seen - 1].isspace():
            low, seen = low - 1, before
    return _Reach(seen, low, _where(pieces, low, text[seen:], number,
                                    cut=len(line) > len(text)))


def _separator_after_a_field(pieces: Sequence[Piece], count: int, text: str, seen: int) -> bool:
    """Whether the format stopped at a blank separator after a field, before a word."""
    if not 0 < count < len(pieces):
        return False
    separator, field = pieces[count], pieces[count - 1]
    return (isinstance(separator, str) and isinstance(field, FieldSpec)
            and separator[:1].isspace() and seen < len(text) and not text[seen].isspace())


def _where(pieces: Sequence[Piece], count: int, rest: str, number: int, *, cut: bool) -> str:
    """Where a format stops, having read its first ``count`` pieces and left ``rest``."""
    last = _last_field(pieces, count)
    if cut and not rest:
        return (f"nowhere in the first {_MAX_CHARS} characters of line {number} (it reads "
                f"them up to {last})")
    shown = _shown(_token(rest)) + f" on line {number}" if rest else f"the end of line {number}"
    if count == len(pieces):
        return f"after {last}, where line {number} goes on with {_shown(_token(rest))}"
    piece = pieces[count]
    if isinstance(piece, FieldSpec):
        return f"at {_named(piece)} reading {shown}"
    where = f"after {last}" if count else "at its start"
    return f"{where}, expecting {_shown(piece)}, reading {shown}"


def _prefix(text: str, patterns: Sequence[str]) -> int | None:
    """The length of the prefix of ``text`` that ``patterns`` read, None when they do not."""
    found = pc.extract_regex(pa.array([text], pa.string()),
                             "^(?P<seen>" + "".join(patterns) + ")")
    value = found.field("seen")[0].as_py() if found.is_valid()[0].as_py() else None
    return None if value is None else len(value)


def _last_field(pieces: Sequence[Piece], before: int) -> str:
    field = next((p for p in reversed(pieces[:before]) if isinstance(p, FieldSpec)), None)
    return _named(field) if field is not None else "its start"


def _named(field: FieldSpec) -> str:
    directive = field.directive
    if len(directive) > _DIRECTIVE:
        directive = directive[: _DIRECTIVE - 3] + "..."
    return f"{directive} ({field.column})"


def _token(rest: str) -> str:
    """The next word of the line (with the blanks before it)."""
    word = re.match(r"\s*\S*", rest)
    return word[0] if word and word[0] else rest


def _shown(text: str) -> str:
    """A piece of a line as a quoted Python literal (control characters escaped), cut short."""
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 3] + "..."
    return repr(text)
