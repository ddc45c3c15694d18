"""The terminal report and the command's habits, as an operator meets them: the README's first
command at 100 columns, colour rules, exit codes and stderr, globs over rotated sets."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from paths import SAMPLE_LOGS

import analyzer
from analyzer.cli.app import main

APACHE = SAMPLE_LOGS / "apache_vhost_allow.log"
ESC = "\x1b["


@pytest.fixture(scope="module")
def apache_report() -> analyzer.Report:
    return analyzer.analyze(str(APACHE))


def _summary(runner, *args: str, env: dict[str, str] | None = None):
    return runner.invoke(main, [str(APACHE), *args], env=env)


# -- the first screen --------------------------------------------------------------------------

def test_first_screen_fits_and_names_every_finding(runner, apache_report):
    result = _summary(runner, "--width", "100")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 40
    assert max(len(line) for line in lines) <= 100
    for v in apache_report.verdicts:  # each finding: its method on a line naming its vhost
        assert any(re.search(rf"(^|[ ,:]){re.escape(v.method)}([ ,(]|$)", line)
                   and v.vhost in line for line in lines), (v.vhost, v.method)
    assert "HTTP/0.9 refused with 400" in result.stdout
    assert "HTTP/2 preface on an HTTP/1 port" in result.stdout
    # the most urgent first: the method that works for some clients and fails for others
    table = lines[lines.index(next(x for x in lines if x.startswith("finding"))) + 2:]
    assert table[0].startswith("PATCH on www.example.test: partial implementation")
    assert re.search(r"\b7\s+3\s+2026-11-22 06:47\s+A$", table[0])
    assert "Counts" in lines
    assert "--details" in lines[-1]


def test_each_fix_is_printed_once(runner, apache_report):
    summary = _summary(runner).stdout
    details = " ".join(_summary(runner, "--details", "--width", "100").stdout.split())
    guidance = {v.guidance for v in apache_report.verdicts if v.guidance is not None}
    assert len(guidance) >= 4
    for g in guidance:
        assert details.count(" ".join(g.why.split())) == 1, g.title
    titles = [g.title for g in guidance if g.title in summary]
    assert titles and all(summary.count(t) == 1 for t in titles)
    # no 505 in this log: the Apache-505 advice is not printed at all
    assert "Apache never sends 505" not in details


def test_details_keep_protocol_headings_and_the_right_words(runner):
    text = _summary(runner, "--details", "--width", "100").stdout
    assert "\nProtocols\n" in text
    # every protocol that is no finding but has an explanation gets its own heading
    assert "\nHTTP/3.0:\n  Apache does not speak HTTP/3.0" in text
    assert "\n-:\n  No protocol" in text
    assert "HTTP/3.0 answered normally in an Apache log is ordinary HTTP/2" not in text
    assert "merged summary" not in text and "Summary" not in text


def test_versions_seen_and_served_have_no_reproduction_or_fix(runner):
    data = json.loads(_summary(runner, "--format", "json").stdout)
    by = {p["protocol"]: p for p in data["protocols"]}
    for served in ("HTTP/1.2", "HTTP/3.0"):
        assert by[served]["counts"] == {"200": 1}
        assert (by[served]["findings"], by[served]["reproduce"], by[served]["guidance"]) == (
            [], [], None)
    assert by["HTTP/0.9"]["reproduce"] and by["HTTP/0.9"]["guidance"] is None


def test_details_are_bounded_and_wrap_to_the_width(runner):
    text = _summary(runner, "--details", "--width", "60").stdout
    prose = [line for line in text.splitlines()
             if not line.startswith("    ")]  # commands and snippets stay whole, to be copied
    assert max(len(line) for line in prose) <= 60
    assert len(text.splitlines()) < 1600  # 1,229 lines here: 19 findings, commands marked


# -- colour --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "env", "coloured"), [
    ([], {}, False),  # CliRunner's stdout is a pipe
    ([], {"FORCE_COLOR": "1"}, True),
    ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (["--color", "always"], {"NO_COLOR": "1"}, True),
    (["--color", "always"], {}, True),
    (["--color", "never"], {"FORCE_COLOR": "1"}, False),
])
def test_colour_rules(runner, args, env, coloured):
    result = _summary(runner, *args, env=env)
    assert result.exit_code == 0
    assert (ESC in result.stdout) is coloured
    if coloured:
        assert f"{ESC}1mCounts{ESC}0m" in result.stdout


def test_colour_never_goes_to_a_file(runner, tmp_path):
    out = tmp_path / "report.txt"
    assert _summary(runner, "-o", str(out), env={"FORCE_COLOR": "1"}).exit_code == 0
    assert ESC not in out.read_text()


# -- exit codes and stderr ----------------------------------------------------------------------

def test_no_arguments_print_the_commands(runner):
    result = runner.invoke(main, [])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: main [OPTIONS] COMMAND [ARGS]...")
    assert re.search(r"^Commands:\n  analyze .*\n  explain .*\n  report ", result.stdout, re.M)
    assert result.stderr == ""


def test_usage_error_is_one_line_and_a_hint(runner):
    result = runner.invoke(main, [str(APACHE), "--colour", "always"])
    assert result.exit_code == 2
    assert result.stderr == ("Error: No such option '--colour'. Did you mean '--color'?\n"
                             "Try 'main analyze --help' for help.\n")
    bad = runner.invoke(main, [str(APACHE), "--fail-on", "bogus>1"])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == [
        "Error: Invalid value for '--fail-on': 'bogus' is not one of not_implemented, "
        "method_not_allowed, version_not_supported, rejected, method:NAME, protocol:NAME, "
        "verdict:NAME",
        "Try 'main analyze --help' for help.",
    ]


def test_zero_parsed_lines_warn_and_exit_3(runner, tmp_path):
    path = tmp_path / "other.log"
    path.write_text("not an access log line\nnor this one\n")
    result = runner.invoke(main, [str(path), "--log-format", "common", "--format", "json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["totals"] == {"lines": 2, "parsed": 0, "rejected": 2}
    assert result.stderr == ("logscan: warning: no line was parsed (2 lines read): check the "
                             "input, or give its format with --log-format\n")


def test_fail_on_names_ignore_case_and_typos_are_warned(runner):
    hit = _summary(runner, "--format", "json", "--fail-on", "method:patch>0")
    assert hit.exit_code == 1
    assert hit.stderr == "logscan: --fail-on crossed: method:patch>0 (is 8)\n"
    typo = _summary(runner, "--format", "json", "--fail-on", "method:PACTH>0")
    assert typo.exit_code == 0
    assert typo.stderr == ("logscan: warning: --fail-on method:PACTH>0: no such method or "
                           "protocol was refused in this log, and it is not a registered name "
                           "(names are compared ignoring case)\n")
    clean = _summary(runner, "--format", "json", "--fail-on", "method:QUERY>0")
    assert (clean.exit_code, clean.stderr) == (0, "")  # registered, just not refused here


def test_a_glob_over_a_rotated_set_skips_what_is_not_a_log(runner, tmp_path, monkeypatch):
    for path in SAMPLE_LOGS.glob("nginx_rotated.log*"):
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["nginx_rotated.log*", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [s["path"] for s in json.loads(result.stdout)["sources"]] == [
        "nginx_rotated.log.2.gz", "nginx_rotated.log.1", "nginx_rotated.log"]
    assert result.stderr.splitlines() == [
        f"logscan: warning: skipped {name}: not an access log (matched by 'nginx_rotated.log*')"
        for name in ("nginx_rotated.log.1.manifest.csv", "nginx_rotated.log.2.gz.manifest.csv",
                     "nginx_rotated.log.manifest.csv")
    ]


def test_an_input_of_unknown_format_is_set_aside(runner, tmp_path):
    other = tmp_path / "notes.log"
    other.write_text("seq,server,vhost\n1,a,b\n")
    result = runner.invoke(main, [str(other), str(APACHE), "--format", "json"])
    assert result.exit_code == 4
    assert [s["path"] for s in json.loads(result.stdout)["sources"]] == [str(APACHE)]
    assert result.stderr == (f"logscan: error: {other} was not read: no known log format "
                             "fits: no format reads even the first fields of line 1 "
                             "('seq,server,vhost')\n")


def test_plot_takes_pdf(runner, tmp_path):
    out = tmp_path / "trend.pdf"
    result = _summary(runner, "--plot", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF")
    bad = _summary(runner, "--plot", str(tmp_path / "trend.gif"))
    assert bad.exit_code == 2
    assert "must end in .png, .svg or .pdf" in bad.stderr


def test_help_examples_are_quoted(runner):
    text = runner.invoke(main, ["analyze", "--help"]).stdout
    examples = [line for line in text.splitlines() if "--fail-on " in line and "logscan" in line]
    assert examples
    for line in examples:
        assert not re.search(r"--fail-on [^' ]*[<>]", line), line

