"""The table behind the trend plot: requests per time bucket, per class and key, top K + other.

A frame and a Report give the same table: the same buckets (chosen from the span of the whole
log, as :mod:`analyzer.verdicts.trends` does), the same order of keys (busiest first, then by
name), and spikes by the same rule. The drawing (:mod:`analyzer.plots.trend`) only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from ..verdicts.trends import (
    BUCKETS,
    SPIKE_K,
    bucket_step,
    check_buckets,
    choose_bucket,
    spike_threshold,
)
from .common import NO_VALUE, request_class, require, text_column

__all__ = ["Panel", "Trend", "spike_rule", "trend_from_frame", "trend_from_report"]

_FREQ = {"minute": "1min", "hour": "1h", "day": "1D"}


@dataclass(frozen=True)
class Panel:
    """One class: its top keys (busiest first) and the rest summed as ``other``."""

    cls: str
    keys: tuple[str, ...]
    counts: np.ndarray  # (len(keys), buckets): requests of each shown key per bucket
    other: np.ndarray  # (buckets,): requests of the keys beyond the top ones
    other_keys: int  # how many keys ``other`` sums
    spikes: tuple[int, ...]  # buckets where the class or one of its keys spiked

    @property
    def totals(self) -> np.ndarray:
        """Requests of the class per bucket."""
        result: np.ndarray = self.counts.sum(axis=0) + self.other
        return result


@dataclass(frozen=True)
class Trend:
    index: pd.DatetimeIndex  # start of each bucket, UTC without a time zone
    step: pd.Timedelta
    unit: str  # the y label's unit: "minute", "2 hours"
    panels: tuple[Panel, ...]


def _unit(step: pd.Timedelta) -> str:
    """``30min`` as ``30 minutes``, ``1h`` as ``hour``."""
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, rest = divmod(int(step.total_seconds()), size)
        if count and not rest:
            return name if count == 1 else f"{count} {name}s"
    return str(step)


def _pick_bucket(start: pd.Timestamp, end: pd.Timestamp, bucket: str | None) -> str:
    """A pandas frequency: as analyzer.verdicts.trends chooses from the span, or the ``bucket``
    asked for (``minute``, ``hour``, ``day`` or a fixed span such as ``15min``)."""
    bucket = bucket or choose_bucket(start, end)
    step = bucket_step(bucket)
    check_buckets(bucket, start, end, int((end - start) // step) + 1)
    if bucket in BUCKETS:
        return _FREQ[bucket]
    # a span written in words ("3 days", as chosen for a long log) as a pandas frequency
    return bucket if " " not in bucket else to_offset(step).freqstr


def _spikes(values: np.ndarray, k: float) -> set[int]:
    """Buckets above median + k·max(1.4826·MAD, 1) (none for fewer than three buckets)."""
    if len(values) < 3:
        return set()
    threshold = spike_threshold(values.astype(float), k)
    return {int(i) for i in np.flatnonzero(values > threshold)}


def _panel(
    cls: str, series: dict[str, np.ndarray], spikes: set[int], top: int, max_top: int,
    beyond: tuple[np.ndarray, int] | None = None,
) -> Panel:
    """``series``: the keys of the class; the ``top`` busiest are kept, the rest summed with
    ``beyond`` (the counts of the keys a Report does not list, and how many keys they are)."""
    order = sorted(series, key=lambda key: (-int(series[key].sum()), key))
    n = len(next(iter(series.values()))) if series else len(beyond[0]) if beyond else 0
    extra = beyond[1] if beyond is not None else 0
    # a single key left over is drawn by name: "other" would hide its name and save no colour
    keep = top + 1 if len(order) + extra == top + 1 and top < max_top and not extra else top
    shown, rest = order[:keep], order[keep:]
    counts = np.array([series[key] for key in shown], dtype="int64").reshape(len(shown), n)
    other = np.zeros(n, dtype="int64")
    for key in rest:
        other += series[key]
    if beyond is not None:
        other += beyond[0]
    return Panel(cls, tuple(shown), counts, other, len(rest) + extra, tuple(sorted(spikes)))


def trend_from_frame(
    frame: pd.DataFrame,
    classes: list[str],
    bucket: str | None,
    k: float,
    top: int,
    max_top: int,
) -> Trend:
    require(frame, "time", "status")
    cls = request_class(frame)
    keep = cls.isin(classes) & frame["time"].notna()
    rows = frame.loc[keep]
    if rows.empty:
        return Trend(pd.DatetimeIndex([]), pd.Timedelta(hours=1), "hour", ())
    # the x axis spans the whole log, so a class that starts late shows where it starts
    first, last = frame["time"].min(), frame["time"].max()
    freq = _pick_bucket(first, last, bucket)
    start = first.tz_convert("UTC").tz_localize(None).floor(freq)
    end = last.tz_convert("UTC").tz_localize(None).floor(freq)
    index = pd.date_range(start, end, freq=freq).as_unit("us")
    times = rows["time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor(freq)
    classes_of = cls[keep]
    keys = np.where(
        classes_of == "version_not_supported",
        text_column(rows, "protocol"),
        text_column(rows, "method"),
    )
    counted = (
        pd.DataFrame({"cls": classes_of, "key": keys, "at": index.get_indexer(times)})
        .groupby(["cls", "key", "at"])
        .size()
    )
    grid = counted.unstack("at", fill_value=0).reindex(columns=range(len(index)), fill_value=0)
    per_class: dict[str, dict[str, np.ndarray]] = {}
    for (name, key), values in zip(grid.index, grid.to_numpy(dtype="int64"), strict=True):
        per_class.setdefault(str(name), {})[str(key)] = values
    panels = []
    for name in classes:
        series = per_class.get(name)
        if not series:
            continue
        spikes = _spikes(sum(series.values(), np.zeros(len(index), dtype="int64")), k)
        for values in series.values():
            spikes |= _spikes(values, k)
        panels.append(_panel(name, series, spikes, top, max_top))
    step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq).nanos, unit="ns")
    return Trend(index, step, _unit(step), tuple(panels))


def trend_from_report(
    report: dict[str, Any], classes: list[str], top: int, max_top: int
) -> Trend:
    """The table from a Report's ``trends`` section (written by analyzer.report.build)."""
    if "trends" not in report:
        raise ValueError(
            "this Report has no trends section; plot a frame from analyzer.read_log instead"
        )
    trends = report.get("trends") or {}
    bucket = str(trends.get("bucket") or "hour")
    try:
        step = bucket_step(bucket)
    except ValueError:  # not a span this version writes
        step = pd.Timedelta(hours=1)
    stamps = list(trends.get("buckets") or [])
    for item in trends.get("series") or []:  # a Report written before "buckets" was kept
        stamps += [point[0] for point in item.get("points") or []]
    index = pd.DatetimeIndex(sorted(set(pd.to_datetime(stamps, utc=True).tz_localize(None))))
    index = index.as_unit("us")  # as a frame's (any year), so that both draw the same values
    per_class: dict[str, dict[str, np.ndarray]] = {}
    for item in trends.get("series") or []:
        name = item.get("class")
        if name not in classes:
            continue
        values = np.zeros(len(index), dtype="int64")
        points = item.get("points") or []
        where = index.get_indexer(pd.to_datetime([p[0] for p in points], utc=True)
                                  .tz_localize(None))
        values[where] = [int(p[1]) for p in points]
        key = str(item.get("key", NO_VALUE))
        per_class.setdefault(name, {})[key] = values
    beyond: dict[str, tuple[np.ndarray, int]] = {}
    for name, more in (trends.get("series_more") or {}).items():
        values = np.zeros(len(index), dtype="int64")
        points = more.get("points") or []
        if points:
            where = index.get_indexer(pd.to_datetime([p[0] for p in points], utc=True)
                                      .tz_localize(None))
            values[where] = [int(p[1]) for p in points]
        beyond[str(name)] = (values, int(more.get("more", 0)))
    spiked: dict[str, set[int]] = {}
    for spike in trends.get("spikes") or []:
        at = index.get_indexer(pd.DatetimeIndex([pd.Timestamp(spike["time"]).tz_convert(None)]))[0]
        if at >= 0:
            spiked.setdefault(str(spike.get("class")), set()).add(int(at))
    panels = tuple(
        _panel(name, per_class.get(name, {}), spiked.get(name, set()), top, max_top,
               beyond.get(name))
        for name in classes
        if per_class.get(name) or name in beyond
    )
    return Trend(index, step, _unit(step), panels)


def spike_rule(k: float = SPIKE_K) -> str:
    """The spike rule as the legend states it (a Report's is the same rule with ``SPIKE_K``)."""
    return f"spike (> median + {k:g}·MAD)"
