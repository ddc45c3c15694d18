"""Every form of Apache's time directive and the values servers write as ``-``: a line as the
server writes it -> the typed fields (times as UTC instants, ``-`` as null).

Forms from httpd 2.4's mod_log_config (log_request_time, log_status, the status conditions),
mod_ssl (%{VAR}x, %{name}c) and mod_logio (%^FB), with httpd's case rules for arguments.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_formats import one_row, parse_lines

from analyzer import LogFormat
from analyzer.errors import UnknownFormatError


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


CLF = "[05/Nov/2017:02:01:01 -0500]"
CLF_UTC = utc(2017, 11, 5, 7, 1, 1)

CASES = [
    # the forms that write the usual CLF time (an empty format, begin/end alone)
    pytest.param("%t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t"),
    pytest.param("%{}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-empty-format"),
    pytest.param("%{begin}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-begin"),
    pytest.param("%{end}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-end"),
    pytest.param("%{begin:}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-begin-empty"),
    pytest.param("%{end:}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-end-empty"),
    pytest.param("%200{}t %>s", f"{CLF} 200", {"time": CLF_UTC}, id="t-conditional-empty"),
    pytest.param("%{begin}t %{end}t %>s", f"{CLF} [05/Nov/2017:02:01:03 -0500] 200",
                 {"time": CLF_UTC, "time_end": utc(2017, 11, 5, 7, 1, 3)}, id="t-begin-end"),
    # a condition that fails: "-"
    pytest.param("%200t %>s", "- 404", {"time": None, "status": 404}, id="t-condition-fails"),
    pytest.param("%200{}t %>s", "- 404", {"time": None, "status": 404},
                 id="t-empty-condition-fails"),
    pytest.param("%!200{%Y-%m-%d %T %z}t %>s", "- 200", {"time": None},
                 id="strftime-condition-fails"),
    pytest.param("%>s %400,501{User-agent}i", "200 -", {"user_agent": None},
                 id="header-condition-fails-unquoted"),
    pytest.param("%>s %!200D", "200 -", {"duration": None}, id="duration-condition-fails"),
    pytest.param("%>s %404{sec}t", "200 -", {"time": None}, id="epoch-condition-fails"),
    # a request without a status
    pytest.param('%h %t "%r" %>s %b', f'192.0.2.1 {CLF} "-" - -',
                 {"status": None, "bytes": None, "time": CLF_UTC}, id="status-dash"),
    # a time built from several %{...}t pieces
    pytest.param("%{%Y-%m-%d}t %{%H:%M:%S}t %{%z}t %>s", "2017-11-05 02:01:01 -0500 200",
                 {"time": CLF_UTC}, id="pieces-date-time-zone"),
    pytest.param("[%{%d/%b/%Y}t:%{%T}t %{%z}t] %>s", "[05/Nov/2017:02:01:01 -0500] 200",
                 {"time": CLF_UTC}, id="pieces-clf"),
    pytest.param("%{%F}t %{%T}t.%{usec_frac}t %{%z}t %>s",
                 "2017-11-05 02:01:01.000250 +0130 200",
                 {"time": datetime(2017, 11, 5, 0, 31, 1, 250, tzinfo=UTC)},
                 id="pieces-usec-frac"),
    pytest.param("%{%F}t %{%T}t %>s", "2017-11-05 02:01:01 200",
                 {"time": utc(2017, 11, 5, 2, 1, 1)}, id="pieces-no-zone-utc"),
    pytest.param("%{begin:%F}t %{begin:%T}t %{end:%F}t %{end:%T}t %>s",
                 "2017-11-05 02:01:01 2017-11-05 02:01:04 200",
                 {"time": utc(2017, 11, 5, 2, 1, 1), "time_end": utc(2017, 11, 5, 2, 1, 4)},
                 id="pieces-begin-end"),
    pytest.param("%{%a %b %d}t %>s", "Sun Nov 05 200", {"time": None, "status": 200},
                 id="no-year-null"),
    pytest.param("%{%b %d %H:%M:%S}t %>s", "Nov 05 02:01:01 200", {"time": None},
                 id="syslog-like-no-year"),
    pytest.param("%{%d/%m/%y %I:%M:%S %p}t %>s", "05/11/17 02:01:01 PM 200",
                 {"time": utc(2017, 11, 5, 14, 1, 1)}, id="two-digit-year-12h"),
    pytest.param("%{%A, %d %B %Y %H:%M:%S %z}t %>s", "Sunday, 05 November 2017 02:01:01 -0500 200",
                 {"time": CLF_UTC}, id="long-names"),
    pytest.param("%{sec}t %{msec_frac}t %>s", "1509865261 042 200",
                 {"time": datetime(2017, 11, 5, 7, 1, 1, tzinfo=UTC)}, id="sec-with-frac-apart"),
    # httpd compares these arguments case-insensitively
    pytest.param("%{MS}T %>s", "250 200", {"duration": 0.25}, id="T-MS"),
    pytest.param("%{Us}T %>s", "250000 200", {"duration": 0.25}, id="T-Us"),
    pytest.param("%{REMOTE}p %{Local}p", "51234 443", {"remote_port": 51234, "port": 443},
                 id="p-REMOTE"),
    pytest.param("%{TID}P %{PID}P", "140120579262208 1234",
                 {"tid": 140120579262208, "pid": 1234}, id="P-TID"),
    pytest.param("%{hextid}P %>s", "7f6e2c1f4700 200", {"tid": "7f6e2c1f4700"}, id="P-hextid"),
    # mod_ssl: httpd-ssl.conf's ssl_request_log
    pytest.param('%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b',
                 f'{CLF} 192.0.2.1 TLSv1.3 TLS_AES_256_GCM_SHA384 "GET / HTTP/1.1" 612',
                 {"time": CLF_UTC, "ssl_protocol": "TLSv1.3",
                  "ssl_cipher": "TLS_AES_256_GCM_SHA384", "method": "GET", "bytes": 612},
                 id="ssl-request-log"),
    pytest.param('%h "%{SSL_CLIENT_S_DN}x" %>s', '192.0.2.1 "CN=client, O=Example" 200',
                 {"ssl_client_s_dn": "CN=client, O=Example"}, id="ssl-dn"),
    pytest.param("%h %{SSL_PROTOCOL}x %>s", "192.0.2.1 - 200", {"ssl_protocol": None},
                 id="ssl-plain-connection"),
    pytest.param("%h %{version}c %{cipher}c %>s", "192.0.2.1 TLSv1.2 ECDHE-RSA-AES128-SHA 200",
                 {"ssl_c_version": "TLSv1.2", "ssl_c_cipher": "ECDHE-RSA-AES128-SHA"},
                 id="ssl-c"),
    # mod_logio and trailers
    pytest.param("%>s %I %O %S %^FB", "200 381 1024 1405 2312",
                 {"bytes_received": 381, "bytes": 1024, "bytes_transferred": 1405,
                  "first_byte": 0.002312}, id="logio"),
    pytest.param('%>s "%{Grpc-Status}^to"', '200 "0"', {"trailer_out_grpc_status": "0"},
                 id="trailer-out"),
]


@pytest.mark.parametrize(("fmt", "line", "expected"), CASES)
def test_directive(tmp_path, fmt, line, expected):
    row = one_row(tmp_path, LogFormat.apache(fmt), line)
    assert {k: _none_for_nat(row.get(k, "<absent>")) for k in expected} == expected


def _none_for_nat(value: Any) -> Any:
    return None if value is pd.NaT else value


def test_pieces_leave_no_part_columns(tmp_path):
    row = one_row(tmp_path, LogFormat.apache("%{%F}t %{%T}t %{%z}t %>s"),
                  "2017-11-05 02:01:01 -0500 200")
    assert sorted(row) == ["line", "source", "status", "time"]


def test_pieces_of_a_bad_date_reject_the_line(tmp_path):
    parsed = parse_lines(tmp_path, LogFormat.apache("%{%F}t %{%T}t %>s"),
                         "2017-11-05 02:01:01 200", "2017-13-45 02:01:01 200")
    assert len(parsed.frame) == 1
    assert parsed.rejects[["line", "reason"]].to_dict("records") == [
        {"line": 2, "reason": "bad_time"}]


@pytest.mark.parametrize(("fmt", "note"), [
    ("%{%a %b %d}t %>s", "time: the format writes no year, so the time is left empty"),
    ("%{%F}t %{%T}t %>s", "time: the format writes no UTC offset; read as UTC"),
    ("%{%d/%b/%Y %T}t %>s", "time: the format writes no UTC offset; read as UTC"),
])
def test_formats_say_what_their_times_lack(fmt, note):
    assert LogFormat.apache(fmt).notes == (note,)


def test_complete_times_need_no_note():
    assert LogFormat.apache("%{%F}t %{%T}t %{%z}t %>s").notes == ()
    assert LogFormat.resolve("combined").notes == ()


# Formats that used to hand an empty format to Arrow's strptime, which crashed the interpreter:
# parsed in a child process, so that a crash fails the test instead of ending the run
_CHILD = """
import sys
import analyzer
import analyzer.frame
result = analyzer.frame.parse_log(sys.argv[1], log_format=sys.argv[2])
print(len(result.frame), len(result.rejects), result.frame["time"].iloc[0].isoformat())
"""


@pytest.mark.parametrize("fmt", ["%{}t", "%{begin:}t", "%{end:}t", "%200{}t", "%{end}t"])
def test_empty_time_formats_parse_in_a_child(tmp_path: Path, fmt: str):
    log = tmp_path / "a.log"
    log.write_text(f"192.0.2.1 {CLF} 200\n")
    done = subprocess.run([sys.executable, "-c", _CHILD, str(log), f"%h {fmt} %>s"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "0", "2017-11-05T07:01:01+00:00"]


@pytest.mark.parametrize(("fmt", "message"), [
    ("%{%Q}t", "strftime code %Q unsupported"),
    ("%{%}t", "strftime code % unsupported"),
    ("%{ }t", "a time format without a strftime code"),
    ("%{just text}t", "a time format without a strftime code"),
    ("%{%F|%T}t", "'|' in a time format"),
    ("%{}x", "needs a name in braces"),
])
def test_bad_time_formats_are_clear_errors(fmt: str, message: str):
    with pytest.raises(UnknownFormatError, match=message.replace("|", r"\|")):
        LogFormat.apache(fmt)


def test_bad_time_formats_exit_cleanly_from_the_cli(tmp_path: Path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    log = tmp_path / "a.log"
    log.write_text(f"192.0.2.1 {CLF} 200\n")
    result = CliRunner().invoke(main, ["--log-format", "%h %{ }t %>s", str(log)])
    assert result.exit_code != 0
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output

