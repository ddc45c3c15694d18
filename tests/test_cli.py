"""The command line on input problems: exit code 2 with one exact ``Error:`` line, never a
traceback; --strict; the JSON report written to a file; one run as real processes.

(The report itself, thresholds and servers are tested in test_cli_analyze.py.)
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli.app import main
from analyzer.sources import codecs

GOOD = '192.0.2.{n} - - [01/Oct/2025:10:00:0{n} +0000] "{request}" {status} 10 "-" "curl/8"'


def good_lines(*rows: tuple[str, int]) -> str:
    return "".join(GOOD.format(n=i, request=r, status=s) + "\n" for i, (r, s) in
                   enumerate(rows, start=1))


LOG = good_lines(("GET / HTTP/1.1", 200), ("FOO / HTTP/1.1", 501), ("PUT /a HTTP/1.1", 405),
                 ("GET / HTTP/2.0", 505))


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text(LOG, encoding="utf-8")
    return path


def fails(runner: CliRunner, args: list[str], message: str, **kwargs) -> None:
    """Exit code 2, nothing on stdout, exactly one ``Error:`` line on stderr."""
    result = runner.invoke(main, args, **kwargs)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


def test_missing_file(runner, tmp_path):
    path = tmp_path / "nope.log"
    fails(runner, [str(path)], f"{path}: no such file")


def test_a_directory(runner, tmp_path):
    fails(runner, [str(tmp_path)],
          f"{tmp_path}: is a directory; give the log files inside it (or a glob)")


def test_a_glob_that_matches_nothing(runner, tmp_path):
    pattern = str(tmp_path / "access.log.*")
    fails(runner, [pattern], f"{pattern}: no file matches this pattern")


def test_corrupt_gzip(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(codecs, "zlib_module", lambda: zlib)  # the message names zlib's error
    path = tmp_path / "access.log.1.gz"
    path.write_bytes(b"\x1f\x8b" + b"\x07garbage" * 20)
    fails(runner, [str(path)], f"{path}: not a readable gzip file "
          "(Error -3 while decompressing data: unknown compression method)")


def test_unknown_log_format(runner, access_log):
    fails(runner, [str(access_log), "--log-format", "apache_default"],
          "log format 'apache_default': not a preset and not a format string; presets: "
          "combined, combined_allow, combinedio, common, logscan_timed, logscan_vhost, "
          "nginx_combined, nginx_main, vhost_combined, vhost_combined_noport, vhost_common, "
          "vhost_common_port")


def test_bad_log_format_string(runner, access_log):
    fails(runner, [str(access_log), "--log-format", '%h %l %u %t "%r" %>s %Z'],
          """log format '%h %l %u %t "%r" %>s %Z': unknown directive %Z""")


HINT = ("give the format with --log-format NAME or --log-format 'FORMAT STRING', or the "
        "server's configuration with --server-config")


def test_format_that_cannot_be_detected(runner, tmp_path):
    path = tmp_path / "error.log"
    path.write_text("[Thu Oct 13 12:24:49.880562 2022] [core:error] [pid 10] AH00126: bad\n"
                    "just words\n", encoding="utf-8")
    fails(runner, [str(path)],
          f"no known log format fits {path}: closest is 'vhost_common', which stops at %t "
          f"(time) reading '2022]' on line 1; {HINT}")


def test_detection_error_names_the_closest_format(runner, tmp_path):
    path = tmp_path / "mostly-junk.log"
    path.write_text(good_lines(("GET / HTTP/1.1", 200)) + "junk one\njunk two\n",
                    encoding="utf-8")
    fails(runner, [str(path)],
          f"no known log format fits {path}: closest is 'combined' (it fits 1 of 3 sample "
          "lines), which stops after %l (ident), expecting ' ', reading the end of line 2; "
          + HINT)


def test_strict_stops_at_the_first_reject(runner, tmp_path):
    path = tmp_path / "access.log"
    path.write_text(LOG + "a line that is not a request\n" + LOG, encoding="utf-8")
    fails(runner, [str(path), "--strict", "--log-format", "combined"],
          f"{path}:5: rejected (no_match) in --strict mode: 'a line that is not a request'")


def test_strict_stops_at_damage_in_a_compressed_file(runner, tmp_path):
    path = tmp_path / "access.log.2.gz"
    whole = gzip.compress(LOG.encode() * 2000)
    path.write_bytes(whole[: len(whole) // 2])
    result = runner.invoke(main, [str(path), "--strict"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {path}:")
    assert "in --strict mode" in result.stderr and result.stderr.count("\n") == 1


def test_without_strict_rejects_are_counted_not_fatal(runner, tmp_path):
    path = tmp_path / "access.log"
    path.write_text(LOG + "\nnot a request\n", encoding="utf-8")
    result = runner.invoke(main, [str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"] == {"lines": 6, "parsed": 4, "rejected": 2}
    assert report["rejects"]["reasons"] == {"empty": 1, "no_match": 1}
    assert [(e["line"], e["reason"]) for e in report["rejects"]["examples"]] == [
        (5, "empty"), (6, "no_match")]


def test_json_output_file(runner, access_log, tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(main, [str(access_log), "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["schema"] == "logscan.report/1"
    assert [{k: s[k] for k in ("path", "format", "lines", "parsed", "rejected")}
            for s in report["sources"]] == [
        {"path": str(access_log), "format": "combined", "lines": 4, "parsed": 4, "rejected": 0}]
    assert report["totals"] == {"lines": 4, "parsed": 4, "rejected": 0}
    assert report["status_counts"] == {"200": 1, "405": 1, "501": 1, "505": 1}
    assert report["rejects"] == {"count": 0, "reasons": {}, "examples": []}


def test_stdin_and_a_rotated_set(runner, tmp_path):
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(LOG.encode()))
    (tmp_path / "access.log").write_text(LOG, encoding="utf-8")
    result = runner.invoke(main, ["-", str(tmp_path / "access.log*"), "--format", "json"],
                           input=LOG.encode())
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(s["path"], s["lines"]) for s in report["sources"]] == [
        ("-", 4), (str(tmp_path / "access.log.1.gz"), 4), (str(tmp_path / "access.log"), 4)]
    assert report["status_counts"] == {"200": 3, "405": 3, "501": 3, "505": 3}


def test_stdin_with_a_given_format(runner):
    nginx = good_lines(("GET / HTTP/1.1", 200)).replace('"curl/8"\n', '"curl/8" "10.0.0.1"\n')
    result = runner.invoke(main, ["-", "--log-format", "nginx_main", "--format", "json"],
                           input=nginx)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"] == {"lines": 1, "parsed": 1, "rejected": 0}


def test_empty_input_still_gives_a_report_but_exit_code_3(runner, tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    result = runner.invoke(main, [str(path), "--format", "json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["totals"] == {"lines": 0, "parsed": 0, "rejected": 0}
    assert result.stderr == ("logscan: warning: no line was parsed (0 lines read): check the "
                             "input, or give its format with --log-format\n")


def _logscan_script() -> str:
    found = shutil.which("logscan") or str(Path(sys.executable).with_name("logscan"))
    assert Path(found).exists(), "the logscan script is missing: pip install -e ."
    return found


@pytest.mark.parametrize("command", ["module", "script"])
def test_real_process(access_log, tmp_path, command):
    argv = ([sys.executable, "-m", "analyzer"] if command == "module" else [_logscan_script()])
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:analyzer"}
    done = subprocess.run([*argv, str(access_log), "--format", "json"], capture_output=True,
                          text=True, timeout=120, env=env, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    report = json.loads(done.stdout)
    assert report["totals"] == {"lines": 4, "parsed": 4, "rejected": 0}
    assert report["classes"]["not_implemented"]["count"] == 1
    missing = subprocess.run([*argv, str(tmp_path / "missing.log")], capture_output=True,
                             text=True, timeout=120, env=env, cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr == f"Error: {tmp_path / 'missing.log'}: no such file\n"


def test_version_is_the_installed_distributions(runner):
    """``analyzer.__version__`` (looked up on first use) and ``logscan --version`` agree with
    the installed package's metadata."""
    from importlib.metadata import version

    import analyzer

    installed = version("logscan-http")
    assert analyzer.__version__ == installed
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == f"logscan, version {installed}"
    assert result.output.splitlines()[1] in ("kernel: native", "kernel: arrow")
