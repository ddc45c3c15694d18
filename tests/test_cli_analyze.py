"""``logscan analyze`` (the default command): formats, thresholds, windows, servers, safety, and
the golden text and Markdown reports (regenerate on purpose: ``LOGSCAN_REGEN_GOLDEN=1 pytest``)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from analyzer.cli.app import main

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("LOGSCAN_REGEN_GOLDEN") == "1"
HOSTILE_UA = "Mozilla/5.0 \x1b]0;pwned\x07 \x1b[31mred"


def line(ip: str, when: str, request: str, status: int, ua: str = "curl/8.5.0") -> str:
    return f'{ip} - - [01/Oct/2025:{when} +0000] "{request}" {status} 100 "-" "{ua}"'


LINES = [
    line("192.0.2.1", "10:00:00", "GET / HTTP/1.1", 200),
    line("192.0.2.1", "10:00:01", "FOO / HTTP/1.1", 501, "Nikto/2.5.0"),
    line("192.0.2.2", "10:30:00", "PUT /index.html HTTP/1.1", 405),
    line("192.0.2.2", "10:30:05", "PUT /up/a HTTP/1.1", 201),
    line("192.0.2.3", "11:00:00", "GET / HTTP/2.0", 505),
    line("192.0.2.4", "11:30:00", "TRACE / HTTP/1.1", 405, HOSTILE_UA),
    line("192.0.2.5", "12:00:00", "GET /\x1b]0;pwned\x07 HTTP/1.1", 501, HOSTILE_UA),
    line("192.0.2.6", "12:10:00", "FOO /x HTTP/1.1", 501),
    line("192.0.2.6", "12:10:01", "FOO /y HTTP/1.1", 501),
    line("192.0.2.6", "12:10:02", "PUT /z HTTP/1.1", 405),
]


@pytest.fixture
def access_log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def run_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- formats ----------------------------------------------------------------------------------

def test_default_command_is_analyze(runner, access_log):
    a = runner.invoke(main, [str(access_log)])
    b = runner.invoke(main, ["analyze", str(access_log)])
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout
    assert a.stdout.startswith("logscan report: ")


def test_json(runner, access_log):
    data = run_json(runner, str(access_log))
    assert data["schema"] == "logscan.report/1"
    assert {k: v["count"] for k, v in data["classes"].items()} == {
        "not_implemented": 4, "method_not_allowed": 3, "version_not_supported": 1,
    }
    assert data["classes"]["not_implemented"]["top_clients"] == [
        {"client": "192.0.2.6", "count": 2, "family": "curl", "kind": "library"},
        {"client": "192.0.2.1", "count": 1, "family": "Nikto", "kind": "scanner"},
        {"client": "192.0.2.5", "count": 1, "family": "Other", "kind": "unknown"},
    ]
    assert data["classes"]["not_implemented"]["by"] == {"FOO": 3, "GET": 1}
    assert data["classes"]["version_not_supported"]["by"] == {"HTTP/2.0": 1}
    assert data["totals"] == {"lines": 10, "parsed": 10, "rejected": 0}


def test_markdown(runner, access_log):
    result = runner.invoke(main, [str(access_log), "--format", "markdown"])
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("# logscan report\n")
    assert "| not_implemented | 501 | 4 |" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\\\\x1b\\]0;pwned\\\\x07" in text  # shown, escaped, never live


def test_markdown_escapes_pipes_and_newlines(runner, tmp_path):
    path = tmp_path / "pipes.log"
    path.write_text(line("192.0.2.9", "10:00:00", "FOO /a|b HTTP/1.1", 501) + "\n")
    text = runner.invoke(main, [str(path), "--format", "markdown"]).stdout
    assert "/a\\|b" in text
    assert "/a|b" not in text


def test_csv_is_one_tidy_table(runner, access_log):
    result = runner.invoke(main, [str(access_log), "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["class", "vhost", "method", "protocol", "status", "client",
                             "ua_family", "client_kind", "count"]
    assert sum(int(r["count"]) for r in rows) == 8
    foo = [r for r in rows if r["method"] == "FOO" and r["client"] == "192.0.2.1"]
    assert foo == [{"class": "not_implemented", "vhost": "", "method": "FOO",
                    "protocol": "HTTP/1.1", "status": "501", "client": "192.0.2.1",
                    "ua_family": "Nikto", "client_kind": "scanner", "count": "1"}]


def test_csv_neutralises_formulas(runner, tmp_path):
    # a vhost and a method token can start with = + - @ (method tokens allow + and -)
    path = tmp_path / "vhosts.log"
    rows = [
        '=HYPERLINK("http://x"):80 192.0.2.1 - - [01/Oct/2025:10:00:00 +0000] '
        '"+CMD / HTTP/1.1" 501 100 "-" "curl/8"',
        '@evil:80 192.0.2.1 - - [01/Oct/2025:10:00:01 +0000] "-CMD / HTTP/1.1" 405 100 "-" '
        '"curl/8"',
    ]
    path.write_text("\n".join(rows) + "\n")
    result = runner.invoke(main, [str(path), "--format", "csv", "--log-format",
                                  "vhost_combined"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "method_not_allowed,'@evil,'-CMD,HTTP/1.1,405,192.0.2.1,curl,library,1",
        'not_implemented,"\'=HYPERLINK(""http://x"")",\'+CMD,HTTP/1.1,501,192.0.2.1,curl,library,1',
    ]


def test_text_strips_terminal_control_characters(runner, access_log):
    # wide enough that the example line (under a long temporary path) is not wrapped
    result = runner.invoke(main, [str(access_log), "--details", "--width", "300"])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "GET /\\x1b]0;pwned\\x07 HTTP/1.1" in result.stdout


def test_output_file(runner, access_log, tmp_path):
    target = tmp_path / "report.json"
    result = runner.invoke(main, [str(access_log), "--format", "json", "-o", str(target)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["totals"]["lines"] == 10


# -- --fail-on --------------------------------------------------------------------------------

@pytest.mark.parametrize(("conditions", "code", "note"), [
    (["not_implemented>0"], 1, "logscan: --fail-on crossed: not_implemented>0 (is 4)\n"),
    (["method_not_allowed>=50"], 0, ""),
    (["version_not_supported>0", "method_not_allowed>=3"], 1,
     "logscan: --fail-on crossed: version_not_supported>0 (is 1); method_not_allowed>=3 (is 3)\n"),
    (["method:PATCH>0"], 0, ""),
    (["method:FOO>2"], 1, "logscan: --fail-on crossed: method:FOO>2 (is 3)\n"),
    (["verdict:capability_gap>0"], 1,
     "logscan: --fail-on crossed: verdict:capability_gap>0 (is 1)\n"),
    (["rejected>0"], 0, ""),
])
def test_fail_on(runner, access_log, conditions, code, note):
    args = [str(access_log), "--format", "json"]
    for condition in conditions:
        args += ["--fail-on", condition]
    result = runner.invoke(main, args)
    assert result.exit_code == code
    assert result.stderr == note
    json.loads(result.stdout)  # the report is written all the same


@pytest.mark.parametrize(("condition", "message"), [
    ("bogus>1", "'bogus' is not one of not_implemented, method_not_allowed"),
    ("not_implemented>>1", "is not SUBJECT OP NUMBER"),
    ("not_implemented", "is not SUBJECT OP NUMBER"),
    ("verdict:nope>0", "verdicts are capability_gap"),
])
def test_bad_fail_on_is_a_usage_error(runner, access_log, condition, message):
    result = runner.invoke(main, [str(access_log), "--fail-on", condition])
    assert result.exit_code == 2
    assert "Invalid value for '--fail-on'" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


# -- --since / --until ------------------------------------------------------------------------

def test_since_until_absolute(runner, access_log):
    data = run_json(runner, str(access_log), "--since", "2025-10-01T10:15", "--until",
                    "2025-10-01T12:00:00Z")
    assert data["requests"] == 4
    assert data["window"] == {"since": "2025-10-01T10:15:00Z", "until": "2025-10-01T12:00:00Z"}
    assert data["classes"]["not_implemented"]["count"] == 0
    assert data["classes"]["method_not_allowed"]["by"] == {"PUT": 1, "TRACE": 1}
    assert data["totals"]["lines"] == 10  # every line is still accounted for


def test_since_with_an_offset(runner, access_log):
    data = run_json(runner, str(access_log), "--since", "2025-10-01T13:00:00+02:00")
    assert data["requests"] == 6


def test_since_relative_is_relative_to_now(runner, access_log):
    data = run_json(runner, str(access_log), "--since", "24h")
    assert data["requests"] == 0
    data = run_json(runner, str(access_log), "--since", "520w")
    assert data["requests"] == 10


@pytest.mark.parametrize("value", ["yesterday", "24x", "2025-13-01"])
def test_bad_since_is_a_usage_error(runner, access_log, value):
    result = runner.invoke(main, [str(access_log), "--since", value])
    assert result.exit_code == 2
    assert "Invalid value for '--since'" in result.stderr


def test_since_after_until(runner, access_log):
    result = runner.invoke(main, [str(access_log), "--since", "2025-10-02", "--until",
                                  "2025-10-01"])
    assert result.exit_code == 2
    assert result.stderr == ("Error: --since (2025-10-02T00:00:00Z) must be before --until "
                             "(2025-10-01T00:00:00Z)\n")


# -- --server, --client-field -----------------------------------------------------------------

def test_server_option(runner, access_log):
    nginx = run_json(runner, str(access_log), "--server", "nginx")
    apache = run_json(runner, str(access_log), "--server", "apache")
    assert nginx["server"] == {"name": "nginx", "basis": "option", "reason": "--server nginx"}
    assert apache["server"]["name"] == "apache"
    trace = {s: next(v for v in d["verdicts"] if v["method"] == "TRACE")
             for s, d in (("nginx", nginx), ("apache", apache))}
    gap = "on NGINX this is the capability gap"
    assert any(gap in n for n in trace["nginx"]["notes"])
    assert not any(gap in n for n in trace["apache"]["notes"])
    http2 = {s: next(p for p in d["protocols"] if p["protocol"] == "HTTP/2.0")
             for s, d in (("nginx", nginx), ("apache", apache))}
    assert "Apache never sends 505" in http2["apache"]["explanation"]
    assert "NGINX answers 505" in http2["nginx"]["explanation"]


def test_server_guessed_from_the_evidence(runner, access_log):
    data = run_json(runner, str(access_log))
    # the combined format could be either: a 505 says NGINX (Apache never sends one)
    assert data["server"]["name"] == "nginx" and data["server"]["basis"] == "evidence"


def test_bad_server(runner, access_log):
    result = runner.invoke(main, [str(access_log), "--server", "iis"])
    assert result.exit_code == 2
    assert "Invalid value for '--server'" in result.stderr


def test_client_field_x_forwarded_for(runner, tmp_path):
    path = tmp_path / "xff.log"
    rows = [
        '10.0.0.1 - - [01/Oct/2025:10:00:00 +0000] "FOO / HTTP/1.1" 405 0 "-" "curl/8" '
        '"198.51.100.9, 10.0.0.1"',
        '10.0.0.1 - - [01/Oct/2025:10:00:01 +0000] "FOO / HTTP/1.1" 405 0 "-" "curl/8" "-"',
    ]
    path.write_text("\n".join(rows) + "\n")
    plain = run_json(CliRunner(), str(path), "--log-format", "nginx_main")
    xff = run_json(CliRunner(), str(path), "--log-format", "nginx_main", "--client-field",
                   "x-forwarded-for")
    top = xff["classes"]["method_not_allowed"]["top_clients"]
    assert [(c["client"], c["count"]) for c in top] == [("10.0.0.1", 1), ("198.51.100.9", 1)]
    assert plain["classes"]["method_not_allowed"]["top_clients"][0]["client"] == "10.0.0.1"
    assert xff["client_field"] == "x-forwarded-for"


def test_unknown_client_field(runner, access_log):
    result = runner.invoke(main, [str(access_log), "--client-field", "x-forwarded-for"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown field 'x-forwarded-for'; choose one of: ")


def test_missing_file(runner, tmp_path):
    result = runner.invoke(main, [str(tmp_path / "nope.log")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.output


def test_help_lists_the_options(runner):
    result = runner.invoke(main, ["analyze", "--help"])
    assert result.exit_code == 0
    for option in ("--server", "--client-field", "--since", "--until", "--fail-on", "--format",
                   "--output"):
        assert option in result.stdout


# -- golden reports ---------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "name"), [(["--format", "text"], "vhost_access.txt"),
                                            (["--details"], "vhost_access.details.txt"),
                                            (["--format", "markdown"], "vhost_access.md")])
def test_golden(runner, monkeypatch, args, name):
    monkeypatch.chdir(GOLDEN)
    monkeypatch.setenv("LOGSCAN_KERNEL", "arrow")  # the details name the kernel (always built)
    result = runner.invoke(main, ["vhost_access.log", *args])
    assert result.exit_code == 0, result.output
    golden = GOLDEN / name
    if REGEN:
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_colour_only_touches_our_own_labels(access_log):
    from analyzer import analyze
    from analyzer.render.text import render_text

    report = analyze(str(access_log))
    coloured = render_text(report, color=True)
    assert "\x1b[1mCounts\x1b[0m" in coloured
    assert "\x1b]0;" not in coloured and "\x07" not in coloured
    assert render_text(report) == render_text(report, color=False)
    assert "\x1b" not in render_text(report)


def test_colour_is_off_when_stdout_is_not_a_terminal(runner, access_log):
    assert "\x1b" not in runner.invoke(main, [str(access_log)]).stdout
