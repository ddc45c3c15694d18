"""analyzer.scheduled.history and analyzer.scheduled.run: the state directory, atomic commits,
the lock, the window and its comparison."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from _scheduled import append, copytruncate, line, lines, rotate

import analyzer.scheduled.history as history
from analyzer.errors import StateError, StateLockedError
from analyzer.scheduled.history import StateStore, write_parquet
from analyzer.scheduled.run import ScheduledReport, parse_duration, run_report

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Clock:
    """A settable clock for run_report (each call returns the current time)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "access.log"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def run(log: Path, state: Path, clock: Callable[[], datetime] | None = None,
        **kwargs: object) -> ScheduledReport:
    return run_report([str(log)], str(state), log_format="combined", workers=2,
                      clock=clock or Clock(), **kwargs)  # type: ignore[arg-type]


def test_layout_and_checkpoint(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 4))
    result = run(log, state)
    assert result.run.new_lines == 4
    assert result.report.totals == {"lines": 4, "parsed": 4, "rejected": 0}
    assert (state.stat().st_mode & 0o777) == 0o700
    assert sorted(p.name for p in state.iterdir()) == ["checkpoint.json", "history", "lock",
                                                       "totals"]
    run_id = result.run.id
    assert [p.relative_to(state).as_posix() for p in (state / "history").rglob("*.parquet")] == [
        f"history/day=2026-11-22/{run_id}.parquet"
    ]
    assert [p.name for p in (state / "totals").iterdir()] == [f"{run_id}.parquet"]
    saved = json.loads((state / "checkpoint.json").read_text())
    assert saved["schema"] == "logscan.state/1"
    assert saved["totals"] == run_id
    assert [r["id"] for r in saved["runs"]] == [run_id]
    assert saved["runs"][0]["new_lines"] == 4
    source = saved["sources"][str(log)]
    assert (source["offset"], source["line"]) == (len(lines(0, 4)), 5)
    assert source["ino"] == log.stat().st_ino


def test_runs_accumulate_over_rotation(log: Path, state: Path) -> None:
    clock = Clock()
    log.write_bytes(lines(0, 5))
    assert run(log, state, clock).run.new_lines == 5
    append(log, lines(5, 8))
    rotate(log, compress=True)
    append(log, lines(8, 9) + line(9)[:10])  # a partial last line waits
    clock.now += timedelta(hours=1)
    second = run(log, state, clock)
    assert second.run.new_lines == 4
    assert second.report.totals["lines"] == 9
    assert second.run.sources[0].rotated
    append(log, line(9)[10:])
    clock.now += timedelta(hours=1)
    third = run(log, state, clock)
    assert third.run.new_lines == 1
    assert third.report.totals["lines"] == 10
    assert StateStore(state).totals(StateStore(state).load()).requests == 10


def test_every_change_between_runs(tmp_path: Path, state: Path) -> None:
    """After each kind of change, this run's new lines and the window's totals are exact."""
    log, other = tmp_path / "access.log", tmp_path / "other.log"
    clock = Clock()
    total = 0

    def check(expected_new: int, *paths: Path) -> ScheduledReport:
        nonlocal total
        clock.now += timedelta(minutes=10)
        result = run_report([str(p) for p in paths], str(state), log_format="combined",
                            workers=2, clock=clock)
        total += expected_new
        assert result.run.new_lines == expected_new
        assert result.report.totals == {"lines": total, "parsed": total, "rejected": 0}
        assert result.report.requests == total
        return result

    log.write_bytes(lines(0, 5))
    check(5, log)  # a new file
    append(log, lines(5, 9))
    check(4, log)  # appended
    append(log, lines(9, 11) + line(11)[:30])
    check(2, log)  # a partial last line waits
    append(log, line(11)[30:] + lines(12, 13))
    rotate(log)
    append(log, lines(13, 16))
    assert check(5, log).run.sources[0].rotated  # renamed: .1 finished, then the new file
    append(log, lines(16, 18))
    rotate(log, compress=True)
    append(log, lines(18, 19))
    check(3, log)  # renamed, then compressed
    append(log, lines(19, 22))
    copytruncate(log)
    append(log, lines(22, 24))
    assert check(5, log).run.sources[0].truncated  # copied and truncated
    other.write_bytes(lines(100, 103))
    append(log, lines(24, 25))
    check(4, log, other)  # a file never seen before, beside a known one
    check(0, log, other)  # nothing new


class Crash(Exception):
    pass


def _crash_on_call(function: Callable[..., object], n: int) -> Callable[..., object]:
    calls = {"n": 0}

    def wrapper(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == n:
            raise Crash(f"killed at call {n} of {function.__name__}")
        return function(*args, **kwargs)

    return wrapper


KILL_POINTS = {
    "before the history file": ("write_parquet", 1),
    "history written, before the totals": ("write_parquet", 2),
    "parquet written, before the checkpoint": ("write_checkpoint", 1),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_run_loses_nothing_and_counts_nothing_twice(
    log: Path, state: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    clock = Clock()
    log.write_bytes(lines(0, 5))
    run(log, state, clock)
    append(log, lines(5, 9))
    name, n = KILL_POINTS[point]
    with monkeypatch.context() as patch:
        patch.setattr(history, name, _crash_on_call(getattr(history, name), n))
        with pytest.raises(Crash):
            run(log, state, clock)
    committed = StateStore(state).load()
    assert len(committed.runs) == 1  # the killed run did not commit
    append(log, lines(9, 10))
    clock.now += timedelta(minutes=5)
    rerun = run(log, state, clock)
    assert rerun.run.new_lines == 5
    assert rerun.report.totals["lines"] == 10
    assert rerun.report.status_counts == {"200": 10}
    # the orphans of the killed run are gone; only committed runs' files remain
    runs = {r.id for r in StateStore(state).load().runs}
    files = {p.stem for p in (state / "history").rglob("*.parquet")}
    assert files == runs
    assert [p.stem for p in (state / "totals").iterdir()] == [rerun.run.id]


def test_killed_inside_the_checkpoint_replace(
    log: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log.write_bytes(lines(0, 3))
    run(log, state)
    append(log, lines(3, 6))
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name == "checkpoint.json":
            raise Crash("killed between the temp checkpoint and its rename")
        real_replace(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(history.os, "replace", replace)
        with pytest.raises(Crash):
            run(log, state)
    rerun = run(log, state)
    assert rerun.run.new_lines == 3
    assert rerun.report.totals["lines"] == 6
    assert not [p for p in state.iterdir() if p.name.startswith(".")]


def test_orphan_files_are_ignored(log: Path, state: Path) -> None:
    """A run killed after writing its Parquet file: no checkpoint names it, so it never counts."""
    log.write_bytes(lines(0, 2))
    run(log, state)
    store = StateStore(state)
    orphan_id = "20261122T000000000000Z-deadbeef"
    table = store.totals(store.load()).to_arrow()
    table = table.append_column("run", pa.array([orphan_id] * table.num_rows, pa.string()))
    orphan = state / "history" / "day=2026-11-22" / f"{orphan_id}.parquet"
    write_parquet(table, orphan)
    assert store.summary(store.load().runs).requests == 2  # not 4
    append(log, lines(2, 3))
    result = run(log, state)
    assert result.report.totals["lines"] == 3
    assert not orphan.exists()


def test_lock_refuses_at_once(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 2))
    store = StateStore(state)
    with store.locked():
        with pytest.raises(StateLockedError) as caught:
            run(log, state)
    assert str(caught.value) == f"another logscan report is running on {state}"
    assert run(log, state).run.new_lines == 2


def test_lock_waits_for_the_other_run(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 3))
    store = StateStore(state)
    held = threading.Event()
    release = threading.Event()

    def other() -> None:
        with store.locked():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    held.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    result = run(log, state, wait=10)
    thread.join()
    assert time.monotonic() - started >= 0.25
    assert result.run.new_lines == 3


def test_concurrent_runs_count_each_line_once(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 50))
    results: list[ScheduledReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(run_report([str(log)], str(state), log_format="combined", wait=30,
                                      workers=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.run.new_lines for r in results) == [0, 0, 50]
    assert max(r.report.totals["lines"] for r in results) == 50


def test_lock_held_by_another_process(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 2))
    state.mkdir(mode=0o700)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
         str(state / "lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(StateLockedError):
            run(log, state, wait=0.2)
        assert StateStore(state).load().runs == ()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
        assert holder.stdout is not None
        holder.stdout.close()
    assert run(log, state).report.totals["lines"] == 2


def test_window_and_comparison(log: Path, state: Path) -> None:
    clock = Clock()
    log.write_bytes(lines(0, 4) + line(4, "FOO", 501, client="192.0.2.1"))
    run(log, state, clock)  # day 0: previous window
    clock.now += timedelta(days=8)
    append(log, lines(5, 7) + line(7, "FOO", 501, client="192.0.2.1")
           + line(8, "FOO", 501, client="192.0.2.9") + line(9, "PROPFIND", 405))
    second = run(log, state, clock)
    clock.now += timedelta(days=1)
    append(log, line(10, "BREW", 501))
    third = run(log, state, clock)
    assert second.run.new_lines == 5 and third.run.new_lines == 1
    assert third.report.totals["lines"] == 6  # the first run is outside the 7 days
    assert third.report.to_dict()["history"]["runs"] == 2
    comparison = third.to_dict()["comparison"]
    assert comparison["previous"]["runs"] == 1
    assert comparison["classes"] == {
        "not_implemented": {"current": 3, "previous": 1, "delta": 2},
        "method_not_allowed": {"current": 1, "previous": 0, "delta": 1},
        "version_not_supported": {"current": 0, "previous": 0, "delta": 0},
    }
    assert comparison["methods"]["GET"] == {"current": 2, "previous": 4, "delta": -2}
    assert comparison["class_methods"]["not_implemented"]["FOO"] == {
        "current": 2, "previous": 1, "delta": 1}
    assert comparison["new_methods"] == ["BREW", "PROPFIND"]
    assert comparison["new_clients"] == ["10.0.0.10", "10.0.0.11", "192.0.2.9"]
    assert third.novelty.methods == ("BREW",)
    assert third.novelty.clients == ("10.0.0.11",)
    assert third.triggered(["new_method", "new_client"]) == [
        "new_method: BREW", "new_client: 10.0.0.11"]
    days = sorted(p.name for p in (state / "history").iterdir())
    assert days == ["day=2026-11-22", "day=2026-11-30", "day=2026-12-01"]


def test_first_run_has_no_baseline(log: Path, state: Path) -> None:
    log.write_bytes(line(0, "FOO", 501))
    result = run(log, state)
    assert result.triggered(["new_method", "new_client"]) == []
    assert result.to_dict()["comparison"]["new_methods"] == []


def test_damaged_checkpoint(log: Path, state: Path) -> None:
    log.write_bytes(lines(0, 1))
    state.mkdir()
    (state / "checkpoint.json").write_text("{not json")
    with pytest.raises(StateError, match=r"checkpoint.json is damaged .*; move it away"):
        run(log, state)


@pytest.mark.parametrize(("text", "expected"), [
    ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("1w2d", timedelta(days=9)),
    ("90m", timedelta(minutes=90)), ("30s", timedelta(seconds=30)),
])
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7 days", "0d", "-1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
