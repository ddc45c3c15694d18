"""Time bounds and durations, one grammar for every option that takes them.

A duration is one or more amounts with units, ``90m``, ``90min``, ``24h``, ``7d``, ``1w2d``,
``1.5h``, ``30s`` (units: s sec m min h hr d day w wk, plural allowed). A time bound is an ISO
8601 date or date-time (UTC unless it names an offset), or a duration before now.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(sec|min|hr|day|wk|[smhdw])s?", re.I)
_UNITS = {"s": "seconds", "sec": "seconds", "m": "minutes", "min": "minutes", "h": "hours",
          "hr": "hours", "d": "days", "day": "days", "w": "weeks", "wk": "weeks"}
_EXAMPLES = "30m, 90min, 24h, 7d, 1w2d"


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``1w2d``, ``90min``, ``1.5h`` -> a positive timedelta."""
    value = text.strip()
    parts = list(_PART.finditer(value))
    if not parts or "".join(p.group(0) for p in parts) != value.replace(" ", ""):
        raise ValueError(f"{text!r} is not a duration such as {_EXAMPLES}")
    total = timedelta()
    for part in parts:
        total += timedelta(**{_UNITS[part[2].lower()]: float(part[1])})
    if total <= timedelta():
        raise ValueError(f"{text!r}: the duration must be longer than zero")
    return total


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_when(value: str | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """A time bound: a datetime, an ISO 8601 date or date-time (UTC unless it names an offset),
    or a duration before ``now`` (the clock by default, not the newest line of the log)."""
    if value is None or isinstance(value, datetime):
        return _aware(value) if value is not None else None
    text = value.strip()
    try:
        return (now or datetime.now(UTC)) - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither an ISO date/time (2025-10-01, 2025-10-01T12:00, "
            f"2025-10-01T12:00+02:00) nor a duration before now ({_EXAMPLES})"
        ) from None
    return _aware(moment)


def bounds(since: str | datetime | None, until: str | datetime | None
           ) -> tuple[datetime | None, datetime | None]:
    """``since`` and ``until`` as UTC instants, checked to be in order."""
    from .errors import AnalyzerError

    try:
        start, end = parse_when(since), parse_when(until)
    except ValueError as exc:
        raise AnalyzerError(str(exc)) from None
    if start is not None and end is not None and start >= end:
        raise AnalyzerError(f"--since ({iso(start)}) must be before --until ({iso(end)})")
    return start, end


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
