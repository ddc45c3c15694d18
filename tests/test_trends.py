"""Trends: bucket choice, counts per bucket with zeros, first/last seen, spikes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import analyzer
from analyzer.errors import AnalyzerError
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
    [("30min", "minute"), ("6h", "minute"), ("7h", "hour"), ("14D", "hour"), ("15D", "day"),
     ("1499D", "day"), ("1500D", "2 days"), ("3000D", "3 days"), ("100000D", "67 days")],
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


def test_a_line_from_another_millennium_widens_the_buckets(tmp_path):
    """One damaged or forged timestamp a thousand years early: the report's trends cut the
    span into at most 1,500 buckets of whole days (it cut it into 365,000 daily buckets, took
    17 s and grew the JSON by tens of MB), and the plots draw it; a bucket asked for that
    would cut the span into more than 100,000 is a clear error."""
    lines = [f'192.0.2.{i} - - [22/Nov/2026:12:{i:02d}:00 +0000] "FOO / HTTP/1.1" 501 0 "-" "x"'
             for i in range(20)]
    lines[3] = lines[3].replace("2026", "1026")
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    report = analyzer.analyze(str(path), log_format="combined")
    trends = report.to_dict()["trends"]
    assert trends["bucket"] == "244 days"
    assert len(trends["buckets"]) == 1498
    assert trends["buckets"][0] == "1026-09-19T00:00:00Z"
    assert sum(trends["totals"]) == 20
    assert len(json.dumps(trends)) < 200_000
    frame = analyzer.read_log(str(path), log_format="combined")
    for data in (report, frame):
        figure = analyzer.plots.trend_plot(data)
        assert "requests per 244 days" in [text.get_text() for text in figure.texts]
    with pytest.raises(AnalyzerError, match="cuts the span of these requests .* into "
                                            "8,765,833 buckets, more than 100,000"):
        trend_table(frame, bucket="hour")
    with pytest.raises(AnalyzerError, match="cuts the span of these requests .* into "
                                            "525,949,937 buckets, more than 100,000: choose "
                                            "a wider one"):
        analyzer.plots.trend_plot(frame, bucket="minute")
