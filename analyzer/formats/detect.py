"""Pick a source's format from a sample of its first lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import FormatDetectionError
from .logformat import PRESETS, LogFormat

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
    hits = {fmt.name: [bool(fmt.python_regex.match(line)) for line in lines] for fmt in formats}
    ranked = sorted(
        formats, key=lambda f: (sum(hits[f.name]), len(f.fields)), reverse=True
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
