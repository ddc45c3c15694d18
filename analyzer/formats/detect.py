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
from .logformat import LINE_END, PRESETS, LogFormat
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
        notes = [x for x in (unnamed(self.format), *self.format.notes) if x]
        if self.format.name.startswith(("inferred", "json_lines")):
            notes.insert(0, f"format inferred from the sample: {self.format.source}")
        if self.format.origin:
            notes.insert(0, f"a format of your own, from {self.format.origin}")
        return "; ".join([text, *(f"note: {n}" for n in notes)])


def detect_format(
    path: str, sample: Iterable[str], candidates: Sequence[LogFormat] | None = None
) -> Detection:
    """The candidate that matches most non-blank sample lines (ties go to the one that fits the
    server's escaping, then to the more specific), and the candidates that fit other lines.

    Raises FormatDetectionError, naming the closest candidate and where it stops reading a
    line, when all candidates together cover fewer than half the sample and no format can be
    inferred from it. ``sample``: the first lines, blank ones included (for line numbers).
    """
    numbered = [(n, line) for n, line in enumerate(sample, start=1) if line.strip()]
    numbered = numbered[:SAMPLE_LINES]
    lines = [line for _, line in numbered]
    formats = list(candidates or default_candidates())
    if not lines:
        return Detection(PRESETS["combined"], 0, 0)
    formats += [x for x in (with_extra_fields(f, lines) for f in formats) if x is not None]
    formats += json_formats(lines)
    sample = _as_array(lines)
    hits = {fmt.name: _matches(sample, fmt.regex) for fmt in formats}
    formats = [f for f in formats if not _allow_unseen(f, sample, hits[f.name])]
    hits = {f.name: hits[f.name] for f in formats}
    server = _server_hint(line for i, line in enumerate(lines)
                          if any(h[i] for h in hits.values()))
    # a format the user keeps wins over a preset that fits the sample as well
    ranked = sorted(
        formats,
        key=lambda f: (sum(hits[f.name]), server is not None and f.server == server,
                       -_extras(f), f.origin is not None, len(f.fields)),
        reverse=True,
    )
    best = ranked[0]
    matched = sum(hits[best.name])
    covered = sum(any(h[i] for h in hits.values()) for i in range(len(lines)))
    if covered * 2 < len(lines):
        inferred = _inferred(lines, sample)
        if inferred is not None:
            return inferred
        from .diagnose import explain

        raise FormatDetectionError(path, explain(formats, numbered, hits))
    others = _others(best, ranked, hits)
    by_name = {f.name: f for f in formats}
    return Detection(best, matched, len(lines), others,
                     tuple(by_name[name] for name, _ in others))


def default_candidates() -> list[LogFormat]:
    """The presets, then the formats the user keeps (``~/.config/logscan/formats``)."""
    from .userformats import user_formats

    return [*PRESETS.values(), *user_formats().values()]


# Detection matches with RE2 (Arrow's regex kernels), as the parser does: linear time whatever
# the lines and the format (Python's backtracking ``re`` can take exponential time on a format
# with several unquoted free-text fields and a hostile line)


def _inferred(lines: list[str], sample: pa.Array) -> Detection | None:
    """A format read from the sample itself, when every sample line agrees with it."""
    from .infer import infer_format

    fmt = infer_format(lines)
    if fmt is None:
        return None
    matched = sum(_matches(sample, fmt.regex))
    return Detection(fmt, matched, len(lines)) if matched == len(lines) else None


def json_formats(lines: list[str]) -> list[LogFormat]:
    """Formats for the JSON-line layouts of the sample (a few at most: keys in one order)."""
    from .jsonlines import json_format

    found: dict[str, LogFormat] = {}
    for line in lines:
        if len(found) >= 3:
            break
        if line.lstrip().startswith("{"):
            fmt = json_format(line)
            if fmt is not None and fmt.source not in found:
                found[fmt.source] = fmt
    return [replace(fmt, name=f"json_lines_{i}" if i else "json_lines")
            for i, fmt in enumerate(found.values())]


def _as_array(lines: list[str]) -> pa.Array:
    return pa.array([line.encode("utf-8", "backslashreplace").decode("utf-8") for line in lines],
                    pa.string())


def _matches(sample: pa.Array, pattern: str) -> list[bool]:
    found = pc.match_substring_regex(sample, pattern)
    result: list[bool] = found.to_numpy(zero_copy_only=False).astype(bool).tolist()
    return result


def _allow_unseen(fmt: LogFormat, sample: pa.Array, hit: list[bool]) -> bool:
    """A preset that logs the Allow header, whose Allow field is "-" on every sample line it
    matches: no evidence for it over the preset without that field (NGINX main's "-")."""
    if not any(f.shape == "methods" for f in fmt.fields) or not any(hit):
        return False
    matched = pc.filter(sample, pa.array(hit))
    allow = pc.extract_regex(matched, fmt.regex).field("allow")
    return not pc.any(pc.not_equal(allow, "-")).as_py()


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
_METHODS = re.compile(r"[A-Z]+(?:, ?[A-Z]+)*")
_DECIMAL = re.compile(r"\d{1,15}\.\d{1,9}")
_INTEGER = re.compile(r"\d{1,18}")
# what an extra field holds, as the report names it
EXTRA_KINDS = {Kind.INT: "integer", Kind.SECONDS: "decimal", Kind.TEXT: "quoted text",
               Kind.TOKEN: "word"}


def with_extra_fields(fmt: LogFormat, lines: list[str]) -> LogFormat | None:
    """``fmt`` followed by the extra fields most sample lines carry after it, if any.

    Operators often append fields to a preset (``%D``, ``$request_time``, ``$host``); such a log
    is still read, the extras typed by what the sample holds (integers, decimals, quoted text,
    words) as ``extra_1``, ``extra_2``, ...; a quoted list of methods (``"GET, HEAD"``) is the
    response's Allow header, whichever server wrote it. Naming the others needs the real format
    (``--log-format``, ``--server-config``).
    """
    rest_of_line = fmt.regex.removesuffix(LINE_END) + "(?P<logscan_rest>.*)$"
    rests = pc.extract_regex(_as_array(lines), rest_of_line).field("logscan_rest")
    shapes: Counter[tuple[bool, ...]] = Counter()
    values: dict[tuple[bool, ...], list[list[str]]] = {}
    for rest in rests.to_pylist():
        rest = (rest or "").rstrip(" \t")
        tokens = _EXTRA.findall(rest)
        if tokens and "".join(" " + t for t in tokens) == rest:
            shape = tuple(t.startswith('"') for t in tokens)
            shapes[shape] += 1
            values.setdefault(shape, []).append(tokens)
    if not shapes:
        return None
    shape, _ = shapes.most_common(1)[0]
    pieces: list[Piece] = list(fmt.pieces)
    for i, quoted in enumerate(shape):
        column_values = [tokens[i].strip('"') if quoted else tokens[i] for tokens in values[shape]]
        field = _extra_field(i + 1, quoted, column_values, {p.column for p in fmt.fields})
        pieces += [' "', field, '"'] if quoted else [" ", field]
    name = f"{fmt.name}+{len(shape)}extra"
    return replace(fmt, name=name, source=f"{fmt.source} + {len(shape)} extra fields",
                   pieces=tuple(merge_literals(pieces)))


def _extra_field(n: int, quoted: bool, values: list[str], taken: set[str]) -> FieldSpec:
    written = [v for v in values if v != "-"]
    if quoted:
        if written and all(_METHODS.fullmatch(v) for v in written) and "allow" not in taken:
            return FieldSpec("allow", Kind.TEXT, f"extra_{n}")
        return FieldSpec(f"extra_{n}", Kind.TEXT, f"extra_{n}")
    if written and all(_INTEGER.fullmatch(v) for v in written):
        return FieldSpec(f"extra_{n}", Kind.INT, f"extra_{n}")
    if written and all(_DECIMAL.fullmatch(v) or _INTEGER.fullmatch(v) for v in written):
        return FieldSpec(f"extra_{n}", Kind.SECONDS, f"extra_{n}")
    return FieldSpec(f"extra_{n}", Kind.TOKEN, f"extra_{n}")


def unnamed(fmt: LogFormat) -> str | None:
    """What the report says of a format's extra fields: which stayed unnamed, how to name them."""
    extras = [f for f in fmt.fields if f.column.startswith("extra_")]
    if not extras:
        return None
    listed = ", ".join(f"{f.column} ({EXTRA_KINDS[f.kind]})" for f in extras)
    return (f"unnamed fields: {listed}; name them by giving the format the server writes "
            "(--log-format, or --server-config with its configuration)")
