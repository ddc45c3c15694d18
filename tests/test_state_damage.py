"""Scheduled runs (``logscan report FILE --state DIR``) killed at any moment never lose or
double-count a line, and a damaged state directory is reported (exit 2, one line naming the
file and how to recover), never silently reset."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import analyzer.scheduled.history
from analyzer.cli.app import main
from analyzer.scheduled.run import run_report


def log_lines(n: int, start: int = 0) -> bytes:
    methods = ("GET", "GET", "GET", "PUT", "FOO", "PATCH")
    statuses = (200, 304, 404, 405, 501, 200)
    return b"".join(
        f'192.0.{i // 250 % 250}.{i % 250} - - [01/Oct/2025:10:{i // 60 % 60:02d}:{i % 60:02d} '
        f'+0000] "{methods[i % 6]} /page/{i % 997}?q={i} HTTP/1.1" {statuses[i % 6]} {i % 5000} '
        f'"-" "Mozilla/5.0 (X11; Linux x86_64) test/{i % 7}"\n'.encode()
        for i in range(start, start + n)
    )


def window_lines(state: Path, log: Path) -> int:
    """The lines counted over the window by a clean run (which also reads what is new)."""
    out = state.parent / "window.json"
    result = CliRunner().invoke(main, ["report", str(log), "--state", str(state), "-q",
                                       "--json", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(out.read_text())
    totals = report["totals"]
    assert totals["lines"] == totals["parsed"] + totals["rejected"]
    return totals["lines"]


def test_runs_killed_at_any_moment_lose_and_repeat_nothing(tmp_path):
    """SIGKILL real runs at several moments (during start-up, reading, writing Parquet, the
    commit), with lines appended between them; a clean run then counts each line once."""
    log, state = tmp_path / "access.log", tmp_path / "state"
    log.write_bytes(log_lines(120_000))
    written = 120_000
    outcomes = []
    for i, delay in enumerate((0.05, 0.4, 0.9, 1.2, 1.4, 1.6, 1.8, 2.1, 2.5)):
        run = subprocess.Popen([sys.executable, "-m", "analyzer", "report", str(log), "--state",
                                str(state), "-q"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        time.sleep(delay)
        if run.poll() is None:
            run.send_signal(signal.SIGKILL)
        _, stderr = run.communicate(timeout=60)
        assert b"Traceback" not in stderr
        outcomes.append(run.returncode)
        if i % 2:
            with log.open("ab") as out:
                out.write(log_lines(7_000, written))
            written += 7_000
    assert -signal.SIGKILL in outcomes  # at least some runs were killed
    assert window_lines(state, log) == written
    assert window_lines(state, log) == written  # and a further run adds nothing


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even ``except Exception``)."""


@pytest.mark.parametrize("stage", ["history", "totals", "checkpoint", "clean"])
def test_a_run_stopped_at_each_step_of_the_commit(tmp_path, monkeypatch, stage):
    log, state = tmp_path / "access.log", tmp_path / "state"
    log.write_bytes(log_lines(3000))
    run_report([str(log)], str(state))
    with log.open("ab") as out:
        out.write(log_lines(500, 3000))
    calls = {"n": 0}
    real_parquet = analyzer.scheduled.history.write_parquet

    def parquet(table, path):
        calls["n"] += 1
        if (stage, calls["n"]) in (("history", 1), ("totals", 2)):
            raise Killed
        real_parquet(table, path)

    def never(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(analyzer.scheduled.history, "write_parquet", parquet)
    if stage == "checkpoint":
        monkeypatch.setattr(analyzer.scheduled.history, "write_checkpoint", never)
    if stage == "clean":
        monkeypatch.setattr(analyzer.scheduled.history.StateStore, "clean", never)
    with pytest.raises(Killed):
        run_report([str(log)], str(state))
    monkeypatch.undo()
    assert window_lines(state, log) == 3500


# -- a damaged state directory ------------------------------------------------------------------


@pytest.fixture
def state_dir(tmp_path) -> tuple[Path, Path]:
    log, state = tmp_path / "access.log", tmp_path / "state"
    log.write_bytes(log_lines(2000))
    run_report([str(log)], str(state))
    with log.open("ab") as out:
        out.write(log_lines(100, 2000))
    run_report([str(log)], str(state))
    return log, state


def report_error(log: Path, state: Path) -> str:
    result = CliRunner().invoke(main, ["report", str(log), "--state", str(state), "-q"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: state directory {state}: ")
    return lines[0]


def history_files(state: Path) -> list[Path]:
    return sorted(state.glob("history/day=*/*.parquet"))


RESTORE = ("restore it from a backup, or move the state directory away to start over (the next "
           "run reads the logs from their start)")


@pytest.mark.parametrize("text", ["{\"schema\": \"logscan.state/1\", \"runs\": [{\"id\"", "",
                                  "[]", "{\"schema\": \"other\"}",
                                  "{\"schema\": \"logscan.state/1\", \"runs\": [{\"id\": 1}]}"])
def test_a_garbled_checkpoint(state_dir, text):
    log, state = state_dir
    (state / "checkpoint.json").write_text(text)
    line = report_error(log, state)
    assert "checkpoint.json is damaged" in line and line.endswith("move it away to start over")


def test_a_truncated_history_file(state_dir):
    log, state = state_dir
    damaged = history_files(state)[0]
    damaged.write_bytes(damaged.read_bytes()[:200])
    name = damaged.relative_to(state)
    assert report_error(log, state).endswith(
        f": {name} is damaged (not a readable Parquet file); {RESTORE}")


def test_a_truncated_totals_file(state_dir):
    log, state = state_dir
    (totals,) = state.glob("totals/*.parquet")
    totals.write_bytes(totals.read_bytes()[:-100])
    assert f"totals/{totals.name} is damaged" in report_error(log, state)


def test_a_history_file_of_another_kind(state_dir):
    log, state = state_dir
    import pyarrow as pa
    import pyarrow.parquet as pq

    damaged = history_files(state)[-1]
    pq.write_table(pa.table({"x": [1, 2]}), damaged)
    assert f"{damaged.relative_to(state)} is damaged (not a stored Summary)" in report_error(
        log, state)


def test_a_checkpoint_naming_a_missing_run(state_dir):
    log, state = state_dir
    missing = history_files(state)[0]
    missing.unlink()
    line = report_error(log, state)
    run_id = missing.stem
    assert line.endswith(f": {missing.relative_to(state)} is missing, but checkpoint.json names "
                         f"run {run_id}; {RESTORE}")


def test_checkpoint_totals_naming_an_unlisted_run(state_dir):
    log, state = state_dir
    data = json.loads((state / "checkpoint.json").read_text())
    data["totals"] = "20200101T000000000000Z-deadbeef"
    (state / "checkpoint.json").write_text(json.dumps(data))
    assert "its totals name run 20200101T000000000000Z-deadbeef, which it does not list" in (
        report_error(log, state))


def test_nothing_is_reset_silently(state_dir):
    """After an error the state is as it was: fixing the damage lets the next run go on."""
    log, state = state_dir
    checkpoint = state / "checkpoint.json"
    good = checkpoint.read_text()
    checkpoint.write_text("{")
    report_error(log, state)
    report_error(log, state)
    checkpoint.write_text(good)
    assert window_lines(state, log) == 2100


def test_a_state_path_that_is_a_file(tmp_path):
    log = tmp_path / "access.log"
    log.write_bytes(log_lines(10))
    state = tmp_path / "state"
    state.write_text("not a directory")
    result = CliRunner().invoke(main, ["report", str(log), "--state", str(state)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"Error: Invalid value for '--state': Directory '{state}' is a file.",
        "Try 'main report --help' for help.",
    ]
