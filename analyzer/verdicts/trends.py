"""Time: counts per bucket for each class and method, first and last seen, and spikes.

The Summary keeps minute counts; a report re-buckets them by the span of the log: ``minute`` up
to 6 hours, ``hour`` up to 14 days, ``day`` up to :data:`MAX_BUCKETS` days, and beyond that a
whole number of days that cuts the span into at most :data:`MAX_BUCKETS` buckets (``"3 days"``):
a log whose timestamps span centuries (one damaged or forged line is enough) gets wider buckets,
not millions of them. A bucket is a spike when its count is above
``median + k * max(1.4826 * MAD, 1)`` of all the buckets of the span (zeros included), with
``k = 5``: the MAD is scaled to a standard deviation, and floored at 1 so that a series that is
mostly zero does not call every single request a spike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import AnalyzerError
from ..summary.bounded import FOLDED, FOLDED_LABELS
from ..summary.summary import Summary
from ..vocabulary import CLASS_BY_STATUS, STATUS_OF_CLASS, class_key

__all__ = [
    "BUCKETS",
    "MAX_ASKED_BUCKETS",
    "MAX_BUCKETS",
    "SPIKE_K",
    "BucketSeries",
    "bucket_series",
    "bucket_step",
    "check_buckets",
    "choose_bucket",
    "find_spikes",
    "seen_table",
    "span",
    "spike_threshold",
    "trend_table",
]

BUCKETS: dict[str, pd.Timedelta] = {
    "minute": pd.Timedelta(minutes=1),
    "hour": pd.Timedelta(hours=1),
    "day": pd.Timedelta(days=1),
}
SPIKE_K = 5.0
#: The most buckets a span is cut into when the bucket is chosen from it.
MAX_BUCKETS = 1500
#: The most buckets a bucket that is asked for may cut a span into.
MAX_ASKED_BUCKETS = 100_000
_FREQ = {"minute": "min", "hour": "h", "day": "D"}


def check_buckets(bucket: str, start: object, end: object, n: int) -> None:
    """An AnalyzerError when ``bucket`` cuts the span from ``start`` to ``end`` into ``n``
    buckets, more than :data:`MAX_ASKED_BUCKETS` (a table, a plot, a report's trends)."""
    if n > MAX_ASKED_BUCKETS:
        raise AnalyzerError(
            f"bucket {bucket!r} cuts the span of these requests ({start} to {end}) into {n:,} "
            f"buckets, more than {MAX_ASKED_BUCKETS:,}: choose a wider one"
        )


def choose_bucket(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    """``minute`` for spans up to 6 hours, ``hour`` up to 14 days, ``day`` up to
    :data:`MAX_BUCKETS` days, else ``"N days"``, the fewest days that keep the buckets within
    :data:`MAX_BUCKETS`."""
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return "hour"
    span = end - start
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=14):
        return "hour"
    if span < timedelta(days=MAX_BUCKETS):
        return "day"
    return f"{span // timedelta(days=MAX_BUCKETS) + 1} days"


def bucket_step(bucket: str) -> pd.Timedelta:
    """How long a bucket is: ``minute``, ``hour``, ``day`` or a fixed span (``"3 days"``,
    ``"15min"``)."""
    if bucket in BUCKETS:
        return BUCKETS[bucket]
    try:
        step = pd.Timedelta(bucket)
    except ValueError:
        step = pd.Timedelta(0)
    if pd.isna(step) or step <= pd.Timedelta(0):
        raise ValueError(
            f"bucket {bucket!r} is not a fixed time span (try 'minute', 'hour', 'day', '5min' "
            "or '6h')"
        )
    return step


def span(summary: Summary) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last minute of the summarised requests (None without timestamps)."""
    volume = summary.part("volume")
    if volume.num_rows == 0:
        return None, None
    minutes = volume["minute"].to_pandas()
    return minutes.min(), minutes.max()


def spike_threshold(values: np.ndarray, k: float = SPIKE_K) -> float:
    """``median + k * max(1.4826 * MAD, 1)`` of the values."""
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    return median + k * max(1.4826 * mad, 1.0)


def find_spikes(counts: pd.Series, k: float = SPIKE_K) -> pd.DataFrame:
    """The buckets of one series whose count is above ``median + k * max(1.4826 MAD, 1)``."""
    values = counts.to_numpy(dtype=float)
    if len(values) < 3:
        return pd.DataFrame(columns=["bucket", "count", "threshold"])
    threshold = spike_threshold(values, k)
    hits = counts[counts > threshold]
    return pd.DataFrame({
        "bucket": hits.index, "count": hits.to_numpy(dtype="int64"),
        "threshold": np.full(len(hits), threshold),
    })


@dataclass(frozen=True)
class BucketSeries:
    """Counts per bucket over the whole span (zeros included): all requests, and the requests
    of each (class, key) where key is the method, or the protocol for 505 (``-``: none).

    With a limit per class, the keys beyond it (and the keys the Summary folded) are summed in
    ``other`` (per class), and ``other_keys`` says how many keys that is (folded keys aside)."""

    bucket: str
    index: pd.DatetimeIndex
    totals: np.ndarray
    series: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    other: dict[str, np.ndarray] = field(default_factory=dict)
    other_keys: dict[str, int] = field(default_factory=dict)


def bucket_series(summary: Summary, bucket: str | None = None, *,
                  per_class: int | None = None,
                  keys: Mapping[str, Collection[str]] | None = None) -> BucketSeries | None:
    """The span's buckets and counts, computed on integer bucket numbers (None: no times).

    ``per_class``: a series for each of the keys with the most requests of each class, the
    rest summed in ``other``; None: a series for every key (a folded key, see
    analyzer.summary.bounded, under its label). ``keys``: per class, the only keys that may
    have a series of their own."""
    volume = summary.part("volume")
    if volume.num_rows == 0:
        return None
    start, end = span(summary)
    bucket = bucket or choose_bucket(start, end)
    step = int(bucket_step(bucket) / pd.Timedelta(microseconds=1))
    micros = volume["minute"].cast(pa.int64()).to_numpy()
    first = int(micros.min()) // step * step
    n = (int(micros.max()) - first) // step + 1
    check_buckets(bucket, start, end, n)
    totals = np.bincount((micros - first) // step, weights=volume["count"].to_numpy(),
                         minlength=n).astype("int64")
    index = pd.date_range(pd.Timestamp(first, unit="us", tz="UTC"), periods=n,
                          freq=_FREQ.get(bucket) or pd.Timedelta(step, unit="us"),
                          name="bucket")
    minutes = summary.part("minutes")
    if minutes.num_rows == 0:
        return BucketSeries(bucket, index, totals)
    position = pc.divide(pc.subtract(minutes["minute"].cast(pa.int64()), first), step)
    grouped = pa.table({"status": minutes["status"], "key": class_key(minutes),
                        "position": position, "count": minutes["count"]}).group_by(
        ["status", "key", "position"], use_threads=False).aggregate([("count", "sum")])
    return _series(grouped, bucket, index, totals, per_class, keys)


def _series(grouped: pa.Table, bucket: str, index: pd.DatetimeIndex, totals: np.ndarray,
            per_class: int | None, allowed: Mapping[str, Collection[str]] | None
            ) -> BucketSeries:
    """The series of ``grouped`` (status, key, position, count_sum), on integer codes with
    NumPy: a Python step per series kept, never per row."""
    n = len(index)
    statuses = sorted(CLASS_BY_STATUS)
    encoded = pc.dictionary_encode(grouped["key"].combine_chunks())
    keys = encoded.dictionary
    width = len(keys)
    klass = np.searchsorted(statuses, grouped["status"].to_numpy())
    pair = klass * width + encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    position = grouped["position"].to_numpy()
    count = grouped["count_sum"].to_numpy()
    total = np.bincount(pair, weights=count, minlength=len(statuses) * width)
    present = np.flatnonzero(np.bincount(pair, minlength=len(statuses) * width))
    key_of, class_of = present % width, present // width
    folded = (pc.equal(keys, FOLDED).to_numpy(zero_copy_only=False)[key_of] if width
              else np.zeros(0, bool))
    chosen = np.ones(len(present), bool) if per_class is None else ~folded
    if allowed is not None:
        listed = np.zeros(len(present), bool)
        for cls, names in allowed.items():  # the few allowed names probe the many keys
            known = pc.is_in(keys, value_set=pa.array(list(names), pa.string()))
            listed |= (class_of == statuses.index(STATUS_OF_CLASS[cls])) & \
                known.to_numpy(zero_copy_only=False)[key_of]
        chosen &= listed
    if per_class is not None and chosen.any():
        candidates = np.flatnonzero(chosen)
        named = keys.take(pa.array(key_of[candidates]))
        by_name = np.empty(len(candidates), np.int64)  # ties between equal totals: by key
        by_name[pc.sort_indices(named).to_numpy()] = np.arange(len(candidates))
        order = candidates[np.lexsort((by_name, -total[present[candidates]],
                                       class_of[candidates]))]
        group = class_of[order]
        starts = np.r_[True, group[1:] != group[:-1]]
        rank = np.arange(len(order)) - np.flatnonzero(starts)[np.cumsum(starts) - 1]
        chosen = np.zeros(len(present), bool)
        chosen[order[rank < per_class]] = True
    pick = np.flatnonzero(chosen)
    row_of = np.full(len(statuses) * width, -1)
    row_of[present[pick]] = np.arange(len(pick))
    rows = row_of[pair]
    mine = rows >= 0
    matrix = np.zeros((len(pick), n), "int64")
    np.add.at(matrix, (rows[mine], position[mine]), count[mine])
    names = keys.take(pa.array(key_of[pick])).to_pylist()
    series = {}
    for j, (name, code) in enumerate(zip(names, class_of[pick], strict=True)):
        status = statuses[int(code)]
        if name == FOLDED:  # a key folded in the Summary, under its label
            name = FOLDED_LABELS["protocol" if status == 505 else "method"]
        series[(CLASS_BY_STATUS[status], name)] = matrix[j]
    other: dict[str, np.ndarray] = {}
    other_keys: dict[str, int] = {}
    for code in np.unique(class_of[~chosen]):
        cls = CLASS_BY_STATUS[statuses[int(code)]]
        rest = ~mine & (klass == code)
        other[cls] = np.bincount(position[rest], weights=count[rest], minlength=n).astype("int64")
        other_keys[cls] = int((~chosen & ~folded & (class_of == code)).sum())
    return BucketSeries(bucket, index, totals, series, other, other_keys)


def trend_table(data: Summary | pd.DataFrame, *, bucket: str | None = None) -> pd.DataFrame:
    """Long table: bucket, class, key (method, or protocol for 505), count; every bucket of the
    span, zeros included, for every (class, key) that occurs."""
    summary = data if isinstance(data, Summary) else Summary.from_frame(data)
    found = bucket_series(summary, bucket)
    columns = ["bucket", "class", "key", "count"]
    if found is None or not found.series:
        return pd.DataFrame(columns=columns)
    frames = [
        pd.DataFrame({"bucket": found.index, "class": cls, "key": key, "count": values})
        for (cls, key), values in sorted(found.series.items())
    ]
    return pd.concat(frames, ignore_index=True)


def seen_table(summary: Summary) -> pd.DataFrame:
    """First and last seen, and count, per class and key (method, or protocol for 505)."""
    requests = summary.part("requests")
    rows = requests.append_column("key", class_key(requests)).to_pandas()
    rows = rows[rows["status"].isin(list(CLASS_BY_STATUS))]
    if rows.empty:
        return pd.DataFrame(columns=["class", "key", "count", "first", "last"])
    seen: pd.DataFrame = (
        rows.assign(**{"class": rows["status"].map(CLASS_BY_STATUS)})
        .groupby(["class", "key"], sort=True)
        .agg(count=("count", "sum"), first=("first", "min"), last=("last", "max"))
        .reset_index()
    )
    return seen
