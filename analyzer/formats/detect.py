"""Pick a source's format from a sample of its first lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

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

    def describe(self) -> str:
        text = f"{self.format.name} ({self.matched}/{self.tried} sample lines matched)"
        if self.others:
            mix = ", ".join(f"{name}: {n}" for name, n in self.others)
            text += f"; other formats in the sample: {mix}"
        return text


def detect_format(
    path: str, sample: Iterable[str], candidates: Sequence[LogFormat] | None = None
) -> Detection:
    """The candidate that matches most non-blank sample lines (ties go to the more specific).

    Raises FormatDetectionError, showing a line that no candidate fits, when the best match
    covers fewer than half the sample.
    """
    lines = [line for line in sample if line.strip()][:SAMPLE_LINES]
    formats = list(candidates or PRESETS.values())
    if not lines:
        return Detection(PRESETS["combined"], 0, 0)
    formats += [x for x in (with_extra_fields(f, lines) for f in formats) if x is not None]
    hits = {fmt.name: [bool(fmt.python_regex.match(line)) for line in lines] for fmt in formats}
    ranked = sorted(
        formats, key=lambda f: (sum(hits[f.name]), -_extras(f), len(f.fields)), reverse=True
    )
    best = ranked[0]
    matched = sum(hits[best.name])
    if matched * 2 < len(lines):
        failing = next(
            (line for i, line in enumerate(lines) if not any(h[i] for h in hits.values())),
            lines[0],
        )
        raise FormatDetectionError(path, failing, best.name if matched else None, matched,
                                   len(lines))
    return Detection(best, matched, len(lines), _others(best, formats, hits))


def _extras(fmt: LogFormat) -> int:
    return sum(1 for f in fmt.fields if f.column.startswith("extra_"))


def _others(
    best: LogFormat, formats: list[LogFormat], hits: dict[str, list[bool]]
) -> tuple[tuple[str, int], ...]:
    chosen = hits[best.name]
    extra: list[tuple[str, int]] = []
    covered = list(chosen)
    for fmt in formats:
        gained = [h and not c for h, c in zip(hits[fmt.name], covered, strict=True)]
        if any(gained):
            extra.append((fmt.name, sum(gained)))
            covered = [c or g for c, g in zip(covered, gained, strict=True)]
    return tuple(extra)


_EXTRA = re.compile(r' ("(?:[^"\\]|\\.)*"|[^\s"]+)')


def with_extra_fields(fmt: LogFormat, lines: list[str]) -> LogFormat | None:
    """``fmt`` followed by the extra fields most sample lines carry after it, if any.

    Operators often append fields to a preset (``%D``, ``$request_time``, ``$host``); such a log
    is still read, with the extras as text columns ``extra_1``, ``extra_2``, ... Naming them
    needs the real format string (``--log-format``).
    """
    prefix = re.compile(fmt.regex.removesuffix("$"))
    shapes: Counter[tuple[bool, ...]] = Counter()
    for line in lines:
        match = prefix.match(line)
        rest = line[match.end() :] if match else ""
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
