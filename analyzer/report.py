"""``Report``: the pure-data result that every renderer reads (renderers never compute)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .frame import ParsedLog

SCHEMA = "logscan.report/1"
MAX_REJECT_EXAMPLES = 20


@dataclass(frozen=True)
class SourceReport:
    path: str
    format: str
    lines: int
    parsed: int
    rejected: int
    detection: str | None = None


@dataclass(frozen=True)
class RejectExample:
    source: str
    line: int
    reason: str
    text: str


@dataclass(frozen=True)
class RejectReport:
    count: int
    reasons: dict[str, int]
    examples: tuple[RejectExample, ...] = ()


@dataclass(frozen=True)
class Report:
    sources: tuple[SourceReport, ...]
    status_counts: dict[str, int]
    rejects: RejectReport
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "lines": sum(s.lines for s in self.sources),
            "parsed": sum(s.parsed for s in self.sources),
            "rejected": sum(s.rejected for s in self.sources),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON report contract (DESIGN.md section 5)."""
        sources = [
            {k: v for k, v in asdict(s).items() if k != "detection" or v is not None}
            for s in self.sources
        ]
        return {
            "schema": SCHEMA,
            "sources": sources,
            "totals": self.totals,
            "status_counts": dict(self.status_counts),
            "rejects": {
                "count": self.rejects.count,
                "reasons": dict(self.rejects.reasons),
                "examples": [asdict(e) for e in self.rejects.examples],
            },
            **self.extra,
        }


def build_report(parsed: ParsedLog) -> Report:
    frame, rejects = parsed.frame, parsed.rejects
    statuses = frame["status"].value_counts().sort_index() if "status" in frame else None
    status_counts = {} if statuses is None else {str(k): int(v) for k, v in statuses.items()}
    reasons = rejects["reason"].value_counts()
    examples = tuple(
        RejectExample(str(r.source), int(r.line), str(r.reason), str(r.text))
        for r in rejects.head(MAX_REJECT_EXAMPLES).itertuples(index=False)
    )
    return Report(
        sources=tuple(
            SourceReport(s.path, s.format, s.lines, s.parsed, s.rejected, s.detection)
            for s in parsed.sources
        ),
        status_counts=status_counts,
        rejects=RejectReport(len(rejects), {str(k): int(v) for k, v in reasons.items()}, examples),
    )
