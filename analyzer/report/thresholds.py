"""``--fail-on`` thresholds: ``SUBJECT OP NUMBER`` tested against a Report.

Subjects:

* a class: ``not_implemented``, ``method_not_allowed``, ``version_not_supported`` (requests);
* ``method:NAME``: requests of method NAME answered 501 or 405 (``method:-`` for none);
* ``protocol:NAME``: requests of protocol NAME answered 505;
* ``verdict:NAME``: (vhost, method) pairs with that verdict (``capability_gap``, ...);
* ``rejected``: rejected lines.

Operators: ``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``. Examples: ``not_implemented>0``,
``method_not_allowed>=50``, ``method:PATCH>0``, ``verdict:capability_gap>0``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..vocabulary import CLASSES, VERDICTS
from .model import Report

__all__ = ["Threshold", "crossed"]

_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt,
}
_PATTERN = re.compile(r"^\s*(?P<subject>[^<>=!\s]+)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<n>\d+)\s*$")


@dataclass(frozen=True)
class Threshold:
    subject: str
    op: str
    limit: int

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """Raises ValueError, with a message that lists what is allowed, for a bad expression."""
        match = _PATTERN.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not SUBJECT OP NUMBER (e.g. not_implemented>0, "
                "method_not_allowed>=50, method:PATCH>0)"
            )
        subject = match["subject"]
        kind, _, name = subject.partition(":")
        if name:
            if kind not in ("method", "protocol", "verdict"):
                raise ValueError(f"{subject!r}: use method:NAME, protocol:NAME or verdict:NAME")
            if kind == "verdict" and name not in VERDICTS:
                raise ValueError(f"{subject!r}: verdicts are {', '.join(VERDICTS)}")
        elif subject not in (*CLASSES, "rejected"):
            raise ValueError(
                f"{subject!r} is not one of {', '.join(CLASSES)}, rejected, method:NAME, "
                "protocol:NAME, verdict:NAME"
            )
        return cls(subject, match["op"], int(match["n"]))

    def __str__(self) -> str:
        return f"{self.subject}{self.op}{self.limit}"

    def value(self, report: Report) -> int:
        kind, _, name = self.subject.partition(":")
        if not name:
            if kind == "rejected":
                return report.rejects.count
            return report.class_count(kind)
        if kind == "method":
            return sum(report.classes[c].by.get(name, 0)
                       for c in ("not_implemented", "method_not_allowed") if c in report.classes)
        if kind == "protocol":
            cls = report.classes.get("version_not_supported")
            return cls.by.get(name, 0) if cls else 0
        return sum(1 for v in report.verdicts if v.verdict == name)

    def is_crossed(self, report: Report) -> bool:
        return _OPS[self.op](self.value(report), self.limit)


def crossed(report: Report, thresholds: Iterable[Threshold]) -> list[tuple[Threshold, int]]:
    """The thresholds the report crosses, each with the value it has."""
    return [(t, t.value(report)) for t in thresholds if t.is_crossed(report)]
