"""Bounds whatever the log holds (DESIGN.md section 8): Summaries keep at most K keys per group
(--max-keys / max_keys) and merge in any split and order into one pass's report when no group
has more, and within the Misra-Gries bound when some have; unregistered methods beyond the
report's lists fold into one finding per class; every renderer says what its lists leave out;
the text report and the Prometheus file stay short on an adversarial log."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import SAMPLE_LOGS

import analyzer
from analyzer.cli import app
from analyzer.errors import AnalyzerError
from analyzer.parse.kernels import native_available
from analyzer.render.csv import render_csv
from analyzer.render.html import render_html
from analyzer.render.json import render_json
from analyzer.render.markdown import render_markdown
from analyzer.render.text import render_text
from analyzer.report.build import build_report
from analyzer.summary.bounded import (
    KNOWN_PROTOCOLS,
    encode_strings,
    hash_strings,
    rows_of_smallest,
    smallest_per_group,
)
from analyzer.summary.summary import Summary
from analyzer.vocabulary import IANA_METHODS

K = 4
CLASSED = (501, 405, 505)


def _line(n: int, method: str, status: int, client: str = "192.0.2.7",
          protocol: str = "HTTP/1.1", agent: str = "curl/8.5.0") -> str:
    minute, second = divmod(n, 60)
    return (f'{client} - - [01/Mar/2026:10:{minute % 60:02d}:{second:02d} +0000] '
            f'"{method} /r{n % 7} {protocol}" {status} 12 "-" "{agent}"')


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- merging in any split and order -------------------------------------------------------------

# methods from a few names, or made up (most then occur once: a block of method fuzzing)
methods_ = st.one_of(st.sampled_from(["GET", "PATCH", "FOO", "BAR", "BAZ", "QUX", "ZAP", "get"]),
                     st.text(alphabet="ABCDEFGHIJKLMNOP", min_size=1, max_size=4))
requests_ = st.lists(
    st.tuples(methods_,
              st.sampled_from([200, 404, *CLASSED]),
              st.sampled_from(["192.0.2.1", "192.0.2.2", "198.51.100.3"]),
              st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0"])),
    min_size=1, max_size=120,
)


def _frame(tmp: Path, rows: list[tuple[str, int, str, str]]):  # noqa: ANN202 - a DataFrame
    lines = [_line(i, m, s, client=c, protocol=p) for i, (m, s, c, p) in enumerate(rows)]
    return analyzer.read_log(str(_write(tmp / "access.log", lines)), log_format="combined")


def _merged(frame, cuts: list[int], seed: int, keys: int) -> Summary:  # noqa: ANN001
    """Summaries of the frame cut at ``cuts``, merged as a random tree in a random order."""
    bounds = sorted({0, len(frame), *(c % (len(frame) + 1) for c in cuts)})
    pieces = [Summary.from_frame(frame.iloc[a:b], max_keys=keys)
              for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    rng = random.Random(seed)
    rng.shuffle(pieces)
    while len(pieces) > 1:
        i = rng.randrange(len(pieces) - 1)
        pieces[i:i + 2] = [pieces[i + 1].merge(pieces[i])]
    return pieces[0]


def _largest_group(rows: list[tuple[str, int, str, str]]) -> int:
    """The most distinct keys any status holds: (method, protocol) in the counts of requests,
    (method, protocol, client) in the counts of the classes' clients."""
    keys: dict[tuple[int, bool], set[tuple[str, ...]]] = {}
    for method, status, client, protocol in rows:
        keys.setdefault((status, False), set()).add((method, protocol))
        if status in CLASSED:
            keys.setdefault((status, True), set()).add((method, protocol, client))
    return max(len(k) for k in keys.values())


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=requests_, cuts=st.lists(st.integers(0, 120), max_size=5),
       seed=st.integers(0, 2**16))
def test_merged_in_any_split_and_order(tmp_path: Path, rows, cuts, seed) -> None:  # noqa: ANN001
    """One pass and any split merged in any order: the same report while every group holds at
    most K keys; otherwise totals, statuses and classes stay exact and every listed count is
    within the Misra-Gries bound of the truth."""
    frame = _frame(tmp_path, rows)
    whole = Summary.from_frame(frame, max_keys=K)
    merged = _merged(frame, cuts, seed, K)
    one_pass, split = build_report(whole).to_dict(), build_report(merged).to_dict()
    if _largest_group(rows) <= K:
        assert split == one_pass
        assert whole == merged
        return
    statuses = Counter(str(s) for _, s, _, _ in rows)
    for summary in (whole, merged):
        report = build_report(summary).to_dict()
        assert report["status_counts"] == dict(sorted(statuses.items()))
        requests = summary.part("requests").to_pylist()
        for name, status in zip(("not_implemented", "method_not_allowed",
                                 "version_not_supported"), CLASSED, strict=True):
            key = 3 if status == 505 else 0
            truth = Counter(row[key] for row in rows if row[1] == status)
            tuples = Counter(k for k in {(m, p) for m, s, _, p in rows if s == status}
                             for k in [k[1] if status == 505 else k[0]])
            cls = report["classes"][name]
            assert cls["count"] == sum(truth.values())  # class counts stay exact
            listed = sum(cls["by"].values())
            assert listed + cls.get("by_more", {}).get("requests", 0) == cls["count"]
            # R: what the Summary folded in this status; each (method, protocol) key loses at
            # most R / (K + 1); registered methods and known protocols keep their names when
            # folded, so their counts stay exact
            folded = sum(r["count"] for r in requests if r["rest"] and r["status"] == status)
            for name_, n in cls["by"].items():
                if name_ in IANA_METHODS or name_ in KNOWN_PROTOCOLS:
                    assert n == truth[name_], (name, name_)
                else:
                    slack = tuples[name_] * folded / (K + 1)
                    assert truth[name_] - slack <= n <= truth[name_], (name, name_)


def test_the_pipeline_gives_the_frame_summary_and_keeps_k_keys(tmp_path: Path) -> None:
    """analyze through the pipeline and Summaries of frames agree; no group keeps more than K."""
    rows = [(f"M{i % 9}", 501 if i % 3 else 405, f"10.0.0.{i % 11}", "HTTP/1.1")
            for i in range(300)]
    path = tmp_path / "access.log"
    frame = _frame(tmp_path, rows)
    piped = analyzer.summarize(str(path), log_format="combined", max_keys=K)
    assert piped.max_keys == K
    for name in ("requests", "hits"):
        table = piped.part(name)
        kept = table.filter(pc.invert(table["rest"]))
        per_status = Counter(kept["status"].to_pylist())
        assert max(per_status.values()) <= K, name
        assert sum(table["count"].to_pylist()) == 300  # the remainders keep the totals exact
    report = build_report(piped)
    assert report.to_dict()["status_counts"] == {"405": 100, "501": 200}
    assert build_report(Summary.from_frame(frame, max_keys=K)).class_count("not_implemented") \
        == report.class_count("not_implemented") == 200


def test_max_keys_is_checked(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.log", [_line(0, "GET", 200)])
    with pytest.raises(AnalyzerError, match="max_keys must be a whole number of at least 1"):
        analyzer.analyze(str(path), max_keys=0)
    result = CliRunner().invoke(app.main, [str(path), "--max-keys", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--max-keys'" in result.output


# -- folded verdicts --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory) -> Path:
    """One scanner: 50 distinct unregistered methods answered 501, 40 answered 405; 20 PATCH
    and 8 PROPFIND from a client; 6 TRACE 405 from another."""
    lines = [_line(i, f"XQ{i:03d}", 501) for i in range(50)]
    lines += [_line(50 + i, f"ZW{i:03d}", 405) for i in range(40)]
    lines += [_line(100 + i, "PATCH", 501, client="198.51.100.9") for i in range(20)]
    lines += [_line(130 + i, "PROPFIND", 501, client="198.51.100.9") for i in range(8)]
    lines += [_line(140 + i, "TRACE", 405, client="203.0.113.5") for i in range(6)]
    return _write(tmp_path_factory.mktemp("fuzz") / "access.log", lines)


def test_unregistered_methods_fold_into_one_finding_per_class(fuzzed: Path) -> None:
    report = analyzer.analyze(str(fuzzed), log_format="combined", max_keys=K)
    assert [(v.method, v.verdict) for v in report.verdicts] == [
        ("PATCH", "capability_gap"), ("PROPFIND", "capability_gap"), ("TRACE", "never_allowed")]
    assert [f.what for f in report.folds] == [
        "50 distinct unregistered methods from 1 client, 50 requests: method fuzzing",
        "40 distinct unregistered methods from 1 client, 40 requests: method fuzzing",
    ]
    data = json.loads(render_json(report))
    assert [(f["class"], f["status"], f["distinct"], f["requests"], f["clients"])
            for f in data["folded"]] == [("not_implemented", 501, 50, 50, 1),
                                         ("method_not_allowed", 405, 40, 40, 1)]
    assert data["classes"]["not_implemented"]["count"] == 78  # class counts stay exact
    text = render_text(report, width=200)
    assert "50 distinct unregistered methods from 1 client, 50 requests: method fuzzing (501)" \
        in text
    assert ("- **40 distinct unregistered methods from 1 client, 40 requests: method fuzzing** "
            "(405)") in render_markdown(report)
    assert "40 distinct unregistered methods from 1 client, 40 requests: method fuzzing" \
        in render_html(report)


def test_a_few_unregistered_methods_keep_their_verdicts(fuzzed: Path) -> None:
    """With K above the keys, every method keeps its own verdict: nothing folds."""
    report = analyzer.analyze(str(fuzzed), log_format="combined", max_keys=200)
    assert report.folds == ()
    assert len(report.verdicts) == 93


# -- "+N more (M requests)" in every renderer --------------------------------------------------

@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """Twelve unregistered methods answered 405, 12 requests for the first down to 1 for the
    last (78 in all), from twelve clients; 3 requests of 12 protocols answered 505."""
    lines, n = [], 0
    for i in range(12):
        for _ in range(12 - i):
            lines.append(_line(n, f"MM{i:02d}", 405, client=f"10.1.0.{i}"))
            n += 1
    for i in range(12):
        lines += [_line(n + j, "GET", 505, protocol=f"HTTP/{i + 4}.0") for j in range(3)]
        n += 3
    return _write(tmp_path_factory.mktemp("many") / "access.log", lines)


def test_every_renderer_says_what_its_lists_leave_out(many: Path) -> None:
    report = analyzer.analyze(str(many), log_format="combined", max_keys=K)
    cls = report.classes["method_not_allowed"]
    # Misra-Gries in one pass: the 5th count (8) is taken from every key; the 4 kept remain
    assert cls.by == {"MM00": 4, "MM01": 3, "MM02": 2, "MM03": 1}
    assert cls.more is not None and cls.more.to_dict() == {"more": 8, "requests": 68,
                                                            "exact": True}
    data = json.loads(render_json(report))
    assert data["classes"]["method_not_allowed"]["by_more"] == {"more": 8, "requests": 68,
                                                                "exact": True}
    assert data["methods_more"] == {"more": 9, "requests": 69, "exact": True}  # GET: 36
    # the summary names 3 of the 4 listed methods: the 4th is in what it leaves out
    assert "MM00 (4), MM01 (3), MM02 (2), +9 more (69 requests)" in render_text(report,
                                                                                width=120)
    details = render_text(report, width=120, details=True)
    assert "method_not_allowed: +8 more series (68 requests)" in details
    assert [line.split() for line in details.splitlines() if line.startswith("+8 more")] == [
        ["+8", "more", "68", "-", "-", "-"]]
    markdown = render_markdown(report)
    assert "| MM00 (4), MM01 (3), MM02 (2), +9 more (69 requests) |" in markdown
    assert "| +8 more | 68 | - | - | - |" in markdown
    assert "+8 more methods (68 requests)" in render_html(report)
    # CSV: what the Summary folded is a row of its own; the rows beyond K, one "(+N more)"
    csv_rows = render_csv(report).splitlines()
    assert csv_rows[1] == ("method_not_allowed,,(other methods),HTTP/1.1,405,(other clients),"
                           "(other user agents),unknown,68")
    assert csv_rows[-1] == "method_not_allowed,,,,405,(+1 more),,,1"
    # the 505s: 12 protocols of 3 requests, 4 kept: the rest folds into one finding
    protocols = [f for f in report.folds if f.key == "protocol"]
    assert [f.what for f in protocols] == [
        "12 distinct protocols from 1 client, 36 requests: protocol fuzzing"]


# -- short outputs on an adversarial log -------------------------------------------------------

def _adversarial(path: Path, n: int = 3000) -> Path:
    """Every line a new method, protocol, client, user agent and virtual host."""
    rng = random.Random(7)
    word = lambda k: "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(k))  # noqa: E731
    lines = []
    for i in range(n):
        status = rng.choice((200, 404, 405, 501, 505))
        protocol = f"HTTP/{rng.randrange(10)}.{rng.randrange(100)}" if i % 2 else word(6)
        lines.append(
            f"{word(10).lower()}.example.net:80 10.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(256)} - - [01/Mar/2026:10:{(i // 60) % 60:02d}:{i % 60:02d} +0000] "
            f'"{word(8)} /p{i} {protocol}" {status} 5 "-" "{word(20)}"')
    return _write(path, lines)


def test_text_and_prometheus_stay_short_on_an_adversarial_log(tmp_path: Path) -> None:
    log = _adversarial(tmp_path / "access.log")
    runner = CliRunner()
    text = runner.invoke(app.main, [str(log), "--log-format", "vhost_combined", "--max-keys",
                                    "20", "--no-progress", "--width", "100"])
    assert text.exit_code == 0, text.output
    assert len(text.output.splitlines()) <= 200
    assert "method fuzzing" in text.output
    prom = tmp_path / "logscan.prom"
    result = runner.invoke(app.main, ["report", str(log), "--state", str(tmp_path / "state"),
                                      "--log-format", "vhost_combined", "--prometheus",
                                      str(prom), "--max-keys", "20", "-q"])
    assert result.exit_code == 0, result.output
    assert len(prom.read_text().splitlines()) <= 500
    out = tmp_path / "r.json"
    result = runner.invoke(app.main, [str(log), "--log-format", "vhost_combined", "--format",
                                      "json", "-o", str(out), "--max-keys", "20"])
    data = json.loads(out.read_text())
    assert out.stat().st_size <= 2_000_000
    assert data["totals"] == {"lines": 3000, "parsed": 3000, "rejected": 0}
    assert sum(data["status_counts"].values()) == 3000
    assert all(len(c["by"]) <= 20 for c in data["classes"].values())


@pytest.mark.parametrize("name", ["apache_vhost_allow.log", "nginx_combined.log",
                                  "nginx_timed.log", "nginx_rotated.log.1"])
@pytest.mark.parametrize("kernel", ["arrow", "native"])
def test_every_sample_folds_at_a_small_k(name: str, kernel: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Real servers' logs read at K=3, where every part folds (requests, clients, Allow
    values, minutes; a sample's Allow is all null in some groups): totals, statuses and class
    counts are the exact report's, each class lists at most 3 keys and says how many more it
    folded."""
    if kernel == "native" and not native_available():
        pytest.skip("the native kernel is not built in this install")
    monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
    path = str(SAMPLE_LOGS / name)
    exact, folded = (analyzer.analyze(path, max_keys=k).to_dict() for k in (1000, 3))
    assert (folded["totals"], folded["status_counts"]) == (exact["totals"],
                                                           exact["status_counts"])
    for key, cls in exact["classes"].items():
        shown = folded["classes"][key]
        assert shown["count"] == cls["count"]
        assert len(shown["by"]) == min(3, len(cls["by"]))
        more = shown.get("by_more", {"more": 0, "requests": 0})
        assert len(shown["by"]) + more["more"] == len(cls["by"])
        assert sum(shown["by"].values()) + more["requests"] == cls["count"]


# Hashes are stored (a state's sketches and sample ranks) and read by later runs, which may
# use the other kernel: both give these values, and the same for any strings.
_KNOWN_HASHES = [0, 11871767932945958225, 15334976672235116190, 7640891576956012808,
                 9828926580538638345]


@pytest.mark.parametrize("kernel", ["arrow", "native"])
def test_string_hashes_are_the_stored_ones(kernel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if kernel == "native" and not native_available():
        pytest.skip("the native kernel is not built in this install")
    monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
    hashed = hash_strings(pa.array(["", "GET", "/a?b", None, "\u00e9"]))
    assert hashed.dtype == np.uint64
    assert [int(h) for h in hashed] == _KNOWN_HASHES
    assert [int(h) for h in hash_strings(pa.array(["/a?b", "/a"]), ord("?"))] == [
        6754683538780471189, 6754683538780471189]


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.none() | st.text(alphabet="ab?/\u00e9\x00 ", max_size=30),
                       max_size=60),
       start=st.integers(0, 5), stop=st.sampled_from([None, ord("?"), ord("/")]),
       kind=st.sampled_from(["string", "large_string", "dictionary"]))
def test_either_kernel_hashes_any_strings_alike(values: list[str | None], start: int,
                                                stop: int | None, kind: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    array = pa.array(values, pa.large_string() if kind == "large_string" else pa.string())
    array = array.slice(min(start, len(array)))
    if kind == "dictionary":
        array = pc.dictionary_encode(array)
    hashed = {}
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        hashed[kernel] = hash_strings(array, stop)
    assert hashed["native"].tolist() == hashed["arrow"].tolist()
    assert len(hashed["native"]) == len(array)


def test_a_summary_stored_before_the_bounds_reads_back(tmp_path: Path) -> None:
    """A history written before parts were bounded (no remainder, rank or sketch columns)
    gives the report it gave then."""
    import pyarrow as pa

    lines = [_line(i, ("PATCH", "FOO", "GET")[i % 3], (501, 405, 200)[i % 3],
                   client=f"10.0.0.{i % 4}") for i in range(60)]
    log = _write(tmp_path / "a.log", lines)
    summary = analyzer.summarize(str(log), log_format="combined")
    stored = summary.to_arrow()
    old = stored.filter(pc.not_equal(stored["part"], "distinct")).drop_columns(
        ["rest", "rank", "what"])
    again = Summary.from_arrow(pa.table(old))
    assert again.parts["requests"].equals(summary.parts["requests"])
    assert build_report(again).to_dict() == build_report(summary).to_dict()


# rows with few values (groups of at most K keys, exact) or many (folded), nulls included
_value = st.one_of(st.none(), st.sampled_from(["GET", "PATCH", "HTTP/1.1", "a", ""]),
                   st.text(alphabet="ABCxy/.", min_size=1, max_size=3))
_rows = st.lists(st.fixed_dictionaries({
    "method": _value, "protocol": _value, "vhost": _value, "client": _value,
    "user_agent": _value, "allow": _value, "target": st.sampled_from(["/", "/a?x", "/b", None]),
    "status": st.sampled_from([200, 404, *CLASSED]),
    "time": st.none() | st.integers(0, 600),
}), min_size=1, max_size=80)


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows, keys=st.sampled_from([1, 2, 3, 1000]),
       cuts=st.lists(st.integers(1, 79), max_size=4))
def test_either_kernel_summarises_any_rows_alike(rows: list[dict], keys: int, cuts: list[int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The native kernel counts and folds a block's count parts (requests, hits, minutes,
    Allow) in one pass, and merges them (remainder rows included) in another; the NumPy path
    gets the same Summaries from its grouped aggregations."""
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
    frame["status"] = frame["status"].astype("int16")
    frame["request"] = frame["method"].fillna("-") + " " + frame["target"].fillna("-")
    bounds = sorted({0, len(frame), *(c for c in cuts if c < len(frame))})
    summaries, merged = {}, {}
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        summaries[kernel] = Summary.from_frame(frame, max_keys=keys)
        merged[kernel] = Summary.merge_all([
            Summary.from_frame(frame.iloc[a:b], max_keys=keys)
            for a, b in zip(bounds, bounds[1:], strict=False)])
    for name in ("requests", "hits", "minutes", "allow", "firsts"):
        assert summaries["native"].part(name).to_pylist() == \
            summaries["arrow"].part(name).to_pylist(), name
        assert merged["native"].part(name).to_pylist() == \
            merged["arrow"].part(name).to_pylist(), name
    assert summaries["native"] == summaries["arrow"]
    assert merged["native"] == merged["arrow"]


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from([-1, 0, 3, 405, 501]),
                               st.integers(-2**63, 2**63 - 1) | st.integers(0, 5)),
                     max_size=200),
       m=st.integers(1, 12))
def test_either_kernel_keeps_the_same_smallest_values(rows: list[tuple[int, int]], m: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Sketches and sample bounds read each group's m smallest distinct values: the same from
    either kernel, repeats and signs included."""
    code = np.array([c for c, _ in rows], np.int64)
    values = np.array([v for _, v in rows], np.int64)
    found = {}
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        found[kernel] = [(g, v.tolist()) for g, v in smallest_per_group(code, values, m)]
    expected = [(g, sorted({v for c, v in rows if c == g})[:m])
                for g in sorted({c for c, _ in rows})]
    assert found["native"] == found["arrow"] == expected


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["GET", "QUUX", None]), st.sampled_from([0, 505]),
                               st.integers(-2**63, 2**63 - 1) | st.integers(0, 5)),
                     max_size=300),
       m=st.integers(1, 70))
def test_either_kernel_keeps_the_rows_of_the_same_smallest_values(
        rows: list[tuple[str | None, int, int]], m: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample part keeps the rows of each key's m smallest distinct values (first lines,
    path hashes): the same rows from either kernel, and exactly those."""
    keys = [pa.array([k for k, _, _ in rows], pa.string()), pa.array([s for _, s, _ in rows])]
    values = np.array([v for _, _, v in rows], np.int64)
    found = {}
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        kept = rows_of_smallest(keys, values, m)
        found[kernel] = [True] * len(rows) if kept is None else kept.tolist()
    smallest = {key: sorted({v for *k, v in rows if tuple(k) == key})[:m]
                for key in {(k, s) for k, s, _ in rows}}
    assert found["native"] == found["arrow"] == [v in smallest[(k, s)] for k, s, v in rows]


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@pytest.mark.parametrize("keys", [1, 3, 1000])
@pytest.mark.parametrize("name", ["apache_vhost_allow.log", "nginx_combined.log", "many vhosts"])
def test_either_kernel_gives_the_same_summary(name: str, keys: int, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The native kernel counts a log's ordinary lines itself and bounds the keys it counted;
    the Arrow kernel parses every line into rows: the Summaries are the same, folded or not."""
    if name == "many vhosts":  # ordinary statuses on many hosts: the counted keys fold
        rng = random.Random(7)
        lines = [f"h{rng.randrange(40)}.example:80 " + _line(i, rng.choice(["GET", "QUUX"]),
                                                             rng.choice([200, 404, 501]))
                 for i in range(600)]
        path, fmt = _write(tmp_path / "vhosts.log", lines), "vhost_combined"
    else:
        path, fmt = SAMPLE_LOGS / name, None
    summaries = {}
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        summaries[kernel] = analyzer.summarize(str(path), log_format=fmt, max_keys=keys)
    folded = summaries["native"].part("requests")["rest"].to_pylist()
    assert any(folded) == (keys < 1000)
    assert summaries["native"] == summaries["arrow"]


@pytest.mark.skipif(not native_available(), reason="the native kernel is not built")
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.none() | st.text(alphabet="ab?\u00e9\x00\n ", max_size=20),
                       max_size=60),
       start=st.integers(0, 5), large=st.booleans(), stop=st.sampled_from([None, ord("?")]))
def test_strings_are_encoded_as_arrow_encodes_them(values: list[str | None], start: int,
                                                   large: bool, stop: int | None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Summaries group by dictionary codes: the native kernel numbers a column's strings (or
    their paths, cut at "?") as Arrow's dictionary_encode does (first appearance, nulls left
    null), and so does the Arrow kernel."""
    array = pa.array(values, pa.large_string() if large else pa.string())
    array = array.slice(min(start, len(array)))
    cut = array if stop is None else pa.array(
        [None if v is None else v.split("?")[0] for v in array.to_pylist()], array.type)
    for kernel in ("arrow", "native"):
        monkeypatch.setenv("LOGSCAN_KERNEL", kernel)
        assert encode_strings(array, stop).equals(pc.dictionary_encode(cut)), kernel
