"""Trends: bucket choice, counts per bucket with zeros, first/last seen, spikes."""

from __future__ import annotations

import pandas as pd
import pytest

import analyzer
from analyzer.summary.summary import Summary
from analyzer.verdicts.trends import choose_bucket, find_spikes, seen_table, trend_table


def log(times: list[str], statuses: list[int], methods: list[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "source": "t.log",
        "line": range(1, len(times) + 1),
        "time": pd.to_datetime(times, utc=True),
        "method": methods,
        "protocol": "HTTP/1.1",
        "target": "/",
        "status": pd.Series(statuses, dtype="int16"),
        "client": "192.0.2.7",
    })


@pytest.mark.parametrize(
    ("span", "bucket"),
    [("30min", "minute"), ("6h", "minute"), ("7h", "hour"), ("14D", "hour"), ("15D", "day")],
)
def test_bucket_follows_the_span(span, bucket):
    start = pd.Timestamp("2025-10-01", tz="UTC")
    assert choose_bucket(start, start + pd.Timedelta(span)) == bucket


def test_counts_per_bucket_include_zeros_and_keys():
    frame = log(
        ["2025-10-01T00:10:00Z", "2025-10-01T00:20:00Z", "2025-10-01T03:05:00Z",
         "2025-10-01T09:00:00Z", "2025-10-01T09:30:00Z"],
        [501, 501, 200, 405, 501],
        ["FOO", "FOO", "GET", "PUT", "PATCH"],
    )
    table = trend_table(frame)  # 9.3 hours: hourly buckets
    assert table["bucket"].nunique() == 10
    foo = table[(table["class"] == "not_implemented") & (table["key"] == "FOO")]
    assert foo["count"].tolist() == [2] + [0] * 9
    put = table[(table["key"] == "PUT")]
    assert put["count"].sum() == 1
    assert set(table["class"]) == {"not_implemented", "method_not_allowed"}


def test_505_is_keyed_by_protocol():
    frame = log(["2025-10-01T00:00:00Z", "2025-10-01T00:01:00Z"], [505, 505], ["GET", "GET"])
    frame["protocol"] = ["HTTP/2.0", "HTTP/3.0"]
    seen = seen_table(Summary.from_frame(frame))
    assert seen[["class", "key", "count"]].to_dict("records") == [
        {"class": "version_not_supported", "key": "HTTP/2.0", "count": 1},
        {"class": "version_not_supported", "key": "HTTP/3.0", "count": 1},
    ]


def test_first_and_last_seen():
    frame = log(["2025-10-01T00:10:00Z", "2025-10-02T00:20:00Z", "2025-10-01T05:00:00Z"],
                [405, 405, 405], ["PUT", "PUT", "PUT"])
    seen = seen_table(Summary.from_frame(frame))
    assert seen.loc[0, "first"] == pd.Timestamp("2025-10-01T00:10:00Z")
    assert seen.loc[0, "last"] == pd.Timestamp("2025-10-02T00:20:00Z")


def test_spike_is_above_median_plus_k_mad():
    counts = pd.Series([1, 2, 1, 0, 2, 1, 40, 1, 2, 1],
                       index=pd.date_range("2025-10-01", periods=10, freq="h"))
    spikes = find_spikes(counts)
    assert spikes["count"].tolist() == [40]
    assert spikes["bucket"].tolist() == [pd.Timestamp("2025-10-01T06:00:00")]


def test_mostly_zero_series_needs_more_than_one_request_to_spike():
    counts = pd.Series([0] * 20 + [1, 3] + [0] * 5)
    assert find_spikes(counts).empty
    counts.iloc[3] = 9
    assert find_spikes(counts)["count"].tolist() == [9]


def test_report_trends_section():
    times = [f"2025-10-01T{h:02d}:00:00Z" for h in range(12)] + ["2025-10-01T06:30:00Z"] * 30
    frame = log(times, [501] * len(times), ["FOO"] * len(times))
    trends = analyzer.analyze(frame).trends
    assert trends.bucket == "hour"
    assert len(trends.buckets) == 12
    assert trends.series[0].counts[6] == 31
    assert [(s.cls, s.key, s.bucket) for s in trends.spikes] == [
        ("not_implemented", "*", "2025-10-01T06:00:00Z"),
        ("not_implemented", "FOO", "2025-10-01T06:00:00Z"),
    ]
    assert sum(trends.totals) == len(times)
