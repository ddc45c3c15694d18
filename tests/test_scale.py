"""Scale: single-process streaming, the local engine (all cores, byte ranges) and the Dask engine
give the same report, line numbers included, and memory does not grow with the input."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from paths import REAL_LOGS, REPO, SAMPLE_LOGS

import analyzer
from analyzer import engines
from analyzer.analysis import analyze as stream_analyze
from analyzer.analysis import summarize as stream_summarize
from analyzer.report.build import Window, build_report

ROOT = REPO
SAMPLES = sorted(SAMPLE_LOGS.glob("*.log"))
REAL = sorted(REAL_LOGS.glob("*.log"))
LOGS = SAMPLES + REAL
_TIMING = {"elapsed", "seconds", "generated", "generated_at", "duration", "timing"}

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import generate  # noqa: E402 - the benchmark's generator

dask_needed = pytest.importorskip  # named for the reader: the dask tests need the extra


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _TIMING}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _report(summary: analyzer.Summary) -> dict[str, Any]:
    report = build_report(summary, server="auto", window=Window(None, None),
                          client_field="client")
    return _strip(report.to_dict())


@pytest.fixture(scope="module")
def dask_client():
    dask_needed("dask.dataframe")
    distributed = dask_needed("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    """Five generated logs of 20,000 lines; the last one gzipped."""
    folder = tmp_path_factory.mktemp("corpus")
    paths = []
    for i in range(5):
        path = folder / f"site{i}.log"
        generate(path, 20_000, seed=i)
        if i == 4:
            packed = folder / f"site{i}.log.gz"
            with path.open("rb") as raw, gzip.open(packed, "wb") as out:
                shutil.copyfileobj(raw, out)
            path.unlink()
            path = packed
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("log", LOGS, ids=[p.name for p in LOGS])
def test_engines_agree_on_samples(log, dask_client):
    expected = _strip(stream_analyze(str(log)).to_dict())
    assert _strip(engines.analyze(str(log), engine="local").to_dict()) == expected
    assert _strip(engines.analyze(str(log), engine="dask",
                                  scheduler=dask_client).to_dict()) == expected


@pytest.mark.parametrize("log", LOGS, ids=[p.name for p in LOGS])
def test_small_ranges_and_blocks(log, tmp_path):
    """Ranges and blocks smaller than a few lines (the first 24 kB of each log): every line
    parsed once, numbered exactly (the Summary holds the line numbers of examples and
    rejects)."""
    head = tmp_path / log.name
    head.write_bytes(log.read_bytes()[:24_000])
    expected = stream_summarize(str(head))
    got = engines.summarize(str(head), range_size=1500, block_size=600, workers=2)
    assert got == expected


def test_tiny_ranges_and_blocks(tmp_path):
    """100-byte ranges and blocks: lines split by both, at every possible place."""
    log = tmp_path / "access.log"
    generate(log, 60, seed=5)
    expected = stream_summarize(str(log))
    for size in (100, 137):
        got = engines.summarize(str(log), range_size=size, block_size=100, workers=2)
        assert got == expected
        assert _report(got)["totals"] == {"lines": 60, "parsed": 60, "rejected": 0}
    packed = tmp_path / "access.log.gz"  # a stream: read in blocks, parsed in smaller ones
    packed.write_bytes(gzip.compress(log.read_bytes()))
    got = engines.summarize(str(packed), block_size=100, workers=2)
    assert got.parts["examples"].drop_columns(["source"]) == \
        expected.parts["examples"].drop_columns(["source"])
    assert _report(got)["totals"] == {"lines": 60, "parsed": 60, "rejected": 0}


def test_engines_agree_on_a_generated_corpus(corpus, dask_client):
    expected = stream_summarize(corpus)
    assert expected.requests == 100_000
    local = engines.summarize(corpus, range_size=1 << 20, block_size=256 << 10)
    assert local == expected
    dask = engines.summarize(corpus, engine="dask", scheduler=dask_client,
                             range_size=2 << 20)
    assert dask == expected
    report = _strip(stream_analyze(corpus).to_dict())
    assert _strip(analyzer.analyze(corpus).to_dict()) == report  # the local engine
    assert _report(local) == _report(dask) == report
    assert report["totals"]["lines"] == 100_000
    assert [s["lines"] for s in report["sources"]] == [20_000] * 5


def test_dask_reads_urls(corpus, dask_client):
    """fsspec URLs go through fsspec (ranges of plain files, whole compressed files)."""
    dask_needed("fsspec")
    urls = [Path(p).as_uri() for p in corpus[-2:]]
    got = engines.summarize(urls, engine="dask", scheduler=dask_client, range_size=1 << 20)
    expected = stream_summarize(corpus[-2:])
    assert got.requests == expected.requests == 40_000
    assert _report(got)["status_counts"] == _report(expected)["status_counts"]


def test_strict_stops_at_the_first_rejected_line_in_input_order(tmp_path):
    path = tmp_path / "access.log"
    generate(path, 3000, seed=3)
    lines = path.read_bytes().split(b"\n")
    lines[1700] = b"not a log line"
    lines[2900] = b"another bad one"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(analyzer.StrictModeError) as caught:
        engines.summarize(str(path), log_format="combined", strict=True, range_size=4096,
                          block_size=2048)
    assert (caught.value.line, caught.value.reason) == (1701, "no_match")


def test_read_logs_dask_is_the_canonical_frame(corpus, dask_client):
    dd = dask_needed("dask.dataframe")
    paths = [corpus[0], corpus[4]]
    frame = engines.read_logs(paths, engine="dask", scheduler=dask_client,
                              range_size=200 << 10)
    assert isinstance(frame, dd.DataFrame)
    assert frame.npartitions > 2
    got = frame.compute().reset_index(drop=True)
    expected = analyzer.read_log(paths)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected) == 40_000
    for name in expected.columns:
        left, right = got[name], expected[name]
        if isinstance(right.dtype, pd.CategoricalDtype):
            left, right = left.astype(str), right.astype(str)
        pd.testing.assert_series_equal(left, right, check_dtype=False, check_names=False)


def test_unknown_engine():
    with pytest.raises(analyzer.AnalyzerError, match="unknown engine 'spark'; choose one of"):
        engines.summarize("x.log", engine="spark")


def test_dask_missing(monkeypatch, tmp_path):
    log = tmp_path / "a.log"
    log.write_text("")
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(analyzer.AnalyzerError) as caught:
        engines.summarize(str(log), engine="dask")
    assert str(caught.value) == "the dask engine needs: pip install 'logscan[dask]'"


_PEAK = """
import sys, pyarrow as pa
from analyzer import engines
engines.summarize(sys.argv[1], workers=2, block_size=128 << 10, range_size=512 << 10)
print(pa.default_memory_pool().max_memory())
"""


def test_memory_does_not_grow_with_the_input(tmp_path):
    """Arrow's peak allocation for 4x the lines stays where it was (blocks, not the input)."""
    small, large = tmp_path / "small.log", tmp_path / "large.log"
    generate(small, 10_000, seed=1)
    generate(large, 40_000, seed=1)
    peaks = [
        int(subprocess.run([sys.executable, "-c", _PEAK, str(p)], check=True,
                           capture_output=True, text=True).stdout)
        for p in (small, large)
    ]
    assert peaks[1] < peaks[0] * 1.5, peaks
    assert peaks[1] < 16 << 20, peaks


def test_progress_line():
    from io import StringIO

    from analyzer.cli.progress import ProgressBar, bar_for

    stream = StringIO()
    bar = ProgressBar(200_000_000, stream)
    bar.done = 50_000_000
    assert bar.line(bar._started + 1.0) == (
        "reading [#######-----------------------]  25%  50/200 MB  50 MB/s"
    )
    bar.advance(0)
    bar.close()
    assert stream.getvalue().startswith("\r")
    assert stream.getvalue().endswith("\r\x1b[K")
    assert bar_for(10 << 30, False) is None
    assert bar_for(10 << 30, None) is None  # pytest's stderr is not a terminal
    assert json.dumps(bar.total)  # plain data


def test_cli_engine_options(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    log = ROOT / "sample_logs" / "nginx_combined.log"
    runner = CliRunner()
    local = runner.invoke(main, [str(log), "--format", "json", "--workers", "2",
                                 "--no-progress"])
    assert local.exit_code == 0, local.output
    assert json.loads(local.output)["totals"]["lines"] == 380
    wrong = runner.invoke(main, [str(log), "--scheduler", "tcp://127.0.0.1:1"])
    assert wrong.exit_code == 2
    assert "Error: --scheduler needs --engine dask" in wrong.output
    monkeypatch.setitem(sys.modules, "dask", None)
    missing = runner.invoke(main, [str(log), "--engine", "dask"])
    assert missing.exit_code == 2
    assert missing.output == "Error: the dask engine needs: pip install 'logscan[dask]'\n"


def test_compressed_files_in_parallel_with_each_other(tmp_path):
    """As many compressed files as workers: each worker decompresses its own."""
    paths = []
    for i in range(3):
        plain = tmp_path / f"part{i}.log"
        generate(plain, 2000, seed=10 + i)
        packed = tmp_path / f"part{i}.log.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
        paths.append(str(packed))
    expected = stream_summarize(paths)
    assert engines.summarize(paths, workers=2, block_size=64 << 10) == expected
    assert engines.summarize(paths, workers=4, block_size=64 << 10) == expected


def test_dask_scheduler_by_address(dask_client):
    """A running scheduler is reached by its address (a client of our own, closed after)."""
    log = str(ROOT / "sample_logs" / "nginx_combined.log")
    address = dask_client.scheduler.address
    got = engines.summarize(log, engine="dask", scheduler=address)
    assert got == stream_summarize(log)
    report = engines.analyze(log, engine="dask", scheduler=address)
    assert report.to_dict()["totals"]["lines"] == 380


def test_finished_pieces_are_merged_at_a_quarter_of_the_total(monkeypatch, tmp_path):
    """A compressed file gives a piece per block; finished pieces are merged into the running
    total as soon as they hold a quarter of its rows (not all of them: twice the memory), and
    the result is the same Summary."""
    from analyzer.engines import local

    plain = tmp_path / "access.log"
    generate(plain, 6000, seed=3)
    packed = tmp_path / "access.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    merges: list[tuple[int, int, int]] = []
    compact = local._OrderedFold._compact

    def recorded(self: Any) -> None:
        last = self.done[-1].summary.num_rows if self.done else 0
        merges.append((self.done_rows, last, self._merged_rows()))
        compact(self)

    monkeypatch.setattr(local, "_COMPACT_ROWS", 1)
    monkeypatch.setattr(local._OrderedFold, "_compact", recorded)
    summary = engines.summarize([str(packed)], workers=2, block_size=16 << 10)
    assert summary == stream_summarize([str(packed)])
    during = merges[:-1]  # the last is the final merge of whatever is left
    assert len(during) >= 5
    for waiting, last, total in during:
        threshold = max(1, total // 4)
        assert waiting - last < threshold <= waiting  # merged on the piece that reached it
    assert during[-1][2] > 4 * during[0][2]  # the total grew, and the threshold with it
