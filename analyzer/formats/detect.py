"""Pick a source's format from a sample of its first lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FormatDetectionError
from .fields import FieldSpec, Kind
from .logformat import PRESETS, LogFormat
from .pieces import Piece, merge_literals

SAMPLE_LINES = 200


@dataclass(frozen=True)
class Detection:
    """The chosen format, how many sample lines it matched, and what else the sample held."""

    format: LogFormat
    matched: int
    tried: int
    # other formats that match sample lines the chosen one does not: a file of mixed formats
    others: tuple[tuple[str, int], ...] = ()
    # those formats themselves, in the order the parser tries them on lines the chosen one
    # does not match
    fallbacks: tuple[LogFormat, ...] = ()

    def describe(self) -> str:
        text = f"{self.format.name} ({self.matched}/{self.tried} sample lines matched)"
        if self.others:
            mix = ", ".join(f"{name}: {n}" for name, n in self.others)
            text += f"; other formats in the sample: {mix}"
        return text


def detect_format(
    path: str, sample: Iterable[str], candidates: Sequence[LogFormat] | None = None
) -> Detection:
    """The candidate that matches most non-blank sample lines (ties go to the one that fits the
    server's escaping, then to the more specific), and the candidates that fit other lines.

    Raises FormatDetectionError, showing a line that no candidate fits, when all candidates
    together cover fewer than half the sample.
    """
    lines = [line for line in sample if line.strip()][:SAMPLE_LINES]
    formats = list(candidates or PRESETS.values())
    if not lines:
        return Detection(PRESETS["combined"], 0, 0)
    formats += [x for x in (with_extra_fields(f, lines) for f in formats) if x is not None]
    sample = _as_array(lines)
    hits = {fmt.name: _matches(sample, fmt.regex) for fmt in formats}
    server = _server_hint(line for i, line in enumerate(lines)
                          if any(h[i] for h in hits.values()))
    ranked = sorted(
        formats,
        key=lambda f: (sum(hits[f.name]), server is not None and f.server == server,
                       -_extras(f), len(f.fields)),
        reverse=True,
    )
    best = ranked[0]
    matched = sum(hits[best.name])
    covered = sum(any(h[i] for h in hits.values()) for i in range(len(lines)))
    if covered * 2 < len(lines):
        failing = next(
            (line for i, line in enumerate(lines) if not any(h[i] for h in hits.values())),
            lines[0],
        )
        raise FormatDetectionError(path, failing, best.name if matched else None, matched,
                                   len(lines))
    others = _others(best, ranked, hits)
    by_name = {f.name: f for f in formats}
    return Detection(best, matched, len(lines), others,
                     tuple(by_name[name] for name, _ in others))


# Detection matches with RE2 (Arrow's regex kernels), as the parser does: linear time whatever
# the lines and the format (Python's backtracking ``re`` can take exponential time on a format
# with several unquoted free-text fields and a hostile line)


def _as_array(lines: list[str]) -> pa.Array:
    return pa.array([line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines],
                    pa.string())


def _matches(sample: pa.Array, pattern: str) -> list[bool]:
    found = pc.match_substring_regex(sample, pattern)
    result: list[bool] = found.to_numpy(zero_copy_only=False).astype(bool).tolist()
    return result


def _extras(fmt: LogFormat) -> int:
    return sum(1 for f in fmt.fields if f.column.startswith("extra_"))


# Apache writes \xhh in lowercase and \" \\ for a quote and a backslash; NGINX writes \xHH in
# uppercase, with \x22 and \x5C for them
_APACHE_ESCAPES = re.compile(r'\\(?:x(?:[a-f][0-9a-f]|[0-9][a-f])|["\\])')
_NGINX_ESCAPES = re.compile(r"\\x(?:[A-F][0-9A-F]|[0-9][A-F]|22)")


def _server_hint(lines: Iterable[str]) -> str | None:
    """"apache" or "nginx" when the escapes in the lines show which server wrote them."""
    apache = nginx = False
    for line in lines:
        apache = apache or bool(_APACHE_ESCAPES.search(line))
        nginx = nginx or bool(_NGINX_ESCAPES.search(line))
    if apache != nginx:
        return "apache" if apache else "nginx"
    return None


def _others(
    best: LogFormat, ranked: list[LogFormat], hits: dict[str, list[bool]]
) -> tuple[tuple[str, int], ...]:
    """Formats that fit sample lines ``best`` does not, greediest first, with their gain."""
    covered = list(hits[best.name])
    extra: list[tuple[str, int]] = []
    while True:
        gains = {f.name: sum(h and not c for h, c in zip(hits[f.name], covered, strict=True))
                 for f in ranked}
        # presets before extended ones, the chosen format's server first, then by rank
        fmt = max(ranked, key=lambda f: (gains[f.name], -_extras(f), f.server == best.server))
        if not gains[fmt.name]:
            return tuple(extra)
        extra.append((fmt.name, gains[fmt.name]))
        covered = [c or h for c, h in zip(covered, hits[fmt.name], strict=True)]


_EXTRA = re.compile(r' ("(?:[^"\\]|\\.)*"|[^\s"]+)')


def with_extra_fields(fmt: LogFormat, lines: list[str]) -> LogFormat | None:
    """``fmt`` followed by the extra fields most sample lines carry after it, if any.

    Operators often append fields to a preset (``%D``, ``$request_time``, ``$host``); such a log
    is still read, with the extras as text columns ``extra_1``, ``extra_2``, ... Naming them
    needs the real format string (``--log-format``).
    """
    rest_of_line = fmt.regex.removesuffix("$") + "(?P<logscan_rest>.*)$"
    rests = pc.extract_regex(_as_array(lines), rest_of_line).field("logscan_rest")
    shapes: Counter[tuple[bool, ...]] = Counter()
    for rest in rests.to_pylist():
        rest = rest or ""
        tokens = _EXTRA.findall(rest)
        if tokens and "".join(" " + t for t in tokens) == rest:
            shapes[tuple(t.startswith('"') for t in tokens)] += 1
    if not shapes:
        return None
    shape, _ = shapes.most_common(1)[0]
    pieces: list[Piece] = list(fmt.pieces)
    for i, quoted in enumerate(shape, start=1):
        field = FieldSpec(f"extra_{i}", Kind.TEXT if quoted else Kind.TOKEN, f"extra_{i}")
        pieces += [' "', field, '"'] if quoted else [" ", field]
    name = f"{fmt.name}+{len(shape)}extra"
    return replace(fmt, name=name, source=f"{fmt.source} + {len(shape)} extra fields",
                   pieces=tuple(merge_literals(pieces)))
