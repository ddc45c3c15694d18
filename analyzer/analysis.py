"""``analyze``: logs (or a frame) in, a Report out; ``summarize``: logs in, a Summary out.

For paths the logs are streamed: each parsed block is summarised as it arrives and the
summaries are merged, so memory is bounded by the block size and the Summary, never by the size
of the input; verdicts are computed once, from the merged Summary.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from .errors import AnalyzerError
from .formats import PRESETS, LogFormat
from .frame import iter_parsed
from .parse import ParsedBlock, join_blocks
from .report import Report, Window, build_report
from .summary import Summary

__all__ = ["analyze", "parse_when", "summarize"]

Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d|day|w|wk)s?\s*$", re.I)
_UNITS = {"s": "seconds", "sec": "seconds", "m": "minutes", "min": "minutes", "h": "hours",
          "hr": "hours", "d": "days", "day": "days", "w": "weeks", "wk": "weeks"}
# consecutive blocks of one source are summarised together up to this many rows: fewer, larger
# grouped aggregations cost less than many small ones
_BATCH_ROWS = 300_000
# pending block summaries are merged when they hold this many rows (or as many as the merged one)
_COMPACT_ROWS = 500_000
# blocks handed to the summary thread and not yet summarised (bounds memory)
_IN_FLIGHT = 2


def parse_when(value: str | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """A time bound: a datetime, an ISO 8601 date or date-time (UTC unless it names an offset),
    or a duration before ``now`` such as ``90m``, ``24h``, ``7d``, ``2w`` (``now`` defaults to the
    current time, not to the newest timestamp in the log)."""
    if value is None or isinstance(value, datetime):
        return _aware(value) if value is not None else None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2].lower()]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is neither an ISO date/time (2025-10-01, 2025-10-01T12:00, "
            "2025-10-01T12:00+02:00) nor a duration before now (30m, 24h, 7d, 2w)"
        ) from None
    return _aware(moment)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def analyze(
    data: Paths | pd.DataFrame,
    *,
    log_format: str | LogFormat | None = None,
    server: str = "auto",
    client_field: str = "client",
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    strict: bool = False,
) -> Report:
    """The Report of logs (paths, globs, rotated sets, ``-``) or of a canonical frame.

    ``server`` is ``apache``, ``nginx`` or ``auto`` (from the format, else from the statuses);
    ``client_field`` picks the client identity (``client``, ``x-forwarded-for``, or any column);
    ``since``/``until`` keep requests with ``since <= time < until`` (see :func:`parse_when`).
    """
    start, end = _bounds(since, until)
    if isinstance(data, pd.DataFrame):
        summary = Summary.from_frame(data, client_field=client_field, since=start, until=end)
    else:
        summary = summarize(data, log_format=log_format, client_field=client_field,
                            since=start, until=end, strict=strict)
    window = Window(_iso(start), _iso(end))
    return build_report(summary, server=server, window=window, client_field=client_field)


def summarize(
    paths: Paths,
    *,
    log_format: str | LogFormat | None = None,
    client_field: str = "client",
    since: datetime | None = None,
    until: datetime | None = None,
    strict: bool = False,
) -> Summary:
    """The merged Summary of the inputs, streamed block by block in bounded memory."""
    fixed = LogFormat.resolve(log_format) if log_format is not None else None
    merged = Summary.empty()
    pending: list[Summary] = []
    pending_rows = 0
    # blocks are summarised on a thread of their own, so that reading (which iter_parsed does on
    # this thread) never waits for them; Arrow releases the GIL, so the two overlap
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="logscan-summary") as pool:
        futures: deque[Future[Summary]] = deque()
        for block, options in _batches(paths, fixed, strict):
            futures.append(pool.submit(Summary.from_block, block, client_field=client_field,
                                       since=since, until=until, **options))
            while len(futures) > _IN_FLIGHT or (futures and futures[0].done()):
                pending.append(futures.popleft().result())
                pending_rows += pending[-1].num_rows
            if pending_rows >= max(_COMPACT_ROWS, merged.num_rows):
                merged = Summary.merge_all([merged, *pending])
                pending, pending_rows = [], 0
        pending.extend(future.result() for future in futures)
    return Summary.merge_all([merged, *pending]) if pending else merged


def _batches(
    paths: Paths, fixed: LogFormat | None, strict: bool
) -> Iterator[tuple[ParsedBlock, dict[str, Any]]]:
    """Consecutive parsed blocks of one source, joined up to _BATCH_ROWS rows, each with what
    Summary.from_block needs to know about its source."""
    order: dict[str, int] = {}
    batch: list[ParsedBlock] = []
    options: dict[str, Any] = {}
    for stats, block in iter_parsed(paths, fixed, strict=strict):
        order.setdefault(stats.path, len(order))
        if batch and (batch[0].source != block.source
                      or sum(b.table.num_rows for b in batch) >= _BATCH_ROWS):
            yield join_blocks(batch), options
            batch = []
        batch.append(block)
        options = {"format": stats.format, "detection": stats.detection,
                   "server": _server_of(stats.format, fixed), "order": order[stats.path]}
    if batch:
        yield join_blocks(batch), options


def _server_of(format_name: str, fixed: LogFormat | None) -> str | None:
    if fixed is not None:
        return fixed.server
    preset = PRESETS.get(format_name)
    return preset.server if preset is not None else None


def _bounds(
    since: str | datetime | None, until: str | datetime | None
) -> tuple[datetime | None, datetime | None]:
    try:
        start, end = parse_when(since), parse_when(until)
    except ValueError as exc:
        raise AnalyzerError(str(exc)) from None
    if start is not None and end is not None and start >= end:
        raise AnalyzerError(f"--since ({_iso(start)}) must be before --until ({_iso(end)})")
    return start, end


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
