"""Format strings: every Apache directive and NGINX variable family, raw line -> typed fields.

Each table pairs a format and a raw line with the fields it must give (apachelogs' habit). The
lines are written to a file and read back with ``analyzer.frame.parse_log``, so they go through the
whole pipeline: sources, the fast tokenizer path or the exact regex path, escapes, typing.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import SAMPLE_LOGS, real_log_param

import analyzer
import analyzer.frame
from analyzer import PRESETS, LogFormat
from analyzer.errors import UnknownFormatError
from analyzer.parse import request_line


def parse_lines(tmp_path: Path, fmt: str | LogFormat | None, *lines: str | bytes):
    path = tmp_path / "access.log"
    path.write_bytes(b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines))
    return analyzer.frame.parse_log(path, log_format=fmt)


def one_row(tmp_path: Path, fmt: str | LogFormat | None, line: str | bytes) -> dict[str, Any]:
    parsed = parse_lines(tmp_path, fmt, line)
    assert parsed.rejects.empty, parsed.rejects.to_dict("records")
    assert len(parsed.frame) == 1
    return {k: _plain(v) for k, v in parsed.frame.iloc[0].to_dict().items()}


def _plain(value: Any) -> Any:
    """pandas scalars -> comparable Python values (NA -> None, Timestamp -> datetime)."""
    if value is pd.NA or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check(row: dict[str, Any], expected: dict[str, Any]) -> None:
    got = {k: row.get(k, "<absent>") for k in expected}
    assert got == expected


CLF_TIME = "[10/Oct/2000:13:55:36 -0700]"
CLF_UTC = utc(2000, 10, 10, 20, 55, 36)

# (format, line, expected fields); absent columns are checked separately
APACHE = [
    pytest.param("%h", "192.0.2.7", {"client": "192.0.2.7"}, id="h-ipv4"),
    pytest.param("%h", "2001:db8::1", {"client": "2001:db8::1"}, id="h-ipv6"),
    pytest.param("%h", "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                 {"client": "2001:0db8:85a3:0000:0000:8a2e:0370:7334"}, id="h-ipv6-full"),
    pytest.param("%h", "crawl-66-249-73-135.googlebot.com",
                 {"client": "crawl-66-249-73-135.googlebot.com"}, id="h-hostname"),
    pytest.param("%a %h", "::1 example.org", {"client": "example.org", "client_ip": "::1"},
                 id="a-and-h"),
    pytest.param("%a", "fe80::1%eth0", {"client": "fe80::1%eth0"}, id="a-ipv6-zone"),
    pytest.param("%a %{c}a", "203.0.113.9 10.0.0.1",
                 {"client": "203.0.113.9", "peer_ip": "10.0.0.1"}, id="c-a"),
    pytest.param("%A", "127.0.0.1", {"local_ip": "127.0.0.1"}, id="A"),
    pytest.param("%h %l %u", "1.2.3.4 - -", {"ident": None, "user": None}, id="l-u-dash"),
    pytest.param("%h %l %u", "1.2.3.4 ident7 bob", {"ident": "ident7", "user": "bob"},
                 id="l-u-values"),
    pytest.param("%u %>s", "\\x7f\\\\x 200", {"user": "\x7f\\x"}, id="u-escaped"),
    pytest.param("%h %l %u %t", "1.2.3.4 - John Smith " + "[01/Jan/2025:00:00:00 +0000]",
                 {"user": "John Smith"}, id="u-with-spaces"),
    pytest.param("%h %l %u %t", '1.2.3.4 - "" [01/Jan/2025:00:00:00 +0000]', {"user": ""},
                 id="u-empty-logged-as-quotes"),
    pytest.param("%h %l %u %t", '1.2.3.4 - \\"\\" [01/Jan/2025:00:00:00 +0000]',
                 {"user": '""'}, id="u-two-quotes"),
    pytest.param("%t", CLF_TIME, {"time": CLF_UTC}, id="t-minus0700"),
    pytest.param("%t", "[22/Jan/2019:03:56:14 +0330]", {"time": utc(2019, 1, 22, 0, 26, 14)},
                 id="t-plus0330"),
    pytest.param("%t", "[01/Jan/2025:00:00:00 +0000]", {"time": utc(2025, 1, 1)}, id="t-utc"),
    pytest.param("%{%Y-%m-%dT%H:%M:%S %z}t", "2025-03-01T12:00:00 +0100",
                 {"time": utc(2025, 3, 1, 11)}, id="t-strftime"),
    pytest.param("%{%d/%b/%Y %T}t", "05/Feb/2024 23:59:59", {"time": utc(2024, 2, 5, 23, 59, 59)},
                 id="t-strftime-no-zone-is-utc"),
    pytest.param("[%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t]", "[05/Feb/2024 23:59:59.042 -0130]",
                 {"time": datetime(2024, 2, 6, 1, 29, 59, 42000, tzinfo=UTC)},
                 id="t-msec_frac-and-zone"),
    pytest.param("%{%d/%b/%Y %T}t.%{usec_frac}t", "05/Feb/2024 23:59:59.000007",
                 {"time": datetime(2024, 2, 5, 23, 59, 59, 7, tzinfo=UTC)}, id="t-usec_frac"),
    pytest.param("%{sec}t", "1700000000", {"time": utc(2023, 11, 14, 22, 13, 20)}, id="t-sec"),
    pytest.param("%{msec}t", "1700000000123",
                 {"time": datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)}, id="t-msec"),
    pytest.param("%{usec}t", "1700000000123456",
                 {"time": datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)}, id="t-usec"),
    pytest.param("%{begin:msec}t", "1700000000001",
                 {"time": datetime(2023, 11, 14, 22, 13, 20, 1000, tzinfo=UTC)},
                 id="t-begin-msec"),
    pytest.param('"%r"', '"GET /index.html HTTP/1.1"',
                 {"request": "GET /index.html HTTP/1.1", "method": "GET",
                  "target": "/index.html", "protocol": "HTTP/1.1"}, id="r"),
    pytest.param("%m %U%q %H", "POST /a/b?x=1&y=2 HTTP/1.0",
                 {"method": "POST", "target": "/a/b?x=1&y=2", "path": "/a/b",
                  "query": "?x=1&y=2", "protocol": "HTTP/1.0"}, id="m-U-q-H"),
    pytest.param("%m %U%q %H", "GET /a/b HTTP/1.0",
                 {"method": "GET", "target": "/a/b", "path": "/a/b", "query": "",
                  "protocol": "HTTP/1.0"}, id="U-q-no-query"),
    pytest.param('"%m %U%q %H"', '"GET /a?b HTTP/2.0"',
                 {"target": "/a?b", "path": "/a", "query": "?b", "protocol": "HTTP/2.0"},
                 id="U-q-quoted"),
    pytest.param("%>s", "501", {"status": 501}, id="final-status"),
    pytest.param("%s %>s", "302 200", {"status": 200, "original_status": 302}, id="s-and-final"),
    pytest.param("%<s %>s", "302 404", {"status": 404, "original_status": 302}, id="lt-s"),
    pytest.param("%s", "405", {"status": 405}, id="s-alone"),
    pytest.param("%b", "-", {"bytes": None}, id="b-dash"),
    pytest.param("%b", "1234", {"bytes": 1234}, id="b"),
    pytest.param("%B", "0", {"bytes": 0}, id="B"),
    pytest.param("%O", "527", {"bytes": 527}, id="O"),
    pytest.param("%b %O", "12 527", {"bytes": 12, "bytes_sent": 527}, id="b-and-O"),
    pytest.param("%I %O %S", "100 527 627",
                 {"bytes_received": 100, "bytes": 527, "bytes_transferred": 627}, id="I-O-S"),
    pytest.param("%D", "1500", {"duration": 0.0015}, id="D-microseconds"),
    pytest.param("%T", "3", {"duration": 3.0}, id="T-seconds"),
    pytest.param("%{ms}T", "250", {"duration": 0.25}, id="T-ms"),
    pytest.param("%{us}T", "250000", {"duration": 0.25}, id="T-us"),
    pytest.param("%D %T", "2500000 2", {"duration": 2.5, "duration_t": 2.0}, id="D-and-T"),
    pytest.param("%v", "www.example.com", {"vhost": "www.example.com"}, id="v"),
    pytest.param("%V", "alias.example.com", {"vhost": "alias.example.com"}, id="V"),
    pytest.param("%v %V", "a.example b.example", {"vhost": "a.example",
                                                  "server_name": "b.example"}, id="v-and-V"),
    pytest.param("%v:%p", "www.example.com:443", {"vhost": "www.example.com", "port": 443},
                 id="v-p"),
    pytest.param("%{canonical}p %{local}p %{remote}p", "80 8080 51234",
                 {"port": 80, "local_port": 8080, "remote_port": 51234}, id="p-variants"),
    pytest.param("%P %{tid}P", "1234 140120579262208", {"pid": 1234, "tid": 140120579262208},
                 id="P"),
    pytest.param("%k", "3", {"keepalive": 3}, id="k"),
    pytest.param("%L", "ZZ3Ge7fH8wAAAQ", {"log_id": "ZZ3Ge7fH8wAAAQ"}, id="L"),
    pytest.param("%X", "+", {"connection_status": "+"}, id="X"),
    pytest.param("%R", "proxy-server", {"handler": "proxy-server"}, id="R"),
    pytest.param('"%{Referer}i" "%{User-Agent}i"', '"https://ex.org/" "curl/8.5.0"',
                 {"referer": "https://ex.org/", "user_agent": "curl/8.5.0"}, id="referer-ua"),
    pytest.param('"%{Referer}i" "%{User-Agent}i"', '"-" "-"',
                 {"referer": None, "user_agent": None}, id="referer-ua-dash"),
    pytest.param('"%{Referer}i" "%{User-Agent}i"', '"" ""', {"referer": "", "user_agent": ""},
                 id="referer-ua-empty"),
    pytest.param('"%{X-Forwarded-For}i"', '"198.51.100.1, 10.0.0.2"',
                 {"header_x_forwarded_for": "198.51.100.1, 10.0.0.2"}, id="i-other-header"),
    pytest.param('"%{Allow}o"', '"GET, HEAD, OPTIONS"', {"allow": "GET, HEAD, OPTIONS"},
                 id="o-allow"),
    pytest.param('"%{Allow}o"', '""', {"allow": ""}, id="o-allow-empty"),
    pytest.param('"%{Content-Type}o"', '"text/html"', {"sent_http_content_type": "text/html"},
                 id="o-other"),
    pytest.param("%{UNIQUE_ID}e", "ZZ3Ge7fH", {"env_unique_id": "ZZ3Ge7fH"}, id="e"),
    pytest.param("%{ratio}n", "42", {"note_ratio": "42"}, id="n"),
    pytest.param("%{session}C", "abc%20def", {"cookie_session": "abc%20def"}, id="C"),
    pytest.param('%>s "%400,501{User-agent}i"', '501 "curl/8"', {"user_agent": "curl/8"},
                 id="conditional-logged"),
    pytest.param('%>s "%400,501{User-agent}i"', '200 "-"', {"user_agent": None},
                 id="conditional-other-status"),
    pytest.param('%>s "%!200,304{Referer}i"', '404 "https://a/"', {"referer": "https://a/"},
                 id="negated-conditional"),
    pytest.param("%f %>s", "/var/www/a b.html 200", {"filename": "/var/www/a b.html"},
                 id="f-with-space"),
    pytest.param("%h %% %>s", "1.2.3.4 % 200", {"status": 200}, id="literal-percent"),
]


@pytest.mark.parametrize(("fmt", "line", "expected"), APACHE)
def test_apache_directives(tmp_path, fmt, line, expected):
    check(one_row(tmp_path, LogFormat.apache(fmt), line), expected)


NGINX_TIME = "[10/Oct/2000:13:55:36 -0700]"

NGINX = [
    pytest.param("$remote_addr", "192.0.2.7", {"client": "192.0.2.7"}, id="remote_addr"),
    pytest.param("$remote_addr", "2001:db8::1", {"client": "2001:db8::1"}, id="remote_addr-v6"),
    pytest.param("$remote_addr", "unix:", {"client": "unix:"}, id="remote_addr-unix"),
    pytest.param("$remote_addr - $remote_user", "1.2.3.4 - -", {"user": None}, id="user-dash"),
    pytest.param("$remote_addr - $remote_user", "1.2.3.4 - alice", {"user": "alice"},
                 id="user"),
    pytest.param("$remote_addr - $remote_user [$time_local]",
                 "1.2.3.4 - Jo Bloggs [01/Jan/2025:00:00:00 +0000]", {"user": "Jo Bloggs"},
                 id="user-with-spaces"),
    pytest.param("[$time_local]", NGINX_TIME, {"time": CLF_UTC}, id="time_local"),
    pytest.param("$time_iso8601", "2000-10-10T13:55:36-07:00", {"time": CLF_UTC},
                 id="time_iso8601"),
    pytest.param("$time_iso8601", "2019-01-22T03:56:14+03:30",
                 {"time": utc(2019, 1, 22, 0, 26, 14)}, id="time_iso8601-plus0330"),
    pytest.param("$msec", "1700000000.123",
                 {"time": datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)}, id="msec"),
    pytest.param("[$time_local] $msec", "[10/Oct/2000:13:55:36 -0700] 971186136.500",
                 {"time": CLF_UTC, "msec": datetime(2000, 10, 10, 13, 55, 36, 500000,
                                                    tzinfo=UTC)}, id="time-and-msec"),
    pytest.param('"$request"', '"GET /a?b=1 HTTP/1.1"',
                 {"request": "GET /a?b=1 HTTP/1.1", "method": "GET", "target": "/a?b=1",
                  "protocol": "HTTP/1.1"}, id="request"),
    pytest.param("$request_method $request_uri $server_protocol", "PUT /x?y=z HTTP/1.1",
                 {"method": "PUT", "target": "/x?y=z", "protocol": "HTTP/1.1"},
                 id="method-uri-protocol"),
    pytest.param("$request_method $uri?$args", "GET /x?y=z",
                 {"method": "GET", "path": "/x", "query": "y=z", "target": "/x?y=z"},
                 id="uri-args"),
    pytest.param("$request_method $uri $args", "GET /x -",
                 {"path": "/x", "query": None, "target": "/x"}, id="uri-no-args"),
    pytest.param('$status "$request_method" "$server_protocol"', '400 "-" "-"',
                 {"status": 400, "method": None, "protocol": None}, id="method-protocol-dash"),
    pytest.param('$status "$server_protocol"', '505 ""', {"status": 505, "protocol": None},
                 id="protocol-empty-on-505"),
    pytest.param("$status", "009", {"status": 9}, id="status-http09"),
    pytest.param("$status $body_bytes_sent", "200 0", {"status": 200, "bytes": 0},
                 id="body_bytes_sent"),
    pytest.param("$bytes_sent", "612", {"bytes": 612}, id="bytes_sent"),
    pytest.param("$body_bytes_sent $bytes_sent", "10 300", {"bytes": 10, "bytes_sent": 300},
                 id="both-bytes"),
    pytest.param("$request_length", "381", {"request_length": 381}, id="request_length"),
    pytest.param("$request_time", "0.004", {"duration": 0.004}, id="request_time"),
    pytest.param("$upstream_addr $upstream_status", "10.0.0.1:80 502",
                 {"upstream_addr": "10.0.0.1:80", "upstream_status": "502"}, id="upstream"),
    pytest.param('"$upstream_response_time"', '"0.004, 0.010 : 0.002"',
                 {"upstream_response_time": "0.004, 0.010 : 0.002"}, id="upstream-list"),
    pytest.param("$upstream_connect_time", "-", {"upstream_connect_time": None},
                 id="upstream-dash"),
    pytest.param("$host", "www.example.com", {"vhost": "www.example.com"}, id="host"),
    pytest.param("$host $server_name", "a.example b.example",
                 {"vhost": "a.example", "server_name": "b.example"}, id="host-server_name"),
    pytest.param("$server_name:$server_port", "b.example:8443",
                 {"vhost": "b.example", "port": 8443}, id="server_name-port"),
    pytest.param("$scheme", "https", {"scheme": "https"}, id="scheme"),
    pytest.param('"$http_referer" "$http_user_agent"', '"https://ex.org/" "Wget/1.21"',
                 {"referer": "https://ex.org/", "user_agent": "Wget/1.21"}, id="http-ref-ua"),
    pytest.param('"$http_x_forwarded_for"', '"198.51.100.1"',
                 {"header_x_forwarded_for": "198.51.100.1"}, id="http-other"),
    pytest.param('"$sent_http_allow"', '"-"', {"allow": None}, id="sent_http_allow"),
    pytest.param('"$sent_http_content_type"', '"text/html; charset=utf-8"',
                 {"sent_http_content_type": "text/html; charset=utf-8"}, id="sent_http-other"),
    pytest.param('"$cookie_session"', '"abc123"', {"cookie_session": "abc123"}, id="cookie"),
    pytest.param("$connection $connection_requests $pipe", "1042 3 p",
                 {"connection": 1042, "connection_requests": 3, "pipe": "p"}, id="connection"),
    pytest.param("$remote_addr ${status}x", "1.2.3.4 200x", {"status": 200}, id="braces"),
    pytest.param("${remote_addr}-${remote_user}", "1.2.3.4-bob",
                 {"client": "1.2.3.4", "user": "bob"}, id="braces-adjacent"),
    pytest.param("$remote_addr $my_custom_var", "1.2.3.4 hello",
                 {"my_custom_var": "hello"}, id="unknown-variable"),
    pytest.param("$remote_addr $geoip_country_code", "1.2.3.4 -",
                 {"geoip_country_code": None}, id="unknown-variable-dash"),
]


@pytest.mark.parametrize(("fmt", "line", "expected"), NGINX)
def test_nginx_variables(tmp_path, fmt, line, expected):
    check(one_row(tmp_path, LogFormat.nginx(fmt), line), expected)


# -- escapes ---------------------------------------------------------------------------------

APACHE_REQUEST_UA = 'x "%r" "%{User-Agent}i"'
NGINX_REQUEST_UA = 'x "$request" "$http_user_agent"'

ESCAPES = [
    # Apache: ap_escape_logitem
    pytest.param(APACHE_REQUEST_UA, r'x "GET /a\"b HTTP/1.1" "ua"', "GET /a\"b HTTP/1.1", "ua",
                 id="apache-quote"),
    pytest.param(APACHE_REQUEST_UA, r'x "GET /a\\b HTTP/1.1" "u\\a"', "GET /a\\b HTTP/1.1",
                 "u\\a", id="apache-backslash"),
    pytest.param(APACHE_REQUEST_UA, r'x "GET /\\\" HTTP/1.1" "-"', 'GET /\\" HTTP/1.1', None,
                 id="apache-backslash-then-quote"),
    pytest.param(APACHE_REQUEST_UA, r'x "\x16\x03\x01\x02\x00" "-"', "\x16\x03\x01\x02\x00", None,
                 id="apache-tls-bytes"),
    pytest.param(APACHE_REQUEST_UA, r'x "GET /caf\xc3\xa9 HTTP/1.1" "\xe2\x9c\x93"',
                 "GET /café HTTP/1.1", "✓", id="apache-utf8-bytes"),
    pytest.param(APACHE_REQUEST_UA, r'x "GET / HTTP/1.1" "a\tb\nc\rd\ve\bf"', "GET / HTTP/1.1",
                 "a\tb\nc\rd\ve\bf", id="apache-c-escapes"),
    pytest.param(APACHE_REQUEST_UA, r'x "GET /\xff HTTP/1.1" "-"', "GET /\\xff HTTP/1.1", None,
                 id="apache-invalid-utf8-kept-as-text"),
    pytest.param(APACHE_REQUEST_UA, r'x "\"" "\"\""', '"', '""', id="apache-only-quotes"),
    # NGINX default escaping
    pytest.param(NGINX_REQUEST_UA, r'x "GET /a\x22b\x5Cc HTTP/1.1" "ua\x22\x01"',
                 'GET /a"b\\c HTTP/1.1', 'ua"\x01', id="nginx-quote-backslash"),
    pytest.param(NGINX_REQUEST_UA, r'x "\x16\x03\x01\x00\xFC" "-"', "\x16\x03\x01\x00\\xfc",
                 None, id="nginx-tls-bytes"),
    pytest.param(NGINX_REQUEST_UA, r'x "GET /caf\xC3\xA9 HTTP/1.1" "-"', "GET /café HTTP/1.1",
                 None, id="nginx-utf8-bytes"),
    pytest.param(NGINX_REQUEST_UA, r'x "GET /a\x5Cx41 HTTP/1.1" "-"', "GET /a\\x41 HTTP/1.1",
                 None, id="nginx-escaped-backslash-before-x"),
    pytest.param(NGINX_REQUEST_UA, 'x "GET /a b c HTTP/1.1" "Mozilla/5.0 (X11)"',
                 "GET /a b c HTTP/1.1", "Mozilla/5.0 (X11)", id="nginx-spaces-unescaped"),
    # NGINX escape=json
    pytest.param("escape=json " + NGINX_REQUEST_UA,
                 r'x "GET /a\"b\\c HTTP/1.1" "t\tn\nu\u0001"', 'GET /a"b\\c HTTP/1.1',
                 "t\tn\nu\x01", id="json"),
    pytest.param("escape=json " + NGINX_REQUEST_UA, 'x "GET /café HTTP/1.1" "✓"',
                 "GET /café HTTP/1.1", "✓", id="json-raw-utf8"),
    pytest.param("escape=json " + NGINX_REQUEST_UA, r'x "GET / HTTP/1.1" "\u001f\b\f\r"',
                 "GET / HTTP/1.1", "\x1f\b\f\r", id="json-controls"),
    # escape=none: raw bytes, nothing decoded
    pytest.param("escape=none " + NGINX_REQUEST_UA, r'x "GET /a\x22 HTTP/1.1" "a"b"',
                 r"GET /a\x22 HTTP/1.1", 'a"b', id="none"),
]


@pytest.mark.parametrize(("fmt", "line", "request_line", "user_agent"), ESCAPES)
def test_escapes_are_decoded(tmp_path, fmt, line, request_line, user_agent):
    row = one_row(tmp_path, fmt, line)
    assert (row["request"], row["user_agent"]) == (request_line, user_agent)


def test_escaped_values_repeated_in_a_block_decode_row_by_row(tmp_path):
    """Each distinct escaped value is decoded once per block; every row still gets its own."""
    cases = [p.values for p in ESCAPES if p.values[0] == APACHE_REQUEST_UA]
    order = [0, 1, 0, 2, 1, 1, 0, 3, 2, 0]
    parsed = parse_lines(tmp_path, APACHE_REQUEST_UA, *[cases[i][1] for i in order])
    assert parsed.rejects.empty
    got = [(_plain(r), _plain(u))
           for r, u in zip(parsed.frame["request"], parsed.frame["user_agent"], strict=True)]
    assert got == [(cases[i][2], cases[i][3]) for i in order]


def test_json_escape_missing_variables_are_null(tmp_path):
    fmt = ('escape=json {"a":"$remote_addr","u":"$remote_user","s":$status,'
           '"b":"$body_bytes_sent","r":"$http_referer","rt":"$upstream_response_time"}')
    row = one_row(tmp_path, fmt, '{"a":"1.2.3.4","u":"","s":200,"b":"","r":"","rt":""}')
    check(row, {"client": "1.2.3.4", "user": None, "status": 200, "bytes": None,
                "referer": None, "upstream_response_time": None})


def test_escape_modes_written_in_the_format_or_given(tmp_path):
    assert LogFormat.nginx("escape=json '$remote_addr \"$request\"';").escape == "json"
    assert LogFormat.nginx("escape=default $remote_addr").escape == "nginx"
    assert LogFormat.nginx("escape=none $remote_addr").escape == "none"
    assert LogFormat.nginx("$remote_addr", escape="json").escape == "json"
    assert LogFormat.apache("%h").escape == "apache"


# -- request lines ---------------------------------------------------------------------------

REQUESTS = [
    pytest.param("GET /index.html HTTP/1.1", "GET", "/index.html", "HTTP/1.1", id="normal"),
    pytest.param("GET /", "GET", "/", None, id="version-less"),
    pytest.param("GET / HTTP/0.9", "GET", "/", "HTTP/0.9", id="http-0.9"),
    pytest.param("GET / HTTP/1.2", "GET", "/", "HTTP/1.2", id="http-1.2"),
    pytest.param("GET / HTTP/2.0", "GET", "/", "HTTP/2.0", id="http-2.0"),
    pytest.param("GET / HTTP/3.0", "GET", "/", "HTTP/3.0", id="http-3.0"),
    pytest.param("PRI * HTTP/2.0", "PRI", "*", "HTTP/2.0", id="h2-preface"),
    pytest.param("get /a HTTP/1.1", "get", "/a", "HTTP/1.1", id="lowercase-method-kept"),
    pytest.param("FOO /a HTTP/1.1", "FOO", "/a", "HTTP/1.1", id="unknown-method"),
    pytest.param("GET2 /x", "GET2", "/x", None, id="odd-method-no-version"),
    pytest.param("M-SEARCH * HTTP/1.1", "M-SEARCH", "*", "HTTP/1.1", id="token-method"),
    pytest.param("CONNECT example.com:443 HTTP/1.1", "CONNECT", "example.com:443", "HTTP/1.1",
                 id="connect"),
    pytest.param("GET http://ex.org/ HTTP/1.0", "GET", "http://ex.org/", "HTTP/1.0",
                 id="absolute-uri"),
    pytest.param("GET /a b c HTTP/1.1", "GET", "/a b c", "HTTP/1.1", id="spaces-in-target"),
    pytest.param("GET /a b", "GET", "/a b", None, id="spaces-no-version"),
    pytest.param("GET  /  HTTP/1.1", "GET", "/", "HTTP/1.1", id="extra-spaces"),
    pytest.param("GET / HTTP/1.1 ", "GET", "/", "HTTP/1.1", id="trailing-space"),
    pytest.param("GET / junk/1.0", "GET", "/", "junk/1.0", id="other-protocol-token"),
    pytest.param("GET / HTTP/1.1 x", "GET", "/ HTTP/1.1 x", None, id="four-parts"),
    pytest.param("-", None, None, None, id="dash"),
    pytest.param("", None, None, None, id="empty"),
    pytest.param("GET", None, None, None, id="method-only"),
    pytest.param("GET ", "GET", None, None, id="method-and-space"),
    pytest.param(r"\x16\x03\x01\x02\x00\x01", None, None, None, id="tls-handshake"),
    pytest.param(r"\x16\x03\x01 \x02", None, None, None, id="binary-with-space"),
    pytest.param("lv|'|'|VHJv|'|'|MARK", None, None, None, id="junk"),
    pytest.param(" GET / HTTP/1.1", None, None, None, id="leading-space"),
]


@pytest.mark.parametrize(("request_line", "method", "target", "protocol"), REQUESTS)
def test_request_line_split(tmp_path, request_line, method, target, protocol):
    line = f'1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "{request_line}" 400 - "-" "-"'
    row = one_row(tmp_path, "combined", line)
    decoded = request_line.encode().decode("unicode_escape") if "\\x" in request_line else None
    assert row["request"] == (decoded if decoded is not None else request_line)
    assert (row["method"], row["target"], row["protocol"]) == (method, target, protocol)


def _split_one(line: str | None) -> tuple[str | None, str | None, str | None]:
    """The request split of one line, by its definition (the vectorised split must agree)."""
    if line is None:
        return None, None, None
    parts = line.split(" ")
    proto_ok = len(parts) == 3 and re.fullmatch(request_line.PROTOCOL, parts[2]) is not None
    if re.fullmatch(request_line.TOKEN, parts[0]) and (len(parts) == 2 or proto_ok):
        return parts[0], parts[1] or None, parts[2] if proto_ok else None
    if len(parts) < 2:
        return None, None, None
    found = re.fullmatch(request_line._GENERAL, line)
    if found is None:
        return None, None, None
    return tuple(part or None for part in found.group("method", "target", "protocol"))


_REQUEST_PIECES = st.sampled_from(
    ["GET", "get", "M-SEARCH", " ", "  ", "/", "/a", "?q=1", "HTTP/1.1", "HTTP/2.0", "h2c/x", "-",
     "", "\x16\x03", "\u00e9", "FOO", "1/x", "\t", "*", "é", "ü/1"]
)
_REQUEST_LINES = st.lists(
    st.one_of(st.none(), st.lists(_REQUEST_PIECES, max_size=6).map("".join)), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(lines=_REQUEST_LINES, skip=st.integers(0, 3))
def test_request_split_agrees_with_its_definition_line_by_line(lines, skip):
    array = pa.array(lines, pa.string()).slice(min(skip, len(lines)))
    method, target, protocol = request_line.split_request(array)
    got = list(zip(method.to_pylist(), target.to_pylist(), protocol.to_pylist(), strict=True))
    assert got == [_split_one(line) for line in array.to_pylist()]


def test_a_vhost_line_is_not_read_as_a_combined_line_with_a_spaced_user(tmp_path):
    lines = [
        'www.example.org 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"',
        'www.example.org 1.2.3.4 - bob [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"',
    ]
    parsed = parse_lines(tmp_path, "combined", *lines)
    assert parsed.frame.empty
    assert parsed.rejects["reason"].tolist() == ["no_match", "no_match"]


def test_escaped_quote_inside_the_request_does_not_end_it(tmp_path):
    line = r'1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET /q=\" 200 1 \"x HTTP/1.1" 404 9 "-" "ua"'
    row = one_row(tmp_path, "combined", line)
    check(row, {"target": '/q=" 200 1 "x', "protocol": "HTTP/1.1", "status": 404, "bytes": 9,
                "user_agent": "ua"})


def test_unreadable_timestamps_are_rejected_on_both_paths(tmp_path):
    """A line whose timestamp has the right shape but no date in it (month "Foo") is rejected as
    bad_time, whether it went through the fast path or the exact one (an escaped quote); the
    rows around it keep their line numbers."""
    good = '1.2.3.4 - - [01/Jan/2025:00:00:0{} +0000] "GET /{} HTTP/1.1" 200 5 "-" "ua"'
    lines = [
        good.format(0, r'\"z'),
        good.format(0, "a"),
        '1.2.3.4 - - [01/Foo/2025:00:00:00 +0000] "GET /b HTTP/1.1" 200 5 "-" "ua"',
        good.format(2, "c"),
        r'1.2.3.4 - - [99/Bar/2025:00:00:00 +0000] "GET /\"d HTTP/1.1" 200 5 "-" "ua"',
        good.format(4, r'\"e'),
        good.format(5, "f"),
    ]
    parsed = parse_lines(tmp_path, "combined", *lines)
    # the frame is in line order, though the escaped lines are parsed after the others
    assert parsed.frame["line"].tolist() == [1, 2, 4, 6, 7]
    assert parsed.frame["target"].tolist() == ['/"z', "/a", "/c", '/"e', "/f"]
    assert parsed.rejects[["line", "reason"]].to_dict("records") == [
        {"line": 3, "reason": "bad_time"}, {"line": 5, "reason": "bad_time"}]


# -- the frame's types -----------------------------------------------------------------------

def test_frame_dtypes(tmp_path):
    lines = [
        '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '::1 - bob [01/Jan/2025:00:00:01 +0100] "FOO /x HTTP/1.0" 501 - "r" "ua2"',
    ]
    frame = parse_lines(tmp_path, "combined", *lines).frame
    strings = pd.ArrowDtype(pa.string())
    expected = {
        "source": "category", "line": "int64", "client": strings, "user": strings,
        "time": "datetime64[us, UTC]", "request": strings, "method": "category",
        "target": strings, "protocol": "category", "status": "int16", "bytes": "Int64",
        "referer": strings, "user_agent": strings, "ident": strings,
    }
    assert {k: str(v) for k, v in frame.dtypes.items()} == {k: str(v) for k, v in
                                                            expected.items()}
    assert list(frame.columns[:12]) == [
        "source", "line", "client", "user", "time", "request", "method", "target", "protocol",
        "status", "bytes", "referer",
    ]
    assert frame["bytes"].tolist() == [5, pd.NA]


def test_frame_dtypes_vhost_port_duration(tmp_path):
    fmt = '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D "%{Allow}o"'
    line = ('ex.org:443 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "PUT /a HTTP/1.1" 405 300 '
            '"-" "ua" 1234 "GET, HEAD"')
    frame = parse_lines(tmp_path, fmt, line).frame
    types = {k: str(v) for k, v in frame.dtypes.items()}
    assert (types["vhost"], types["port"], types["duration"], types["allow"]) == (
        "category", "Int32", "float64", "string[pyarrow]")
    check(one_row(tmp_path, fmt, line), {"vhost": "ex.org", "port": 443, "duration": 0.001234,
                                         "allow": "GET, HEAD", "bytes": 300})


def test_columns_a_format_does_not_log_are_absent(tmp_path):
    frame = parse_lines(tmp_path, "common",
                        '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5').frame
    assert "referer" not in frame and "user_agent" not in frame and "vhost" not in frame


# -- fast path and exact path agree ----------------------------------------------------------

FAST_EXACT = [
    pytest.param(
        "combined",
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}"',
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua} \\"q\\""',
        id="combined",
    ),
    pytest.param(
        "vhost_combined",
        'ex.org:80 {c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}"',
        'ex.org:80 {c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}\\\\" "{ua}"',
        id="vhost_combined",
    ),
    pytest.param(
        "nginx_main",
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}" "-"',
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}" "\\x22"',
        id="nginx_main",
    ),
    pytest.param(
        '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{Allow}o"',
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}" 1500 "GET"',
        '{c} - {u} [10/Oct/2000:13:55:36 -0700] "{r}" 501 {b} "{ref}" "{ua}" 1500 "\\"GET"',
        id="custom-apache",
    ),
]

VALUES = [
    dict(c="192.0.2.1", u="-", r="GET /a?b=1 HTTP/1.1", b="-", ref="-", ua="curl/8"),
    dict(c="2001:db8::7", u="bob", r="FOO /x y z HTTP/1.0", b="0", ref="", ua=""),
    dict(c="host.example", u="-", r="-", b="1234", ref="https://r/", ua="Mozilla/5.0 (X11)"),
    dict(c="10.0.0.1", u="-", r="GET /", b="7", ref="-", ua="-"),
    dict(c="10.0.0.1", u="-", r="", b="7", ref="-", ua="-"),
    dict(c="10.0.0.1", u="-", r="get /é HTTP/2.0", b="7", ref="-", ua="✓ unicode"),
]


@pytest.mark.parametrize(("fmt", "fast_line", "exact_line"), FAST_EXACT)
def test_fast_and_exact_paths_give_identical_values(tmp_path, fmt, fast_line, exact_line):
    resolved = LogFormat.resolve(fmt)
    fast_lines = [fast_line.format(**v) for v in VALUES]
    exact_lines = [exact_line.format(**v) for v in VALUES]
    for line in fast_lines:  # these take the tokenizer path ...
        assert re.match(resolved.fast_regex, line + "\n"), line
    for line in exact_lines:  # ... and these the exact regex path
        assert not re.match(resolved.fast_regex, line + "\n"), line
    fast = parse_lines(tmp_path, resolved, *fast_lines)
    exact = parse_lines(tmp_path, resolved, *exact_lines)
    assert fast.rejected == exact.rejected == 0
    changed = {"user_agent", "referer", "allow", "header_x_forwarded_for"}
    left = fast.frame.drop(columns=[c for c in fast.frame if c in changed])
    right = exact.frame.drop(columns=[c for c in exact.frame if c in changed])
    pd.testing.assert_frame_equal(left, right)


# -- errors ----------------------------------------------------------------------------------

BAD_FORMATS = [
    pytest.param("%h %Z %>s", "unknown directive %Z", id="unknown-apache-directive"),
    pytest.param("%h %{Referer", "unknown or malformed directive at '%{Referer'", id="open-brace"),
    pytest.param("%h %", "unknown or malformed directive at '%'", id="trailing-percent"),
    pytest.param("%{}i", "%{}i needs a name in braces", id="empty-header-name"),
    pytest.param("%{minutes}T", "%{minutes}T: unit must be s, ms or us", id="bad-T-unit"),
    pytest.param("%{%Q}t", "%{%Q}t: strftime code %Q unsupported", id="bad-strftime"),
    pytest.param("%{sideways}p", "%{sideways}p: expected canonical, local or remote",
                 id="bad-p"),
    pytest.param("%r%{User-Agent}i", "%r%{User-Agent}i: two free-text fields", id="ambiguous"),
    pytest.param("   ", "not a preset and not a format string", id="blank"),
    pytest.param("%h\n%u", "a format string is one line without NUL bytes", id="newline"),
    pytest.param("$remote_addr ${status", "malformed variable at '${status'",
                 id="nginx-open-brace"),
    pytest.param("$remote_addr $ x", "malformed variable at '$ x'", id="nginx-lone-dollar"),
    pytest.param("escape=yaml $remote_addr", "escape must be default, json or none",
                 id="nginx-bad-escape"),
    pytest.param("$remote_addr$remote_user", "two free-text fields", id="nginx-ambiguous"),
    pytest.param("access log", "not a preset and not a format string", id="neither"),
]


@pytest.mark.parametrize(("fmt", "message"), BAD_FORMATS)
def test_bad_formats_raise_clear_errors(fmt, message):
    with pytest.raises(UnknownFormatError) as raised:
        LogFormat.resolve(fmt)
    assert message in str(raised.value)
    assert str(raised.value).startswith("log format ")


def test_empty_format_strings():
    for make in (LogFormat.apache, LogFormat.nginx):
        with pytest.raises(UnknownFormatError, match="the format string is empty"):
            make(" ")
    with pytest.raises(UnknownFormatError, match="no fields in this format"):
        LogFormat.apache("just text")
    with pytest.raises(UnknownFormatError, match=r"no \$variables in this NGINX format"):
        LogFormat.nginx("just text")


def test_unknown_apache_directive_is_named():
    with pytest.raises(UnknownFormatError, match=r"unknown directive %\{X\}Z"):
        LogFormat.apache('%h "%{X}Z"')


def test_unknown_nginx_variable_becomes_a_string_column(tmp_path):
    fmt = LogFormat.nginx('$remote_addr "$ssl_protocol" $status')
    assert fmt.field("ssl_protocol") is not None
    frame = parse_lines(tmp_path, fmt, '1.2.3.4 "TLSv1.3" 200').frame
    assert frame["ssl_protocol"].tolist() == ["TLSv1.3"]
    assert str(frame["ssl_protocol"].dtype) == "string[pyarrow]"


def test_format_pasted_from_config_files(tmp_path):
    nginx = LogFormat.nginx("'$remote_addr - $remote_user [$time_local] ' '\"$request\" $status';")
    assert nginx.columns == ("client", "user", "time", "request", "status")
    apache = LogFormat.apache(r'%h %l %u %t \"%r\" %>s %b')
    assert apache.regex == PRESETS["common"].regex


# -- presets ---------------------------------------------------------------------------------

PRESET_LINES = {
    "common": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5',
    "combined": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
    "vhost_combined": 'ex.org:80 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 '
                      '"-" "ua"',
    "combinedio": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" '
                  "90 300",
    "nginx_combined": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
    "nginx_main": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" '
                  '"9.9.9.9"',
    "vhost_common": 'ex.org 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5',
    "vhost_common_port": 'ex.org:443 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" '
                         "200 5",
    "vhost_combined_noport": 'ex.org 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" '
                             '200 5 "-" "ua"',
    "combined_allow": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" '
                      '"GET, HEAD"',
    "logscan_vhost": 'ex.org:80 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 '
                     '"-" "ua" 1042 "-"',
    "logscan_timed": '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" '
                     '0.004 ex.org "GET, HEAD"',
}


def test_every_preset_has_a_sample_line():
    assert sorted(PRESETS) == sorted(PRESET_LINES)


@pytest.mark.parametrize("name", sorted(PRESET_LINES))
def test_presets_resolve_and_parse(tmp_path, name):
    fmt = LogFormat.resolve(name)
    assert fmt is PRESETS[name] and fmt.name == name
    row = one_row(tmp_path, name, PRESET_LINES[name])
    check(row, {"client": "1.2.3.4", "time": utc(2025, 1, 1), "method": "GET", "target": "/",
                "protocol": "HTTP/1.1", "status": 200, "bytes": 5})


def test_preset_extras(tmp_path):
    check(one_row(tmp_path, "vhost_combined", PRESET_LINES["vhost_combined"]),
          {"vhost": "ex.org", "port": 80})
    check(one_row(tmp_path, "combinedio", PRESET_LINES["combinedio"]),
          {"bytes": 5, "bytes_received": 90, "bytes_sent": 300})
    check(one_row(tmp_path, "nginx_main", PRESET_LINES["nginx_main"]),
          {"header_x_forwarded_for": "9.9.9.9"})
    check(one_row(tmp_path, "vhost_common_port", PRESET_LINES["vhost_common_port"]),
          {"vhost": "ex.org", "port": 443})
    check(one_row(tmp_path, "logscan_vhost", PRESET_LINES["logscan_vhost"]),
          {"vhost": "ex.org", "duration": 0.001042, "allow": None})
    check(one_row(tmp_path, "logscan_timed", PRESET_LINES["logscan_timed"]),
          {"vhost": "ex.org", "duration": 0.004, "allow": "GET, HEAD"})


@pytest.mark.parametrize("name", sorted(PRESET_LINES))
def test_crlf_lines_take_the_fast_path_with_the_same_values(tmp_path, name):
    line = PRESET_LINES[name]
    assert re.match(LogFormat.resolve(name).fast_regex, line + "\r\n")
    path = tmp_path / "crlf.log"
    path.write_bytes(((line + "\r\n") * 3).encode())
    crlf = analyzer.frame.parse_log(path, log_format=name).frame
    lf = parse_lines(tmp_path, name, line, line, line).frame
    pd.testing.assert_frame_equal(crlf.drop(columns="source"), lf.drop(columns="source"))


# -- projection: a Summary's columns only --------------------------------------------------------

_PROJECTION_LOGS = [
    *sorted(SAMPLE_LOGS.glob("*.log")),
    *(real_log_param(name) for name in (
        "crowdsec_apache2-malformed.log", "crowdsec_nginx-http-malformed.log",
        "crowdsec_http-dos-invalid-http-versions.log", "lnav_shop_nginx_xff.log",
        "crowdsec_apache2-logs-mixed-vhost.log",
    )),
]


@pytest.mark.parametrize("path", _PROJECTION_LOGS, ids=lambda p: getattr(p, "name", None))
def test_projected_parse_keeps_every_line_and_the_summary_columns(path):
    _check_projection(path)


def _check_projection(path: Path) -> int:
    """Checks a projected parse of every block; how many blocks came out of line order."""
    from analyzer.parse.block import parse_block
    from analyzer.pipeline import source_for
    from analyzer.sources.blocks import Block, iter_blocks
    from analyzer.summary import Summary
    from analyzer.summary.parts import summary_columns

    blocks = [b for b in iter_blocks(str(path), block_size=1 << 16) if isinstance(b, Block)]
    detection = source_for(str(path), 0, None)
    assert detection.fmt is not None
    wanted = summary_columns()
    assert wanted is not None
    parsed_lines = mixed = 0
    for block in blocks:
        whole = parse_block(block, detection.fmt, detection.fallbacks)
        projected = parse_block(block, detection.fmt, detection.fallbacks, wanted)
        assert projected.rejects.equals(whole.rejects)
        kept = [c for c in whole.table.column_names if c in wanted]
        assert projected.table.column_names == kept
        assert projected.table.equals(whole.table.select(kept))
        parsed_lines += projected.table.num_rows
        # out of line order (fast rows first): the same rows, and the same Summary
        unordered = parse_block(block, detection.fmt, detection.fallbacks, wanted,
                                in_line_order=False)
        assert unordered.table.sort_by("line").equals(projected.table)
        assert Summary.from_block(unordered) == Summary.from_block(projected)
        mixed += not unordered.table["line"].equals(projected.table["line"])
    assert parsed_lines > 0
    return mixed


def test_unordered_parse_is_exercised(monkeypatch):
    """At least one of the projection logs mixes fast and exact lines in one block, so the
    unordered parse above is tested with rows actually out of line order (the Arrow kernel's
    split: the native kernel reads escaped lines itself)."""
    monkeypatch.setenv("LOGSCAN_KERNEL", "arrow")
    paths = [getattr(p, "values", (p,))[0] for p in _PROJECTION_LOGS]
    assert sum(_check_projection(path) for path in paths if path.exists()) > 0


def test_timestamps_with_two_utc_offsets_in_one_block(tmp_path):
    lines = [
        '1.2.3.4 - - [26/Oct/2025:02:59:59 +0200] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [26/Oct/2025:02:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "ua"',
        '1.2.3.4 - - [26/Oct/2025:02:00:00 +0100] "GET /\\"q HTTP/1.1" 200 5 "-" "ua"',
    ]
    frame = parse_lines(tmp_path, "combined", *lines).frame
    assert [t.isoformat() for t in frame["time"]] == [
        "2025-10-26T00:59:59+00:00", "2025-10-26T01:00:00+00:00", "2025-10-26T01:00:00+00:00",
    ]
    one_offset = parse_lines(tmp_path, "combined", *lines[1:]).frame
    assert [t.isoformat() for t in one_offset["time"]] == ["2025-10-26T01:00:00+00:00"] * 2


# -- request split: the split before it was made faster, kept as a reference -------------------
# (analyzer/request_line.py as of 919917c, patterns included; the faster split must give the very
# same arrays)

_REFERENCE_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REFERENCE_PROTOCOL = r"[A-Za-z][A-Za-z0-9+.-]*/[^ ]*"
_REFERENCE_GENERAL = (f"^(?P<method>{_REFERENCE_TOKEN}) +(?P<target>.*?)"
                      f"(?: +(?P<protocol>{_REFERENCE_PROTOCOL}))? *$")


def _reference_split_request(request: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    if isinstance(request, pa.ChunkedArray):
        request = request.combine_chunks()
    if request.type != pa.string():
        request = request.cast(pa.string())
    if len(request) == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    starts, ends, (first_space, second_space, count) = _reference_space_counts(request)
    two = count == 1
    three = count == 2
    method = _ReferenceCuts(request, starts, np.where(two | three, first_space, starts))
    method_ok = (_reference_distinct_match(method.values(), f"^{_REFERENCE_TOKEN}$")
                 & (two | three))
    target_end = np.where(three, second_space, ends)
    target_start = np.where(method_ok, np.minimum(first_space + 1, target_end), target_end)
    proto_start = np.where(three & method_ok, second_space + 1, ends)
    protocol = _ReferenceCuts(request, proto_start, ends)
    proto_ok = (_reference_distinct_match(protocol.values(), f"^{_REFERENCE_PROTOCOL}$")
                & three & method_ok)
    simple = (two & method_ok) | proto_ok
    rest = np.flatnonzero(~simple & (count >= 1))
    general = _reference_general(request, rest)
    return (
        method.pick(simple, rest, general[0]),
        _ReferenceCuts(request, target_start, target_end).pick(
            simple & (target_end > target_start), rest, general[1]),
        protocol.pick(proto_ok, rest, general[2]),
    )


def _reference_space_counts(request: pa.Array):
    offsets = np.frombuffer(request.buffers()[1], dtype=np.int32)[
        request.offset : request.offset + len(request) + 1
    ].astype(np.int64)
    data = np.frombuffer(request.buffers()[2], dtype=np.uint8) if request.buffers()[2] else \
        np.zeros(0, dtype=np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    found = np.flatnonzero(data[offsets[0] : offsets[-1]] == 32) + offsets[0]
    low = np.searchsorted(found, starts)
    count = np.searchsorted(found, ends) - low
    padded = np.append(found, [offsets[-1], offsets[-1]])
    first, second = padded[low], padded[low + 1]
    if request.null_count:
        count[request.is_null().to_numpy(zero_copy_only=False)] = -1
    return starts, ends, (first, second, count)


class _ReferenceCuts:
    def __init__(self, request: pa.Array, starts: np.ndarray, ends: np.ndarray) -> None:
        n = len(starts)
        bounds = np.empty(2 * n + 1, dtype=np.int32)
        bounds[0:-1:2], bounds[1::2] = starts, ends
        bounds[-1] = ends[-1]
        self.n = n
        self.spread = pa.Array.from_buffers(
            pa.string(), 2 * n, [None, pa.py_buffer(bounds), request.buffers()[2]]
        )
        self._values: pa.Array | None = None

    def values(self) -> pa.Array:
        if self._values is None:
            self._values = pc.take(self.spread,
                                   pa.array(np.arange(0, 2 * self.n, 2, dtype=np.int64)))
        return self._values

    def pick(self, keep: np.ndarray, rest: np.ndarray, general: pa.Array | None) -> pa.Array:
        if general is None and self._values is not None:
            return _reference_nulls_where_not(self._values, keep)
        index = np.where(keep, np.arange(0, 2 * self.n, 2, dtype=np.int64), -1)
        pool = self.spread
        if general is not None:
            index[rest] = 2 * self.n + np.arange(len(rest))
            pool = pa.concat_arrays([self.spread, general])
        return pc.take(pool, pa.array(index, mask=index < 0))


def _reference_nulls_where_not(values: pa.Array, keep: np.ndarray) -> pa.Array:
    if keep.all():
        return values
    validity = pa.py_buffer(np.packbits(keep, bitorder="little"))
    buffers = values.buffers()
    return pa.Array.from_buffers(values.type, len(values), [validity, *buffers[1:]],
                                 null_count=int(len(keep) - np.count_nonzero(keep)))


def _reference_distinct_match(values: pa.Array, pattern: str) -> np.ndarray:
    encoded = pc.dictionary_encode(values)
    ok = pc.match_substring_regex(encoded.dictionary, pattern)
    return pc.take(ok, encoded.indices).to_numpy(zero_copy_only=False).astype(bool)


def _reference_general(request: pa.Array, rows: np.ndarray):
    if not len(rows):
        return None, None, None
    found = pc.extract_regex(pc.take(request, rows), _REFERENCE_GENERAL)
    if found.null_count == len(found):
        return tuple(pa.nulls(len(rows), pa.string()) for _ in range(3))
    null = pa.scalar(None, pa.string())
    return tuple(pc.if_else(pc.equal(found.field(name), ""), null, found.field(name))
                 for name in ("method", "target", "protocol"))


def _assert_split_like_reference(request: pa.Array | pa.ChunkedArray) -> None:
    got = request_line.split_request(request)
    wanted = _reference_split_request(request)
    for new, old in zip(got, wanted, strict=True):
        assert new.type == old.type == pa.string()
        assert isinstance(new, pa.Array)
        new.validate(full=True)
        assert new.to_pylist() == old.to_pylist()


# spaces (single and in runs) and the letters of methods and protocols come up often, so lines
# land on every shape: one or two spaces, runs, leading and trailing spaces, protocol look-alikes
_REQUEST_TEXT = st.text(alphabet=st.sampled_from(
    list("    GETHTPhtp/./-019aZ*?=%\t\n\r\x16\x00")
    + ["\u00e9", "\u20ac", "\U0001f600", "\x7f"]
), max_size=24)
_REQUEST_WORDS = st.lists(
    st.one_of(_REQUEST_TEXT, st.sampled_from(
        ["GET", "get", "M-SEARCH", "HTTP/1.1", "HTTP/2.0", "h2c/x", "1/x", "-", " ", "  ", "/a",
         "\n"]
    )), max_size=6,
).map("".join)
_REQUEST_COLUMNS = st.lists(st.one_of(st.none(), _REQUEST_WORDS), max_size=60)


@settings(max_examples=400, deadline=None)
@given(lines=_REQUEST_COLUMNS, skip=st.integers(0, 5), cut=st.integers(0, 60))
def test_request_split_is_the_same_as_before_split_pattern(lines, skip, cut):
    array = pa.array(lines, pa.string())
    _assert_split_like_reference(array)
    _assert_split_like_reference(array.slice(min(skip, len(lines))))
    _assert_split_like_reference(pa.chunked_array(
        [array.slice(0, cut), array.slice(cut)], pa.string()))
    _assert_split_like_reference(array.cast(pa.large_string()).slice(min(skip, len(lines))))


@pytest.mark.parametrize("lines", [
    [],
    [None],
    [None, None],
    [""],
    ["-", "", None, "GET"],
    ["GET / HTTP/1.1"] * 3,
    ["GET /a b c HTTP/1.1 "] * 2,
    [" ", "  ", "   "],
], ids=repr)
def test_request_split_edge_columns_are_the_same_as_before(lines):
    _assert_split_like_reference(pa.array(lines, pa.string()))
    _assert_split_like_reference(pa.chunked_array([], pa.string()))


def test_request_split_ignores_the_bytes_under_a_null_line():
    text = b"GET /a HTTP/1.1GET /b c HTTP/1.1G@T /x-"
    offsets = pa.py_buffer(np.array([0, 15, 32, 38, 39], dtype=np.int32))
    validity = pa.py_buffer(np.packbits([True, False, False, True], bitorder="little"))
    array = pa.Array.from_buffers(pa.string(), 4, [validity, offsets, pa.py_buffer(text)])
    assert array.to_pylist() == ["GET /a HTTP/1.1", None, None, "-"]
    _assert_split_like_reference(array)
    _assert_split_like_reference(array.slice(1))
    method, target, protocol = request_line.split_request(array)
    assert method.to_pylist() == ["GET", None, None, None]
    assert target.to_pylist() == ["/a", None, None, None]
    assert protocol.to_pylist() == ["HTTP/1.1", None, None, None]


def test_request_split_of_a_sliced_mixed_column():
    lines = ["skipped", "GET /a HTTP/1.1", "GET  /b", None, "get /c d HTTP/1.0 ", "", "-",
             "POST /e", "\x16\x03 \x01", "GET  HTTP/1.1", "GET / garbage", "PUT /f 1/x",
             "G@T /g HTTP/1.1", "GET /h HTTP/1.1 x", "GET /i é/1", "GET /j\nk l"]
    method, target, protocol = request_line.split_request(pa.array(lines, pa.string()).slice(1))
    # the last line matches no regex: the general one's target stops at a line break
    assert method.to_pylist() == ["GET", "GET", None, "get", None, None, "POST", None, "GET",
                                  "GET", "PUT", None, "GET", "GET", None]
    assert target.to_pylist() == ["/a", "/b", None, "/c d", None, None, "/e", None, None,
                                  "/ garbage", "/f 1/x", None, "/h HTTP/1.1 x", "/i é/1", None]
    assert protocol.to_pylist() == ["HTTP/1.1", None, None, "HTTP/1.0", None, None, None, None,
                                    "HTTP/1.1", None, None, None, None, None, None]
