"""`logscan report`: the scheduled-report command, through CliRunner and one real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _scheduled import append, line, lines, report, rotate, sample_log
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from analyzer.cli import app as cli
from analyzer.cli.app import RENDERERS, main
from analyzer.render.prometheus import escape_label, render_prometheus
from analyzer.report import Report
from analyzer.scheduled.history import StateStore
from analyzer.scheduled.run import Metric

CONTRACT_KEYS = {"schema", "sources", "totals", "status_counts", "classes", "verdicts",
                 "rejects"}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return sample_log(tmp_path)


def test_json_over_runs(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "report.json"
    first = report(runner, log, "--state", state, "--json", out, "--quiet")
    assert (first.exit_code, first.stdout, first.stderr) == (0, "", "")
    data = json.loads(out.read_text())
    assert CONTRACT_KEYS <= set(data)
    assert data["totals"] == {"lines": 8, "parsed": 8, "rejected": 0}
    assert data["run"]["new_lines"] == 8
    assert data["classes"]["not_implemented"]["count"] == 1
    append(log, lines(8, 10))
    rotate(log, compress=True)
    append(log, line(10, "BREW", 501))
    second = report(runner, log, "--state", state, "--json", out, "--window", "1d", "-q")
    assert second.exit_code == 0
    data = json.loads(out.read_text())
    assert data["totals"]["lines"] == 11
    assert data["run"]["new_lines"] == 3
    [source] = data["run"]["sources"]
    assert {k: source[k] for k in ("path", "new_lines", "rotated", "truncated")} == {
        "path": str(log), "new_lines": 3, "rotated": True, "truncated": False}
    assert source["from_offset"] == len(lines(0, 6)) + len(line(6, "FOO", 501, "192.0.2.7")) \
        + len(line(7, "PROPFIND", 405, "192.0.2.8"))
    assert source["to_offset"] == len(line(10, "BREW", 501))
    assert data["history"]["window"] == "1d"
    assert data["comparison"]["classes"]["not_implemented"] == {
        "current": 2, "previous": 0, "delta": 2}
    assert data["classes"]["not_implemented"]["by"] == {"BREW": 1, "FOO": 1}


def test_text_on_stdout(
    runner: CliRunner, log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's header, then the terminal report over the window."""
    shown: list[int] = []

    def render_text(report: Report) -> str:
        shown.append(report.totals["lines"])
        return "THE REPORT\n"

    monkeypatch.setattr(cli, "render_text", render_text)
    result = report(runner, log, "--state", tmp_path / "state")
    assert result.exit_code == 0
    assert result.stdout.startswith("logscan scheduled run ")
    assert ": 8 new lines (" in result.stdout.splitlines()[0]
    assert "Window 7d: 1 run, against 0 runs in the window before" in result.stdout
    assert result.stdout.endswith("\n\nTHE REPORT\n")
    assert shown == [8]


def test_fail_on_new_method_and_client(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = ("--state", state, "--fail-on", "new_method", "--fail-on", "new_client", "-q")
    assert report(runner, log, *args).exit_code == 0  # the first run has nothing to compare
    append(log, line(8, "GET", 200))
    quiet = report(runner, log, *args)
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    append(log, line(9, "BREW", 501, client="198.51.100.1"))
    alert = report(runner, log, *args)
    assert alert.exit_code == 1
    assert alert.stderr == ("logscan: --fail-on new_method: BREW\n"
                            "logscan: --fail-on new_client: 198.51.100.1\n")
    again = report(runner, log, *args)  # already seen in the window: no alert
    assert again.exit_code == 0


def test_fail_on_threshold_over_the_window(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = ("--state", state, "-q", "--fail-on", "not_implemented>1", "--fail-on", "new_method")
    assert report(runner, log, *args).exit_code == 0  # one 501 so far
    append(log, line(8, "FOO", 501))
    result = report(runner, log, *args)
    assert result.exit_code == 1
    assert result.stderr == "logscan: --fail-on crossed: not_implemented>1 (is 2)\n"


def test_fail_on_unknown_condition(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    result = report(runner, log, "--state", tmp_path / "state", "--fail-on", "sometimes")
    assert result.exit_code == 2
    assert "Invalid value for '--fail-on': 'sometimes' is not SUBJECT OP NUMBER" in result.stderr
    assert not (tmp_path / "state").exists()


def test_locked_state(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with StateStore(state).locked():
        result = report(runner, log, "--state", state)
    assert result.exit_code == 75  # EX_TEMPFAIL: an overlap, not a failure
    assert result.stderr == (f"Error: another logscan report is running on {state}; "
                             "--wait SECONDS waits for it\n")
    assert result.stdout == ""


def test_bad_window(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    result = report(runner, log, "--state", tmp_path / "state", "--window", "a week")
    assert result.exit_code == 2
    assert "'a week' is not a duration such as 30m, 90min, 24h, 7d, 1w2d" in result.stderr


def test_missing_input(runner: CliRunner, tmp_path: Path) -> None:
    result = report(runner, tmp_path / "nope.log", "--state", tmp_path / "state")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path / 'nope.log'}: no such file\n"


def test_prometheus_textfile(runner: CliRunner, log: Path, tmp_path: Path) -> None:
    state, prom = tmp_path / "state", tmp_path / "logscan.prom"
    assert report(runner, log, "--state", state, "--prometheus", prom, "-q").exit_code == 0
    append(log, line(8, "FOO", 501))
    assert report(runner, log, "--state", state, "--prometheus", prom, "-q").exit_code == 0
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    assert families["logscan_requests"].type == "counter"
    requests = {(s.labels["method"], s.labels["status"]): s.value
                for s in families["logscan_requests"].samples}
    # FOO is no registered method: its label is "other" (label values are capped)
    assert requests == {("GET", "200"): 6, ("other", "501"): 2, ("PROPFIND", "405"): 1}
    classed = {(s.labels["class"], s.labels["method"]): s.value
               for s in families["logscan_class_requests"].samples}
    assert classed == {("not_implemented", "other"): 2, ("method_not_allowed", "PROPFIND"): 1}
    assert [s.value for s in families["logscan_last_run_new_lines"].samples] == [1]
    assert [s.value for s in families["logscan_lines"].samples] == [9]
    window = {s.labels["class"]: s.value
              for s in families["logscan_window_class_requests"].samples}
    assert window == {"not_implemented": 2, "method_not_allowed": 1, "version_not_supported": 0}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_prometheus_label_escaping() -> None:
    hostile = 'a"b\\c\nd}{'
    text = render_prometheus([Metric(
        "logscan_requests_total", "counter", "Requests.",
        (((("vhost", hostile), ("method", "GéT")), 3.0),),
    )])
    assert text == (
        "# HELP logscan_requests_total Requests.\n"
        "# TYPE logscan_requests_total counter\n"
        'logscan_requests_total{vhost="a\\"b\\\\c\\nd}{",method="GéT"} 3\n'
    )
    [family] = text_string_to_metric_families(text)
    assert family.samples[0].labels == {"vhost": hostile, "method": "GéT"}
    assert escape_label("plain") == "plain"


@pytest.mark.parametrize("name", ["html", "markdown"])
def test_other_outputs(runner: CliRunner, log: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / f"report.{name}"
    result = report(runner, log, "--state", tmp_path / "state", f"--{name}", out, "-q")
    if name in RENDERERS:
        assert result.exit_code == 0
        assert out.stat().st_size > 0
    else:  # the renderer is not part of this version yet: refused before anything runs
        assert result.exit_code == 2
        assert result.stderr == f"Error: --{name}: this version has no {name} renderer\n"


def test_plain_logscan_file_still_works(runner: CliRunner, log: Path) -> None:
    result = runner.invoke(main, [str(log), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["lines"] == 8


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(main, ["report", "--help"])
    assert result.exit_code == 0
    for option in ("--state", "--window", "--json", "--html", "--markdown", "--prometheus",
                   "--fail-on", "--log-format", "--wait"):
        assert option in result.stdout
    assert "report" in runner.invoke(main, ["--help"]).stdout


def test_real_process(log: Path, tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "report.json"
    command = [sys.executable, "-m", "analyzer", "report", str(log), "--state", str(state),
               "--json", str(out), "--fail-on", "new_method"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout.startswith("logscan scheduled run ")
    assert json.loads(out.read_text())["run"]["new_lines"] == 8
    assert (state.stat().st_mode & 0o777) == 0o700
