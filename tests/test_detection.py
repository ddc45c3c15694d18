"""Detection that keeps what it finds: presets with their extra fields typed, the forms servers
and hosts really write (trailing blanks, a vhost in front, JSON lines), and what the report says
about fields that stayed unnamed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from paths import SAMPLE_LOGS

import analyzer
import analyzer.errors
import analyzer.frame
from analyzer.cli.app import main
from analyzer.formats import detect_format

CLF = "[05/Nov/2017:02:01:01 -0500]"
WHEN = datetime(2017, 11, 5, 7, 1, 1, tzinfo=UTC)


def parsed(tmp_path: Path, *lines: str) -> analyzer.frame.ParsedLog:
    path = tmp_path / "access.log"
    path.write_text("".join(line + "\n" for line in lines))
    return analyzer.frame.parse_log(path)


@pytest.mark.parametrize(("name", "fmt", "columns"), [
    ("apache_vhost_allow.log", "logscan_vhost",
     {"vhost": "category", "port": "Int32", "duration": "float64", "allow": "string[pyarrow]"}),
    ("nginx_timed.log", "logscan_timed",
     {"vhost": "category", "duration": "float64", "allow": "string[pyarrow]"}),
])
def test_sample_logs_are_detected_with_every_field_named(name, fmt, columns):
    result = analyzer.frame.parse_log(SAMPLE_LOGS / name)
    assert result.sources[0].format == fmt
    assert result.rejects.empty
    assert {c: str(result.frame[c].dtype) for c in columns} == columns
    assert not [c for c in result.frame.columns if c.startswith("extra_")]


def test_readme_first_command_shows_the_allow_checks():
    result = CliRunner().invoke(main, [str(SAMPLE_LOGS / "apache_vhost_allow.log")])
    assert result.exit_code == 0, result.output
    assert "does not record the Allow header" not in result.output
    report = analyzer.analyze(SAMPLE_LOGS / "apache_vhost_allow.log")
    assert report.allow_checks.logged
    assert (report.allow_checks.responses_405, report.allow_checks.with_allow_405) == (12, 12)


def test_extra_fields_are_typed_and_reported_as_unnamed(tmp_path):
    base = f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "-" "curl/8"'
    result = parsed(tmp_path, base + ' 1234 0.5 "GET, HEAD" "a b" host.example',
                    base + ' - 0.25 "-" "-" other.example')
    assert result.rejects.empty
    assert result.sources[0].format == "combined+5extra"
    frame = result.frame
    assert {c: str(frame[c].dtype) for c in ("extra_1", "extra_2", "allow", "extra_4", "extra_5")
            } == {"extra_1": "Int64", "extra_2": "float64", "allow": "string[pyarrow]",
                  "extra_4": "string[pyarrow]", "extra_5": "string[pyarrow]"}
    assert frame["extra_1"].tolist()[0] == 1234 and frame["extra_1"].isna().tolist()[1]
    assert frame["allow"].tolist()[0] == "GET, HEAD"
    assert result.sources[0].detection == (
        "combined+5extra (2/2 sample lines matched); note: unnamed fields: extra_1 (integer), "
        "extra_2 (decimal), extra_4 (quoted text), extra_5 (word); name them by giving the format "
        "the server writes (--log-format, or --server-config with its configuration)")


def test_the_text_report_says_what_stayed_unnamed(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "-" "curl/8" 1234\n')
    result = CliRunner().invoke(main, [str(log)])
    assert result.exit_code == 0, result.output
    assert "note: unnamed fields: extra_1 (integer)" in result.output


def test_trailing_blanks_are_tolerated(tmp_path):
    result = parsed(tmp_path, f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "-" "curl/8" ',
                    f'192.0.2.2 - - {CLF} "PUT / HTTP/1.1" 501 0 "-" "curl/8"  \t')
    assert result.sources[0].format == "combined"
    assert result.rejects.empty
    assert result.frame["status"].tolist() == [200, 501]
    assert result.frame["user_agent"].tolist() == ["curl/8", "curl/8"]


@pytest.mark.parametrize(("line", "fmt", "expected"), [
    (f'www.example.org 192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612', "vhost_common",
     {"vhost": "www.example.org", "client": "192.0.2.1", "status": 200}),
    (f'www.example.org:443 192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612', "vhost_common_port",
     {"vhost": "www.example.org", "port": 443, "client": "192.0.2.1"}),
    (f'www.example.org:80 192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "-" "ua"',
     "vhost_combined", {"vhost": "www.example.org", "port": 80, "user_agent": "ua"}),
])
def test_vhost_forms(tmp_path, line, fmt, expected):
    result = parsed(tmp_path, line, line)
    assert result.sources[0].format == fmt
    row = result.frame.iloc[0]
    assert {k: row[k] for k in expected} == expected


NGINX_JSON = (
    '{"time_local":"05/Nov/2017:02:01:01 -0500","remote_addr":"192.0.2.1",'
    '"request":"%s /a HTTP/1.1","status":%d,"body_bytes_sent":612,'
    '"http_user_agent":"curl/8 \\"x\\"","request_time":0.004,"host":"a.example"}'
)
SHIPPER_JSON = (
    '{"@timestamp": "2017-11-05T02:01:01-05:00", "client_ip": "192.0.2.1", "method": "%s", '
    '"url": "/a?b=1", "protocol": "HTTP/1.1", "status_code": "%d", "bytes": 612, '
    '"user_agent": "-", "trace": "abc"}'
)


@pytest.mark.parametrize(("template", "columns"), [
    (NGINX_JSON, {"client": "192.0.2.1", "time": WHEN, "method": "FOO", "target": "/a",
                  "status": 501, "bytes": 612, "user_agent": 'curl/8 "x"', "duration": 0.004,
                  "vhost": "a.example"}),
    (SHIPPER_JSON, {"client": "192.0.2.1", "time": WHEN, "method": "FOO", "target": "/a?b=1",
                    "protocol": "HTTP/1.1", "status": 501, "bytes": 612, "user_agent": None,
                    "json_trace": "abc"}),
], ids=["nginx-escape-json", "shipper-keys"])
def test_json_lines(tmp_path, template, columns):
    result = parsed(tmp_path, template % ("GET", 200), template % ("FOO", 501))
    assert result.rejects.empty
    assert result.sources[0].format == "json_lines"
    assert "note: format inferred from the sample: {" in result.sources[0].detection
    row = result.frame.iloc[1].to_dict()
    got = {k: (None if row.get(k) is None or row.get(k) is pd.NA else row[k])
           for k in columns}
    assert got == columns


def test_json_lines_with_nested_values_are_not_guessed():
    sample = ['{"a": {"b": 1}, "status": 200}'] * 3
    with pytest.raises(analyzer.errors.FormatDetectionError):
        detect_format("x.log", sample)


def test_a_custom_format_is_inferred_and_shown(tmp_path):
    result = parsed(
        tmp_path,
        '[2015-09-02 10:42:51.003372] 10.0.0.1 "GET /a HTTP/1.1" 200 512 0.003 "curl/7"',
        '[2015-09-02 10:42:52.103372] 10.0.0.2 "PUT /b HTTP/1.1" 501 0 0.001 "-"')
    assert result.rejects.empty
    (source,) = result.sources
    assert source.format == "inferred"
    inferred = ('[%{%Y-%m-%d %H:%M:%S}t.%{usec_frac}t] %h "%r" %>s %b %{extra_1}e '
                '"%{extra_2}e"')
    assert source.detection == (
        f"inferred (2/2 sample lines matched); note: format inferred from the sample: "
        f"{inferred}; note: time: the format writes no UTC offset; read as UTC")
    assert list(result.frame.columns) == [
        "source", "line", "client", "time", "request", "method", "target", "protocol",
        "status", "bytes", "env_extra_1", "env_extra_2"]
    row = result.frame.iloc[1]
    assert (row["client"], row["time"], row["method"], row["status"], row["bytes"]) == (
        "10.0.0.2", pd.Timestamp("2015-09-02 10:42:52.103372", tz="UTC"), "PUT", 501, 0)
    # the string shown is a format the user can keep
    again = analyzer.frame.parse_log(tmp_path / "access.log", log_format=inferred)
    assert again.frame.drop(columns="source").equals(result.frame.drop(columns="source"))


def test_inference_needs_the_whole_sample_to_agree(tmp_path):
    lines = ['[2015-09-02 10:42:51] 10.0.0.1 "GET /a HTTP/1.1" 200 512'] * 3
    with pytest.raises(analyzer.errors.FormatDetectionError):
        detect_format("x.log", [*lines, "something else entirely", "and more", "x y z"])
    assert detect_format("x.log", lines).format.name == "inferred"


# -- when nothing fits: the closest format and where it stops ---------------------------------

HINT = ("give the format with --log-format NAME or --log-format 'FORMAT STRING', or the "
        "server's configuration with --server-config")
GOOD = f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "-" "curl/8"'


@pytest.mark.parametrize(("lines", "finding"), [
    # blank lines are not tried, but they are counted
    (["", "", GOOD.replace(" 200 612 ", " abc - "), GOOD.replace(" 200 612 ", " abc - ")],
     "closest is 'combined', which stops at %>s (status) reading 'abc' on line 3"),
    ([GOOD, "junk one", "junk two"],
     "closest is 'combined' (it fits 1 of 3 sample lines), which stops after %l (ident), "
     "expecting ' ', reading the end of line 2"),
    # as many fields as common: common rather than combined
    ([f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 2000 -'] * 2,
     "closest is 'common', which stops at %>s (status) reading '2000' on line 1"),
    ([f"192.0.2.1 - - {CLF}"] * 2,
     "closest is 'common', which stops after %t (time), expecting ' \"', reading the end of "
     "line 1"),
    (["\x00\x01\x02"] * 3,
     "no format reads even the first fields of line 1 ('\\x00\\x01\\x02')"),
    (["seq,server,vhost", "1,a,b"],
     "no format reads even the first fields of line 1 ('seq,server,vhost')"),
    # hostile content is cut short and escaped: no escape sequence reaches a terminal
    (['{"remote_addr": "192.0.2.1", "request": {"method": "GET"}, "status": 200}'] * 2,
     "line 1 looks like JSON, but JSON lines are read only as flat objects of string and "
     "number values (at most 48 keys): '{\"remote_addr\": \"192.0.2.1\", \"request...'"),
    ([GOOD.replace(" 200 612 ", " \x1b]0;pwned\x07\x1b[2J" + "A" * 500 + " - ")] * 2,
     "closest is 'combined', which stops at %>s (status) reading "
     "'\\x1b]0;pwned\\x07\\x1b[2JAAAAAAAAAAAAAAAAAAAAAAA...' on line 1"),
], ids=["bad-status", "mostly-junk", "fields-count", "cut-short", "binary", "csv", "json",
                                "hostile"])
def test_the_detection_error_names_the_closest_format_and_where_it_stops(
        tmp_path, lines, finding):
    path = tmp_path / "access.log"
    path.write_text("".join(line + "\n" for line in lines))
    message = f"no known log format fits {path}: {finding}; {HINT}"
    with pytest.raises(analyzer.AnalyzerError) as caught:
        analyzer.analyze(path)
    assert str(caught.value) == message
    assert isinstance(caught.value, analyzer.errors.FormatDetectionError)
    with pytest.raises(analyzer.errors.FormatDetectionError) as again:
        analyzer.read_log(path)
    assert str(again.value) == message
    result = CliRunner().invoke(main, [str(path)])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


def test_the_detection_error_names_what_is_left_over():
    common = analyzer.LogFormat.resolve("common")
    line = f'192.0.2.1 - - {CLF} "GET / HTTP/1.1" 200 612 "unclosed'
    with pytest.raises(analyzer.errors.FormatDetectionError) as caught:
        detect_format("x.log", [line], [common])
    assert caught.value.finding == ("closest is 'common', which stops after %b (bytes), where "
                                    "line 1 goes on with ' \"unclosed'")


def test_the_detection_error_reads_a_bounded_part_of_a_huge_line(tmp_path):
    path = tmp_path / "access.log"
    path.write_text(f'192.0.2.1 - - {CLF} "GET /{"a" * 100_000} HTTP/1.1" abc -\n')
    with pytest.raises(analyzer.errors.FormatDetectionError) as caught:
        analyzer.analyze(path)
    assert caught.value.finding == (
        "closest is 'common', which stops nowhere in the first 16384 characters of line 1 (it "
        "reads them up to %r (request))")
