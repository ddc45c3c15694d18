"""Time: counts per bucket for each class and method, first and last seen, and spikes.

The Summary keeps minute counts; a report re-buckets them by the span of the log: ``minute`` up
to 6 hours, ``hour`` up to 14 days, ``day`` beyond. A bucket is a spike when its count is above
``median + k * max(1.4826 * MAD, 1)`` of all the buckets of the span (zeros included), with
``k = 5``: the MAD is scaled to a standard deviation, and floored at 1 so that a series that is
mostly zero does not call every single request a spike.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from .summary import CLASS_BY_STATUS, Summary

__all__ = [
    "BUCKETS",
    "SPIKE_K",
    "bucket_counts",
    "choose_bucket",
    "find_spikes",
    "seen_table",
    "span",
    "trend_table",
]

BUCKETS: dict[str, pd.Timedelta] = {
    "minute": pd.Timedelta(minutes=1),
    "hour": pd.Timedelta(hours=1),
    "day": pd.Timedelta(days=1),
}
SPIKE_K = 5.0
_FREQ = {"minute": "min", "hour": "h", "day": "D"}


def choose_bucket(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """``minute`` for spans up to 6 hours, ``hour`` up to 14 days, else ``day``."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "hour"
    span = end - start
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=14):
        return "hour"
    return "day"


def _minutes(summary: Summary) -> pd.DataFrame:
    frame = summary.part("minutes").to_pandas()
    frame["class"] = frame["status"].map(CLASS_BY_STATUS)
    key = frame["method"].where(frame["status"] != 505, frame["protocol"])
    frame["key"] = key.astype(object).where(key.notna(), "-")
    return frame


def span(summary: Summary) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last minute of the summarised requests (None without timestamps)."""
    volume = summary.part("volume")
    if volume.num_rows == 0:
        return None, None
    minutes = volume["minute"].to_pandas()
    return minutes.min(), minutes.max()


def bucket_counts(
    minutes: pd.DataFrame, bucket: str, start: pd.Timestamp, end: pd.Timestamp,
    by: list[str],
) -> pd.DataFrame:
    """Counts per bucket from ``start`` to ``end`` (every bucket, zeros included), one column per
    group of ``by`` (e.g. ``["class"]`` or ``["class", "key"]``)."""
    index = pd.date_range(start.floor(_FREQ[bucket]), end.floor(_FREQ[bucket]),
                          freq=_FREQ[bucket], name="bucket")
    if minutes.empty:
        return pd.DataFrame(index=index)
    wide = (
        minutes.assign(bucket=minutes["minute"].dt.floor(_FREQ[bucket]))
        .groupby(["bucket", *by])["count"].sum()
        .unstack(by, fill_value=0)
    )
    return wide.reindex(index, fill_value=0).astype("int64")


def find_spikes(counts: pd.Series, k: float = SPIKE_K) -> pd.DataFrame:
    """The buckets of one series whose count is above ``median + k * max(1.4826 MAD, 1)``."""
    values = counts.to_numpy(dtype=float)
    if len(values) < 3:
        return pd.DataFrame(columns=["bucket", "count", "threshold"])
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    threshold = median + k * max(1.4826 * mad, 1.0)
    hits = counts[counts > threshold]
    return pd.DataFrame({
        "bucket": hits.index, "count": hits.to_numpy(dtype="int64"),
        "threshold": np.full(len(hits), threshold),
    })


def trend_table(data: Summary | pd.DataFrame, *, bucket: str | None = None) -> pd.DataFrame:
    """Long table: bucket, class, key (method, or protocol for 505), count; every bucket of the
    span, zeros included, for every (class, key) that occurs."""
    summary = data if isinstance(data, Summary) else Summary.from_frame(data)
    start, end = span(summary)
    if start is None or end is None:
        return pd.DataFrame(columns=["bucket", "class", "key", "count"])
    bucket = bucket or choose_bucket(start, end)
    wide = bucket_counts(_minutes(summary), bucket, start, end, ["class", "key"])
    if wide.empty or not len(wide.columns):
        return pd.DataFrame(columns=["bucket", "class", "key", "count"])
    return wide.stack(["class", "key"], future_stack=True).rename("count").reset_index()


def seen_table(summary: Summary) -> pd.DataFrame:
    """First and last seen, and count, per class and key (method, or protocol for 505)."""
    requests = summary.part("requests").to_pandas()
    rows = requests[requests["status"].isin(list(CLASS_BY_STATUS))]
    if rows.empty:
        return pd.DataFrame(columns=["class", "key", "count", "first", "last"])
    key = rows["method"].where(rows["status"] != 505, rows["protocol"])
    return (
        rows.assign(**{"class": rows["status"].map(CLASS_BY_STATUS)},
                    key=key.astype(object).where(key.notna(), "-"))
        .groupby(["class", "key"], sort=True)
        .agg(count=("count", "sum"), first=("first", "min"), last=("last", "max"))
        .reset_index()
    )


def class_series(summary: Summary, bucket: str | None = None) -> tuple[str, pd.DataFrame]:
    """(bucket name, wide counts per bucket with one column per class, zeros included)."""
    start, end = span(summary)
    if start is None or end is None:
        return bucket or "hour", pd.DataFrame()
    bucket = bucket or choose_bucket(start, end)
    return bucket, bucket_counts(_minutes(summary), bucket, start, end, ["class"])
