"""Scale: single-process streaming, the local engine (all cores, byte ranges) and the Dask engine
give the same report, line numbers included, and memory does not grow with the input."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from oracle import one_pass as stream_summarize
from oracle import summarize_with
from paths import REAL_LOGS, REPO, SAMPLE_LOGS

import analyzer
import analyzer.errors
from analyzer import api as engines
from analyzer.report import build_report
from analyzer.report.model import Window

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
                                       dashboard_address=":0")
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
    expected = _strip(analyzer.analyze(str(log), workers=1).to_dict())
    assert _strip(engines.analyze(str(log), engine="local").to_dict()) == expected
    assert _strip(engines.analyze(str(log), engine="dask",
                                  scheduler=dask_client).to_dict()) == expected


def test_blocks_whose_agents_are_all_missing(tmp_path):
    """A block whose requests all logged "-" as user agent, beside blocks that logged agents:
    cut in blocks of a few lines, the NGINX sample with the first half of its agents erased
    is summarised as in one piece, and its classes count as the sample's."""
    lines = (SAMPLE_LOGS / "nginx_combined.log").read_bytes().splitlines(keepends=True)
    erased = [line.rsplit(b' "', 1)[0] + b' "-"\n' if i < len(lines) // 2 else line
              for i, line in enumerate(lines)]
    log = tmp_path / "access.log"
    log.write_bytes(b"".join(erased))
    expected = stream_summarize(str(log))
    assert summarize_with(str(log), range_size=4000, block_size=600, workers=2) == expected
    erased_report = build_report(expected).to_dict()["classes"]
    whole = build_report(stream_summarize(str(SAMPLE_LOGS / "nginx_combined.log"))).to_dict()
    assert {name: c["count"] for name, c in erased_report.items()} == {
        name: c["count"] for name, c in whole["classes"].items()} == {
        "not_implemented": 13, "method_not_allowed": 22, "version_not_supported": 3}


@pytest.mark.parametrize("log", LOGS, ids=[p.name for p in LOGS])
def test_small_ranges_and_blocks(log, tmp_path):
    """Ranges and blocks smaller than a few lines (the first 24 kB of each log): every line
    parsed once, numbered exactly (the Summary holds the line numbers of examples and
    rejects)."""
    head = tmp_path / log.name
    head.write_bytes(log.read_bytes()[:24_000])
    expected = stream_summarize(str(head))
    got = summarize_with(str(head), range_size=1500, block_size=600, workers=2)
    assert got == expected


def test_tiny_ranges_and_blocks(tmp_path):
    """100-byte ranges and blocks: lines split by both, at every possible place."""
    log = tmp_path / "access.log"
    generate(log, 60, seed=5)
    expected = stream_summarize(str(log))
    for size in (100, 137):
        got = summarize_with(str(log), range_size=size, block_size=100, workers=2)
        assert got == expected
        assert _report(got)["totals"] == {"lines": 60, "parsed": 60, "rejected": 0}
    packed = tmp_path / "access.log.gz"  # a stream: read in blocks, parsed in smaller ones
    packed.write_bytes(gzip.compress(log.read_bytes()))
    got = summarize_with(str(packed), block_size=100, workers=2)
    assert got.parts["examples"].drop_columns(["source"]) == \
        expected.parts["examples"].drop_columns(["source"])
    assert _report(got)["totals"] == {"lines": 60, "parsed": 60, "rejected": 0}


def test_a_group_of_k_keys_stays_exact_over_many_blocks(tmp_path):
    """The native kernel counts each block's keys, and a batch holds a key once per block: a
    group of 3 keys read in dozens of 600-byte blocks is still 3 keys at K=3, counted exactly
    (it had been bounded as 3 keys times the blocks, and folded)."""
    log = tmp_path / "access.log"
    log.write_text("".join(
        f'192.0.2.{n % 5} - - [01/Mar/2026:10:{n // 60:02d}:{n % 60:02d} +0000] '
        f'"{("GET", "POST", "HEAD")[n % 3]} /r{n % 4} HTTP/1.1" 200 12\n' for n in range(400)))
    exact = stream_summarize(str(log))
    got = summarize_with(str(log), block_size=600, workers=1, max_keys=3, range_size=1 << 30)
    requests = got.part("requests")
    assert requests.equals(exact.part("requests"))
    assert requests.column("method").to_pylist() == ["GET", "HEAD", "POST"]
    assert requests.column("count").to_pylist() == [134, 133, 133]
    assert not any(requests.column("rest").to_pylist())


def test_engines_agree_on_a_generated_corpus(corpus, dask_client):
    # K above the corpus' 1,973 client keys of status 405: the engines agree exactly while no
    # group holds more than K keys (test_bounded.py: within the stated bound beyond)
    keys = 4096
    expected = stream_summarize(corpus, max_keys=keys)
    assert expected.requests == 100_000
    local = summarize_with(corpus, range_size=1 << 20, block_size=256 << 10, max_keys=keys)
    assert local == expected
    dask = summarize_with(corpus, engine="dask", scheduler=dask_client,
                          range_size=2 << 20, max_keys=keys)
    assert dask == expected
    report = _strip(analyzer.analyze(corpus, workers=1, max_keys=keys).to_dict())
    assert _strip(analyzer.analyze(corpus, max_keys=keys).to_dict()) == report  # local
    assert _report(local) == _report(dask) == report
    assert report["totals"]["lines"] == 100_000
    assert [s["lines"] for s in report["sources"]] == [20_000] * 5


def test_dask_reads_urls(corpus, dask_client):
    """fsspec URLs go through fsspec (ranges of plain files, whole compressed files)."""
    dask_needed("fsspec")
    urls = [Path(p).as_uri() for p in corpus[-2:]]
    got = summarize_with(urls, engine="dask", scheduler=dask_client, range_size=1 << 20)
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
    with pytest.raises(analyzer.errors.StrictModeError) as caught:
        summarize_with(str(path), log_format="combined", strict=True, range_size=4096,
                          block_size=2048)
    assert (caught.value.line, caught.value.reason) == (1701, "no_match")


def test_read_logs_dask_is_the_canonical_frame(corpus, dask_client):
    dd = dask_needed("dask.dataframe")
    paths = [corpus[0], corpus[4]]
    frame = analyzer.read_log(paths, engine="dask", scheduler=dask_client,
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
        summarize_with("x.log", engine="spark")


def test_dask_missing(monkeypatch, tmp_path):
    log = tmp_path / "a.log"
    log.write_text("")
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(analyzer.AnalyzerError) as caught:
        summarize_with(str(log), engine="dask")
    assert str(caught.value) == "the dask engine needs: pip install 'logscan-http[dask]'"


_PEAK = """
import sys, pyarrow as pa
from analyzer.engines import run
from analyzer.pipeline import Options
run([sys.argv[1]], None, Options(block_size=128 << 10), workers=2, range_size=512 << 10)
print(pa.default_memory_pool().max_memory())
"""


def test_memory_does_not_grow_with_the_input(tmp_path):
    """Arrow's peak allocation for 4x the lines stays where it was (blocks, not the input).

    With the Arrow kernel, whose blocks that pool holds; the native kernel's columns are NumPy
    buffers outside it (its own bound: tests/test_kernel.py)."""
    small, large = tmp_path / "small.log", tmp_path / "large.log"
    generate(small, 10_000, seed=1)
    generate(large, 40_000, seed=1)
    env = {**os.environ, "LOGSCAN_KERNEL": "arrow"}
    peaks = [
        int(subprocess.run([sys.executable, "-c", _PEAK, str(p)], check=True,
                           capture_output=True, text=True, env=env).stdout)
        for p in (small, large)
    ]
    assert peaks[1] < peaks[0] * 1.5, peaks
    assert peaks[1] < 16 << 20, peaks


def test_progress_line():
    from io import StringIO

    from analyzer.cli.progress import ProgressBar, progress_bar

    stream = StringIO()
    bar = ProgressBar(200_000_000, stream)
    bar.done = 50_000_000
    assert bar.line(bar._started + 1.0) == (
        "reading [#######-----------------------]  25%  50/200 MB  50 MB/s"
    )
    bar.update(0)
    bar.close()
    assert stream.getvalue().startswith("\r")
    assert stream.getvalue().endswith("\r\x1b[K")
    with progress_bar(False) as callback:
        assert callback is None
    with progress_bar(None) as callback:  # pytest's stderr is not a terminal
        assert callback is None


def test_the_library_reports_progress_through_a_callback(tmp_path):
    """The library draws nothing: it tells the caller's callback the bytes read so far."""
    log = tmp_path / "access.log"
    generate(log, 3000, seed=4)
    calls: list[tuple[int, int]] = []
    analyzer.analyze(str(log), progress=lambda done, total: calls.append((done, total)))
    size = log.stat().st_size
    assert calls and {total for _, total in calls} == {size}
    assert max(done for done, _ in calls) == size

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
    assert missing.output == "Error: the dask engine needs: pip install 'logscan-http[dask]'\n"


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
    assert summarize_with(paths, workers=2, block_size=64 << 10) == expected
    assert summarize_with(paths, workers=4, block_size=64 << 10) == expected


def test_dask_scheduler_by_address(dask_client):
    """A running scheduler is reached by its address (a client of our own, closed after)."""
    log = str(ROOT / "sample_logs" / "nginx_combined.log")
    address = dask_client.scheduler.address
    got = summarize_with(log, engine="dask", scheduler=address)
    assert got == stream_summarize(log)
    report = engines.analyze(log, engine="dask", scheduler=address)
    assert report.to_dict()["totals"]["lines"] == 380




def test_an_error_on_a_dask_worker_reaches_the_caller_as_itself(tmp_path, dask_client):
    """The workers are processes: the error is pickled there and raised here, type and all."""
    from analyzer.errors import InputError

    broken = tmp_path / "broken.log.gz"
    broken.write_bytes(b"\x1f\x8b" + b"\x00" * 64)
    with pytest.raises(InputError) as caught:
        analyzer.analyze(str(broken), log_format="combined", engine="dask", scheduler=dask_client)
    assert caught.value.path == str(broken)
    assert str(caught.value).startswith(f"{broken}: not a readable gzip file")
