"""What an operator should act on, most urgent first: one :class:`Finding` per verdict, protocol
problem and Allow-header problem of a Report, each pointing at its fix; fixes shared by several
findings are listed once.

Only orders and words what the Report holds; nothing is recomputed. Used by the summary of the
text report (and any renderer that wants the same order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..report.model import Clients, Fold, ProtocolReport, Report, Verdict
from . import common

#: Verdicts and protocol problems, from "clients are failing, fix it" to "expected, keep it".
_RANK = {
    "partial_implementation": 0,  # works for some requests, refused for others
    "capability_gap": 1,  # clients want a method nothing implements
    "version": 2,  # a protocol version refused, or refused with the wrong status
    "allow": 3,  # 405 without the Allow header the RFC requires
    "never_allowed": 4,
    "resource_restriction": 5,
    "h2_preface": 6,  # an HTTP/2 preface on an HTTP/1 port: expected
    "fold": 7,  # many unregistered methods or odd protocols at once: a scanner, usually
}

#: Protocol findings in an operator's words ({p} is the protocol as logged).
_PROTOCOL_WORDS = {
    "505_for_http1": "{p} refused with 505 (should be served as HTTP/1.1)",
    "400_for_http1_minor": "{p} refused with 400 (should be served as HTTP/1.1)",
    "400_for_unsupported_version": "{p} refused with 400 (505 would name the problem)",
    "400_for_h2_preface": "HTTP/2 preface on an HTTP/1 port (400, expected)",
}


@dataclass(frozen=True)
class Fix:
    """A fix as printed: its short title and reference, why, and the configuration to use."""

    title: str
    rfc: str
    why: str = ""
    snippets: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.title, self.rfc, self.why)


@dataclass(frozen=True)
class Finding:
    what: str  # "PATCH: partial implementation", "HTTP/1.2 refused with 400 (...)"
    kind: str  # a verdict name, "version", "allow" or "h2_preface"
    requests: int  # the refused requests
    clients: int | None  # distinct clients among them (None: not known)
    since: str | None
    scanners_only: bool
    fix: Fix | None = None
    source: Any = field(default=None, compare=False)  # the Verdict or ProtocolReport

    @property
    def order(self) -> tuple[bool, int, int, int, str]:
        return (self.scanners_only, _RANK.get(self.kind, 9), -self.requests, -(self.clients or 0),
                self.what)


def findings(report: Report) -> list[Finding]:
    """Every finding of the report, in the order to act on them: findings only scanners hit go
    last, then by kind (see ``_RANK``), then by requests and clients."""
    out = [_verdict_finding(v) for v in report.verdicts]
    out += [f for p in report.protocols if (f := _protocol_finding(report, p)) is not None]
    out += [_fold_finding(f) for f in report.folds]
    allow = _allow_finding(report)
    if allow is not None:
        out.append(allow)
    return sorted(out, key=lambda f: f.order)


def fix_letters(items: Sequence[Finding]) -> dict[tuple[str, str, str], str]:
    """A letter per distinct fix (A, B, ..., then AA, AB, ...), in the order first needed."""
    letters: dict[tuple[str, str, str], str] = {}
    for item in items:
        if item.fix is not None and item.fix.key not in letters:
            letters[item.fix.key] = _letter(len(letters))
    return letters


def fixes(items: Sequence[Finding]) -> list[tuple[str, Fix, list[tuple[str, list[str]]]]]:
    """(letter, fix, [(snippet, findings it is for)]) for each distinct fix: a fix's text once,
    each distinct configuration snippet once with the findings that need it."""
    letters = fix_letters(items)
    grouped: dict[tuple[str, str, str], tuple[Fix, dict[str, list[str]]]] = {}
    for item in items:
        if item.fix is None:
            continue
        fix, snippets = grouped.setdefault(item.fix.key, (item.fix, {}))
        for snippet in item.fix.snippets:
            snippets.setdefault(snippet, []).append(item.what)
    return [(letters[key], fix, list(snippets.items())) for key, (fix, snippets) in grouped.items()]


def _letter(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return alphabet[n] if n < 26 else _letter(n // 26 - 1) + alphabet[n % 26]


def _scanners_only(clients: Clients) -> bool:
    kinds = [kind for kind, n in clients.client_kinds if n]
    return bool(kinds) and all(kind == "scanner" for kind in kinds)


def _fix_of(guidance: Any) -> Fix | None:
    if guidance is None:
        return None
    return Fix(guidance.title, guidance.rfc, guidance.why,
               (guidance.snippet,) if guidance.snippet else ())


def _verdict_finding(v: Verdict) -> Finding:
    refused = int(v.counts.get("501", 0)) + int(v.counts.get("405", 0))
    return Finding(what=common.verdict_title(v), kind=v.verdict, requests=refused,
                   clients=v.clients.distinct, since=v.first_seen,
                   scanners_only=_scanners_only(v.clients), fix=_fix_of(v.guidance), source=v)


def _fold_finding(fold: Fold) -> Finding:
    """Keys beyond the report's lists, as one finding ("4,981 distinct unregistered methods
    from 1 client, 29,017 requests: method fuzzing")."""
    since = min((e.time for e in fold.examples if e.time), default=None)
    return Finding(what=f"{fold.what} ({fold.status})", kind="fold", requests=fold.requests,
                   clients=fold.clients, since=since,
                   scanners_only=_scanners_only(fold.top_clients), source=fold)


def has_finding(p: ProtocolReport) -> bool:
    """Whether a protocol line of the report is a problem (a finding or a 505), not just a
    version that was seen and served."""
    return bool(p.findings) or p.version_not_supported > 0


def _protocol_finding(report: Report, p: ProtocolReport) -> Finding | None:
    if not has_finding(p):
        return None
    words = [_PROTOCOL_WORDS[f].format(p=p.protocol) for f in p.findings if f in _PROTOCOL_WORDS]
    if not words:
        words = [f"{p.protocol} refused with 505"]
    kind = "h2_preface" if list(p.findings) == ["400_for_h2_preface"] else "version"
    refused = sum(n for status, n in p.counts.items() if int(status) >= 400)
    return Finding(what="; ".join(words), kind=kind, requests=refused, clients=p.clients.distinct,
                   since=_protocol_since(report, p), scanners_only=_scanners_only(p.clients),
                   fix=_fix_of(p.guidance) if p.version_not_supported else None, source=p)


def _protocol_since(report: Report, p: ProtocolReport) -> str | None:
    """When the protocol was first refused: its 505 trend series when there is one, else its
    earliest example."""
    for s in report.trends.series:
        if s.cls == "version_not_supported" and s.key == p.protocol and s.first_seen:
            return s.first_seen
    times = [e.time for e in p.examples if e.time and e.status >= 400]
    return min(times) if times else None


def _allow_finding(report: Report) -> Finding | None:
    checks = report.allow_checks
    if checks is None or not getattr(checks, "missing_count", 0):
        return None
    groups = checks.missing_on_405
    fix = None
    if checks.fix:
        fix = Fix(checks.fix["title"], checks.fix["rfc"], checks.fix.get("why", ""),
                  (checks.fix["snippet"],) if checks.fix.get("snippet") else ())
    return Finding(what="405 sent without an Allow header", kind="allow",
                   requests=checks.missing_count, clients=None, since=None, scanners_only=False,
                   fix=fix, source=groups)
