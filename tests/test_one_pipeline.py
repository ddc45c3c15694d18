"""Every door gives the same answer: `logscan FILE`, the first `logscan report FILE`,
`analyze(path)`, `analyze(read_log(path))` and the Dask engine, on every shipped and real log."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from paths import REAL_LOGS, SAMPLE_LOGS

import analyzer
from analyzer.cli.app import main

SAMPLES = sorted(p for p in SAMPLE_LOGS.iterdir() if ".log" in p.name
                 and not p.name.endswith(".csv"))
REAL = sorted(REAL_LOGS.glob("*.log")) if REAL_LOGS.is_dir() else []
COMPARED = ("status_counts", "classes", "verdicts")
A_DAY_AGO = 86_400


@pytest.fixture(scope="module")
def dask_client() -> Any:
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.dataframe")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _quiet_copy(log: Path, folder: Path) -> Path:
    """The log in a folder of its own, last written a day ago (as a log no one writes to)."""
    folder.mkdir()
    copy = folder / log.name
    shutil.copyfile(log, copy)
    before = copy.stat().st_mtime - A_DAY_AGO
    os.utime(copy, (before, before))
    return copy


def _essentials(report: dict[str, Any], *, with_rejects: bool = True) -> dict[str, Any]:
    out = {key: report[key] for key in COMPARED}
    totals = report["totals"]
    out["parsed"] = totals["parsed"]
    if with_rejects:
        out["totals"] = totals
        out["formats"] = [s["format"] for s in report["sources"]]
    return out


def _cli(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, [str(path), "--format", "json", "--no-progress"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _scheduled(path: Path, state: Path) -> dict[str, Any]:
    out = state.parent / "report.json"
    result = CliRunner().invoke(main, ["report", str(path), "--state", str(state), "--window",
                                       "3650d", "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.parametrize("log", SAMPLES + REAL, ids=lambda p: p.name)
def test_every_door_gives_the_same_report(log: Path, tmp_path: Path, dask_client: Any) -> None:
    path = _quiet_copy(log, tmp_path / "logs")
    expected = _essentials(_cli(path))
    assert expected["totals"]["lines"] == expected["totals"]["parsed"] + \
        expected["totals"]["rejected"]
    assert _essentials(_scheduled(path, tmp_path / "state")) == expected
    assert _essentials(analyzer.analyze(str(path)).to_dict()) == expected
    dask = analyzer.analyze(str(path), engine="dask", scheduler=dask_client)
    assert _essentials(dask.to_dict()) == expected
    from_frame = analyzer.analyze(analyzer.read_log(str(path))).to_dict()
    assert _essentials(from_frame, with_rejects=False) == _essentials(
        _cli(path), with_rejects=False)


def test_the_real_logs_are_compared_when_present() -> None:
    if not REAL:
        pytest.skip(f"no real logs at {REAL_LOGS} (a fresh clone has no ../shared)")
    assert len(REAL) >= 10
