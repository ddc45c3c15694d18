"""`logscan report` when things go wrong: an output that cannot be written, overlapping runs, a
last line without its newline, and a rotation that compresses before it creates the new log.
Each case asserts the exact lines counted, the exit codes, and that an alert comes exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _scheduled import append, compress_file, copytruncate, line, lines, report, sample_log
from click.testing import CliRunner

from analyzer.cli.app import main
from analyzer.scheduled.birth import path_birth_ns
from analyzer.scheduled.history import StateStore
from analyzer.scheduled.run import ScheduledReport, run_report


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return sample_log(tmp_path)


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# -- an output that cannot be written -----------------------------------------------------------


def test_unwritable_output_commits_nothing_and_the_alert_comes_once(
    runner: CliRunner, log: Path, tmp_path: Path
) -> None:
    state, good, prom = tmp_path / "state", tmp_path / "r.json", tmp_path / "logscan.prom"
    bad = tmp_path / "nonexistent" / "r.json"  # as under ProtectSystem=strict: cannot write
    assert report(runner, log, "--state", state, "-q").exit_code == 0
    append(log, lines(8, 10) + line(10, "BREW", 501, client="192.0.2.7"))

    failed = report(runner, log, "--state", state, "--json", bad, "--prometheus", prom,
                    "--fail-on", "new_method", "-q")
    assert failed.exit_code == 2
    assert failed.stderr == (f"Error: {bad}: cannot write (No such file or directory); nothing "
                             "was committed: the next run reads these lines again\n")
    assert not prom.exists()  # no output is replaced unless every one could be written
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left

    delivered = report(runner, log, "--state", state, "--json", good, "--prometheus", prom,
                       "--fail-on", "new_method", "-q")
    assert (delivered.exit_code, delivered.stderr) == (1, "logscan: --fail-on new_method: BREW\n")
    data = read_json(good)
    assert data["run"]["new_lines"] == 3
    assert data["totals"] == {"lines": 11, "parsed": 11, "rejected": 0}
    assert data["novelty"]["methods"] == ["BREW"]
    assert data["classes"]["not_implemented"]["by"] == {"BREW": 1, "FOO": 1}
    assert data["history"]["runs"] == 2  # the failed run left no trace in the history
    assert "\nlogscan_last_run_new_lines 3\n" in prom.read_text()

    again = report(runner, log, "--state", state, "--json", good, "--fail-on", "new_method",
                   "-q")
    assert (again.exit_code, again.stderr) == (0, "")
    assert read_json(good)["run"]["new_lines"] == 0
    assert read_json(good)["totals"]["lines"] == 11


def test_library_publish_failure_commits_nothing(log: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"

    def fail(result: ScheduledReport) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left on device"):
        run_report([str(log)], str(state), log_format="combined", publish=fail)
    seen: list[int] = []
    result = run_report([str(log)], str(state), log_format="combined",
                        publish=lambda r: seen.append(r.run.new_lines))
    assert seen == [8] and result.run.new_lines == 8
    assert run_report([str(log)], str(state), log_format="combined").run.new_lines == 0


# -- overlapping runs ---------------------------------------------------------------------------


def test_a_run_that_overlaps_the_outputs_of_another_exits_75(
    runner: CliRunner, log: Path, tmp_path: Path
) -> None:
    """The lock is held until the last output is written (and the run committed)."""
    state = tmp_path / "state"
    overlapping: list[Any] = []

    def publish(result: ScheduledReport) -> None:
        overlapping.append(report(runner, log, "--state", state, "-q"))
        started = time.monotonic()
        overlapping.append(report(runner, log, "--state", state, "--wait", "0.3", "-q"))
        overlapping.append(time.monotonic() - started)

    first = run_report([str(log)], str(state), log_format="combined", publish=publish)
    assert first.run.new_lines == 8
    busy, waited, seconds = overlapping
    message = (f"Error: another logscan report is running on {state}; --wait SECONDS waits "
               "for it\n")
    assert (busy.exit_code, busy.stdout, busy.stderr) == (75, "", message)
    assert (waited.exit_code, waited.stderr) == (75, message)
    assert seconds >= 0.3
    after = report(runner, log, "--state", state, "--json", tmp_path / "r.json", "-q")
    assert after.exit_code == 0
    assert read_json(tmp_path / "r.json")["run"]["new_lines"] == 0  # counted once, by the first


def test_a_waiting_run_reads_on_from_the_first_ones_commit(log: Path, tmp_path: Path) -> None:
    """A real second process started while the first writes its outputs waits for the lock,
    then reads only the lines added meanwhile."""
    state, second_json = tmp_path / "state", tmp_path / "second.json"
    command = [sys.executable, "-m", "analyzer", "report", str(log), "--state", str(state),
               "--log-format", "combined", "--wait", "120", "--json", str(second_json), "-q"]
    procs: list[subprocess.Popen[str]] = []

    def publish(result: ScheduledReport) -> None:
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
        append(log, lines(8, 11))  # after this run read the log, before it commits
        time.sleep(2)  # the second process starts and waits for the lock meanwhile

    first = run_report([str(log)], str(state), log_format="combined", publish=publish)
    out, err = procs[0].communicate(timeout=180)
    assert (procs[0].returncode, out, err) == (0, "", "")
    assert first.run.new_lines == 8
    second = read_json(second_json)
    assert second["run"]["new_lines"] == 3
    assert second["totals"]["lines"] == 11
    assert second["history"]["runs"] == 2


# -- a last line without its newline ------------------------------------------------------------


def test_an_unterminated_last_line_is_counted_once_over_two_runs(
    runner: CliRunner, log: Path, tmp_path: Path
) -> None:
    state, out = tmp_path / "state", tmp_path / "r.json"
    append(log, line(8, "BREW", 501).rstrip(b"\n"))  # a writer may be in the middle of it
    first = report(runner, log, "--state", state, "--json", out, "-q")
    assert first.exit_code == 0
    assert read_json(out)["run"]["new_lines"] == 8
    assert read_json(out)["classes"]["not_implemented"]["by"] == {"FOO": 1}
    second = report(runner, log, "--state", state, "--json", out, "-q")  # unchanged since
    assert second.exit_code == 0
    data = read_json(out)
    assert data["run"]["new_lines"] == 1
    assert data["totals"] == {"lines": 9, "parsed": 9, "rejected": 0}
    assert data["classes"]["not_implemented"]["by"] == {"BREW": 1, "FOO": 1}
    third = report(runner, log, "--state", state, "--json", out, "-q")
    assert (third.exit_code, read_json(out)["run"]["new_lines"]) == (0, 0)
    assert read_json(out)["totals"]["lines"] == 9
    whole = runner.invoke(main, [str(log), "--format", "json", "--log-format", "combined"])
    assert json.loads(whole.stdout)["totals"]["lines"] == 9  # as `logscan FILE` counts it


# -- rotations ----------------------------------------------------------------------------------


def rename_compress_create(path: Path) -> bool:
    """Rename to ``.1``, compress it (which deletes ``.1``), then create the new log: the new file
    often gets the inode number of the deleted one. Returns whether it did."""
    inode = path.stat().st_ino
    renamed = path.with_name(path.name + ".1")
    os.rename(path, renamed)
    compress_file(renamed)
    path.write_bytes(b"")
    return path.stat().st_ino == inode


def test_rename_then_compress_is_labelled_rotated(
    runner: CliRunner, log: Path, tmp_path: Path
) -> None:
    state, out = tmp_path / "state", tmp_path / "r.json"
    assert report(runner, log, "--state", state, "-q").exit_code == 0
    append(log, lines(8, 10))  # written before the rotation: must not be lost
    reused = rename_compress_create(log)
    if reused and path_birth_ns(str(log)) is None:
        pytest.skip("the inode number was reused and this file system keeps no birth time")
    append(log, lines(10, 14))
    result = report(runner, log, "--state", state, "--json", out, "-q")
    assert result.exit_code == 0
    [source] = read_json(out)["run"]["sources"]
    assert (source["rotated"], source["truncated"]) == (True, False)
    assert [(s["file"], s["lines"]) for s in source["segments"]] == [
        (f"{log}.1.gz", 2), (str(log), 4)]
    assert source["new_lines"] == 6
    assert read_json(out)["totals"]["lines"] == 14


def test_copytruncate_then_compress_is_labelled_truncated(
    runner: CliRunner, log: Path, tmp_path: Path
) -> None:
    state, out = tmp_path / "state", tmp_path / "r.json"
    assert report(runner, log, "--state", state, "-q").exit_code == 0
    append(log, lines(8, 10))
    copytruncate(log)
    compress_file(log.with_name(log.name + ".1"))
    append(log, lines(10, 13))
    assert report(runner, log, "--state", state, "--json", out, "-q").exit_code == 0
    [source] = read_json(out)["run"]["sources"]
    assert (source["rotated"], source["truncated"]) == (False, True)
    assert source["new_lines"] == 5
    assert read_json(out)["totals"]["lines"] == 13


# -- Prometheus label values from log content ---------------------------------------------------


def test_prometheus_labels_from_log_content_are_capped(runner: CliRunner, tmp_path: Path) -> None:
    """1,500 distinct methods and 31 virtual hosts: registered methods and the 20 busiest
    virtual hosts keep their names, the rest count under "other", and every count is exact."""
    from prometheus_client.parser import text_string_to_metric_families

    log, state, prom = tmp_path / "access.log", tmp_path / "state", tmp_path / "logscan.prom"
    rows = []
    for i in range(3000):  # www: 1,500 requests; h00..h29: 50 each; half GET, half X#####
        vhost = "www.example" if i < 1500 else f"h{i % 30:02d}.example"
        method = "GET" if (i // 30) % 2 == 0 else f"X{i:05d}"
        status = 200 if method == "GET" else 501
        rows.append(f'{vhost}:80 10.0.0.1 - - [22/Nov/2026:10:00:00 +0000] "{method} / HTTP/1.1" '
                    f'{status} 5 "-" "curl/8"\n')
    log.write_text("".join(rows))
    # K above the 1,500 keys of status 501, so that the Summary keeps every (vhost, method)
    # and the cap under test is the labels' (see test_bounded.py for K below them)
    result = runner.invoke(main, ["report", str(log), "--state", str(state), "--log-format",
                                  "vhost_combined", "--prometheus", str(prom), "-q",
                                  "--max-keys", "2000"])
    assert result.exit_code == 0
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    samples = families["logscan_requests"].samples
    counts = {(s.labels["vhost"], s.labels["method"], s.labels["status"]): s.value
              for s in samples}
    named = ["www.example", *(f"h{j:02d}.example" for j in range(19)), "other"]
    assert sorted({v for v, _, _ in counts}) == sorted(named)  # h00..h18: ties by name
    assert {m for _, m, _ in counts} == {"GET", "other"}
    assert len(counts) == 42
    assert counts[("www.example", "GET", "200")] == 750
    assert counts[("www.example", "other", "501")] == 750
    assert counts[("h00.example", "other", "501")] == 25
    assert counts[("other", "GET", "200")] == counts[("other", "other", "501")] == 11 * 25
    assert sum(counts.values()) == 3000
    classed = families["logscan_class_requests"].samples
    assert len(classed) == 21
    assert sum(s.value for s in classed) == 1500
    assert len(prom.read_text().splitlines()) == 87
    store = StateStore(state)  # the stored totals: one row per (vhost, GET or other, status)
    assert store.totals(store.load()).part("requests").num_rows == 31 * 2


def test_lists_of_client_written_names_are_cut(runner: CliRunner, log: Path, tmp_path: Path
                                               ) -> None:
    """150 new methods in one run: the alert names 20, the JSON 100, and both say how many more."""
    state, out = tmp_path / "state", tmp_path / "r.json"
    assert report(runner, log, "--state", state, "-q").exit_code == 0
    append(log, b"".join(line(100 + i, f"M{i:03d}", 501) for i in range(150)))
    result = report(runner, log, "--state", state, "--json", out, "--fail-on", "new_method")
    assert result.exit_code == 1
    names = ", ".join(f"M{i:03d}" for i in range(20))
    assert result.stderr == f"logscan: --fail-on new_method: {names} and 130 more\n"
    assert f"New in this run, methods: {names} and 130 more\n" in result.stdout
    data = read_json(out)
    assert data["novelty"]["methods"] == [f"M{i:03d}" for i in range(100)]
    assert data["novelty"]["methods_more"] == 50
    comparison = data["comparison"]
    assert len(comparison["methods"]) == 100
    assert list(comparison["methods"])[:3] == ["GET", "FOO", "M000"]  # most requests first
    assert comparison["methods_more"] == {"keys": 53, "current": 53, "previous": 0}
    assert sum(c["current"] for c in comparison["methods"].values()) + 53 == 158
    assert comparison["class_methods_more"] == {
        "not_implemented": {"keys": 51, "current": 51, "previous": 0}}


def test_a_run_killed_after_its_outputs_delivers_them_again(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs written, then the run dies before its commit: the next run reads the same lines
    and publishes them again (at least once, never lost)."""
    state = tmp_path / "state"
    published: list[int] = []

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(StateStore, "commit", killed)
        with pytest.raises(KeyboardInterrupt):
            run_report([str(log)], str(state), log_format="combined",
                       publish=lambda r: published.append(r.run.new_lines))
    run_report([str(log)], str(state), log_format="combined",
               publish=lambda r: published.append(r.run.new_lines))
    run_report([str(log)], str(state), log_format="combined",
               publish=lambda r: published.append(r.run.new_lines))
    assert published == [8, 8, 0]
