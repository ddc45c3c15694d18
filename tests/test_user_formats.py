"""Formats a user keeps by name in $XDG_CONFIG_HOME/logscan/formats (and a machine in
$XDG_CONFIG_DIRS): tried by detection beside the presets, taken by --log-format NAME, named in
the report; a broken file is a one-line error naming the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from paths import SAMPLE_LOGS, real_log

import analyzer
import analyzer.frame
from analyzer.cli.app import main

TIMED = """\
# formats of our own
timed_apache = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %{ms}T %{X-Request-Id}i'

[shop]
format = '''$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent \
"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'''
server = "nginx"
"""


@pytest.fixture
def formats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    path = home / "logscan" / "formats"
    path.parent.mkdir(parents=True)
    path.write_text(TIMED)
    return path


def timed_log(tmp_path: Path) -> Path:
    """The first 300 lines of a real combined log, with the milliseconds taken and a request id
    appended as the timed_apache format writes them."""
    lines = real_log("elastic_apache_combined.log").read_text().splitlines()[:300]
    path = tmp_path / "timed.log"
    path.write_text("".join(f"{line} {i % 50} req-{i:05d}\n" for i, line in enumerate(lines)))
    return path


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_detection_tries_the_users_formats_by_name(tmp_path, formats_file):
    log = timed_log(tmp_path)
    parsed = analyzer.frame.parse_log(log)
    (source,) = parsed.sources
    assert (source.format, source.lines, source.parsed) == ("timed_apache", 300, 300)
    assert source.detection == ("timed_apache (200/200 sample lines matched); note: a format "
                                f"of your own, from {formats_file}:2")
    frame = parsed.frame
    assert {c: str(frame[c].dtype) for c in ("duration", "header_x_request_id")} == {
        "duration": "float64", "header_x_request_id": "string[pyarrow]"}
    assert (frame["duration"].iloc[7], frame["header_x_request_id"].iloc[7]) == (0.007,
                                                                                  "req-00007")
    report = run_json(str(log))
    assert [(s["format"], s["detection"]) for s in report["sources"]] == [
        ("timed_apache", source.detection)]
    text = CliRunner().invoke(main, [str(log)]).stdout
    assert f"note: a format of your own, from {formats_file}:2" in " ".join(text.split())


def test_without_the_file_the_same_log_has_unnamed_fields(tmp_path):
    log = timed_log(tmp_path)
    (source,) = analyzer.frame.parse_log(log).sources
    assert source.format == "combined+2extra"


def test_a_users_format_wins_over_a_preset_that_fits_as_well(formats_file):
    # the shop's log is NGINX main; the user calls that format "shop", and says NGINX wrote it
    log = real_log("lnav_shop_nginx_xff.log")
    report = analyzer.analyze(log)
    (source,) = report.sources
    assert (source.format, source.lines, source.parsed) == ("shop", 1000, 1000)
    assert (report.server.name, report.server.basis) == ("nginx", "format")


def test_log_format_takes_the_names(tmp_path, formats_file):
    log = timed_log(tmp_path)
    report = run_json(str(log), "--log-format", "timed_apache")
    assert [(s["format"], s["parsed"], s["detection"]) for s in report["sources"]] == [
        ("timed_apache", 300, f"a format of your own, from {formats_file}:2")]
    frame = analyzer.read_log(log, log_format="shop")  # the name, in the library too
    assert frame.empty  # an Apache log read as NGINX's shop format: every line rejected


def test_an_unknown_name_lists_the_users_formats(formats_file):
    result = CliRunner().invoke(main, [str(SAMPLE_LOGS / "nginx_combined.log"),
                                       "--log-format", "tmied_apache"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: log format 'tmied_apache': not a preset and not a format string; presets: "
        "combined, combined_allow, combinedio, common, logscan_timed, logscan_vhost, "
        "nginx_combined, nginx_main, vhost_combined, vhost_combined_noport, vhost_common, "
        f"vhost_common_port; yours ({formats_file}): shop, timed_apache\n")


def test_the_file_is_read_again_when_it_changes(tmp_path, formats_file):
    log = timed_log(tmp_path)
    assert analyzer.frame.parse_log(log).sources[0].format == "timed_apache"
    formats_file.write_text(TIMED.replace("timed_apache", "renamed_after_an_edit"))
    assert analyzer.frame.parse_log(log).sources[0].format == "renamed_after_an_edit"
    formats_file.unlink()
    assert analyzer.frame.parse_log(log).sources[0].format == "combined+2extra"


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("a = '%h %t'\nb = \n", 2, "not valid TOML: Invalid value"),
    ("ok = '%h %t'\n\nbad = '%h %Z %t'\n", 3, "'bad': log format '%h %Z %t': unknown directive %Z"),
    ("combined = '%h %t'\n", 1, "'combined': a preset has this name; choose another"),
    ("[x]\nformat = '%h %t'\nserver = 'iis'\n", 1, "'x': server is apache or nginx"),
    ("[x]\nformat = '%h %t'\nservr = 'nginx'\n", 1,
     "'x': unknown key 'servr' (a table takes format and server)"),
    ("x = 3\n", 1, "'x': the value is a format string, or a table with format (and server)"),
    ("x = 'just words'\n", 1,
     "'x': log format 'just words': not a format string: no %directive or $variable"),
    ('"bad name" = "%h %t"\n', 1, "'bad name': a name is a letter, then letters, digits, '_', "
     "'.' or '-' (at most 64), and not json_lines or inferred"),
    ("inferred = '%h %t'\n", 1, "'inferred': a name is a letter, then letters, digits, '_', "
     "'.' or '-' (at most 64), and not json_lines or inferred"),
], ids=["toml", "directive", "preset-name", "server", "key", "value", "not-a-format", "name",
        "built-name"])
def test_a_broken_file_is_a_one_line_error(formats_file, text, where, problem):
    formats_file.write_text(text)
    message = f"{formats_file}:{where}: {problem}"
    log = str(SAMPLE_LOGS / "nginx_combined.log")
    for args in ([log], [log, "--log-format", "mine"]):
        result = CliRunner().invoke(main, args)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")
    with pytest.raises(analyzer.AnalyzerError) as caught:
        analyzer.analyze(log)
    assert str(caught.value) == message and isinstance(caught.value, ValueError)


def test_a_file_that_is_not_utf8_names_its_line(formats_file):
    formats_file.write_bytes(b"a = '%h %t'\nb = '\xff'\n")
    with pytest.raises(analyzer.AnalyzerError) as caught:
        analyzer.analyze(SAMPLE_LOGS / "nginx_combined.log")
    assert str(caught.value) == f"{formats_file}:2: not UTF-8 text"
    assert isinstance(caught.value, ValueError)


def test_a_preset_given_by_name_does_not_read_the_file(formats_file):
    formats_file.write_text("broken = \n")
    report = analyzer.analyze(SAMPLE_LOGS / "nginx_combined.log", log_format="nginx_combined")
    assert report.sources[0].parsed == 380


# -- the machine's formats files ($XDG_CONFIG_DIRS) -------------------------------------------

def _system_file(root: Path, text: str) -> Path:
    path = root / "logscan" / "formats"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_the_machines_formats_are_detected_and_named(tmp_path, monkeypatch):
    system = _system_file(tmp_path / "xdg", TIMED)
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"relative/dir:{tmp_path / 'none'}:{tmp_path / 'xdg'}")
    log = timed_log(tmp_path)
    report = run_json(str(log))
    assert [(s["format"], s["parsed"], s["detection"]) for s in report["sources"]] == [
        ("timed_apache", 300, "timed_apache (200/200 sample lines matched); note: a format of "
                              f"your own, from {system}:2")]
    report = run_json(str(log), "--log-format", "timed_apache")
    assert report["sources"][0]["detection"] == f"a format of your own, from {system}:2"


def test_the_users_file_wins_then_the_earlier_directory(tmp_path, monkeypatch, formats_file):
    first = _system_file(tmp_path / "first", "timed_apache = '%h %t'\nedge = '%h %l %t'\n")
    second = _system_file(tmp_path / "second", "edge = '%h %t'\nlast = '%h %u %t'\n")
    monkeypatch.setenv("XDG_CONFIG_DIRS", f"{tmp_path / 'first'}:{tmp_path / 'second'}")
    origins = {name: analyzer.LogFormat.resolve(name).origin
               for name in ("timed_apache", "shop", "edge", "last")}
    assert origins == {"timed_apache": f"{formats_file}:2", "shop": f"{formats_file}:4",
                       "edge": f"{first}:2", "last": f"{second}:2"}
    result = CliRunner().invoke(main, [str(SAMPLE_LOGS / "nginx_combined.log"),
                                       "--log-format", "egde"])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        f"; yours ({formats_file}): shop, timed_apache; this machine's ({first}): edge; "
        f"this machine's ({second}): last\n")


def test_more_than_64_formats_in_all_is_a_one_line_error(tmp_path, monkeypatch, formats_file):
    formats_file.write_text("".join(f"mine{i} = '%h %t'\n" for i in range(40)))
    system = _system_file(tmp_path / "xdg", "".join(f"ours{i} = '%h %t'\n" for i in range(30)))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    result = CliRunner().invoke(main, [str(SAMPLE_LOGS / "nginx_combined.log")])
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {system}: more than 64 formats in all, with the files read before it\n")
