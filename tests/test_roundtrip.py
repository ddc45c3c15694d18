"""Round trip: random requests written the way each server writes them, then parsed back.

Small writers below escape exactly as the servers do (http-semantics.md section 5):

* Apache ``ap_escape_logitem``: ``\\"`` ``\\\\``, ``\\b \\n \\r \\t \\v``, every other byte that is
  not printable ASCII as ``\\xhh`` (lowercase);
* NGINX default: bytes below 0x20, ``"``, ``\\``, 0x7F and above as ``\\xHH`` (uppercase);
* NGINX ``escape=json``: ``\\"`` ``\\\\``, ``\\n \\r \\t \\b \\f``, other bytes below 0x20 as
  ``\\u00xx``, everything else raw.

Whatever the values (spaces, quotes, backslashes, unicode, control characters), parsing the
written lines must give the values back.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analyzer
import analyzer.formats
import analyzer.frame
from analyzer import LogFormat
from analyzer.parse import block as parse

# -- the servers' escaping -------------------------------------------------------------------

_APACHE_C = {0x08: "\\b", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v",
             0x22: '\\"', 0x5C: "\\\\"}


def apache_escape(value: str) -> str:
    out = []
    for byte in value.encode("utf-8"):
        if byte in _APACHE_C:
            out.append(_APACHE_C[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


def nginx_escape(value: str) -> str:
    out = []
    for byte in value.encode("utf-8"):
        if byte < 0x20 or byte in (0x22, 0x5C) or byte >= 0x7F:
            out.append(f"\\x{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


_JSON_C = {0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x08: "\\b",
           0x0C: "\\f"}


def json_escape(value: str) -> str:
    out = []
    for ch in value:
        code = ord(ch)
        if code in _JSON_C:
            out.append(_JSON_C[code])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)  # bytes >= 0x80 and 0x7F are copied raw
    return "".join(out)


# -- random requests -------------------------------------------------------------------------

TCHAR = string.ascii_letters + string.digits + "!#$%&'*+.^_`|~-"

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.one_of(
    st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(lambda t: ":".join(f"{x:x}" for x in t)),
    st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(lambda t: ":".join(f"{x:04x}" for x in t)),
    st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(
        lambda t: f"2001:db8::{t[0]:x}:{t[1]:x}"),
    st.just("::1"),
)
label = st.text(st.sampled_from(string.ascii_lowercase + string.digits), min_size=1, max_size=8)
hostname = st.lists(label, min_size=2, max_size=3).map(".".join)

# any text but NUL (Apache logs C strings) and surrogates; servers never log a bare "-" value
free_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
).filter(lambda s: s != "-")
interesting = st.sampled_from(['"', "\\", '\\"', "\\x41", " ", "\t", "\x01", "\x7f", "é", "✓",
                               "\U0001f600", "' OR 1=1", '""', "\\\\"])
field_text = st.one_of(free_text, st.lists(interesting, min_size=1, max_size=4).map("".join))

# user names may hold spaces (servers leave them unescaped): single spaces between words, and no
# word "-" (such a line is taken for a vhost line; see analyzer.formats.fields)
user_names = field_text.filter(
    lambda s: s == "" or " " not in s or all(w not in ("", "-") for w in s.split(" ")))

# request targets: no CR/LF, no space at either end or doubled (servers split on runs of them)
target_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    min_size=0, max_size=25,
).map(lambda s: "/" + " ".join(s.split(" ")).strip())
targets = st.one_of(
    target_text.map(lambda s: " ".join(part for part in s.split(" ") if part) or "/"),
    st.sampled_from(["*", "/", "http://example.com:80/x?y=1", "example.com:443", '/a"b', "/a\\b"]),
)
methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                     "CONNECT", "PROPFIND", "get", "GET2", "FOO", "M-SEARCH", "PRI"]),
    st.text(st.sampled_from(TCHAR), min_size=1, max_size=10),
)
protocols = st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2",
                             "HTTP/3.0", "FOO/1.0"])


@st.composite
def request_lines(draw):
    """(request line as sent, method, target, protocol) with the parts a parser must find."""
    kind = draw(st.sampled_from(["full", "full", "full", "no-version", "dash", "empty", "junk"]))
    if kind == "dash":
        return "-", None, None, None
    if kind == "empty":
        return "", None, None, None
    if kind == "junk":
        junk = "\x16\x03\x01" + draw(st.text(max_size=12).filter(lambda s: "\x00" not in s))
        return junk, None, None, None
    method, target = draw(methods), draw(targets)
    if kind == "no-version":
        target = target.replace(" ", "")
        return f"{method} {target}", method, target, None
    protocol = draw(protocols)
    return f"{method} {target} {protocol}", method, target, protocol


offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
times = st.builds(
    lambda s, tz: datetime.fromtimestamp(s, tz),
    st.integers(0, 4102444800),  # 1970 .. 2100
    offsets,
)


EXTRAS = {
    "vhost": hostname,
    "port": st.integers(1, 65535),
    "duration_us": st.integers(0, 10**9),
    "allow": st.one_of(st.none(), st.sampled_from(["GET, HEAD", "", "TRACE"]), field_text),
    "forwarded": st.one_of(st.none(), field_text),
    "request_time_ms": st.integers(0, 10**7),
}


@st.composite
def records(draw, *extras: str, client=None):
    """One request's values: the combined fields, and the ``extras`` a format also logs."""
    request, method, target, protocol = draw(request_lines())
    text = st.one_of(st.none(), field_text)
    return {
        "client": draw(st.one_of(ipv4, ipv6) if client is None else client),
        "user": draw(st.one_of(st.none(), user_names)),
        "time": draw(times),
        "request": request, "method": method, "target": target, "protocol": protocol,
        "status": draw(st.integers(100, 599)),
        "bytes": draw(st.one_of(st.none(), st.integers(0, 10**12))),
        "referer": draw(text),
        "user_agent": draw(text),
    } | {name: draw(EXTRAS[name]) for name in extras}


# -- writers ---------------------------------------------------------------------------------

def clf_time(t: datetime) -> str:
    return t.strftime("%d/%b/%Y:%H:%M:%S %z")


def dash(value, escape) -> str:
    return "-" if value is None else escape(value)


def apache_user(user) -> str:
    if user is None:
        return "-"
    return '""' if user == "" else apache_escape(user)


def write_combined(r) -> str:
    return (f'{r["client"]} - {apache_user(r["user"])} [{clf_time(r["time"])}] '
            f'"{apache_escape(r["request"])}" {r["status"]} {dash(r["bytes"], str)} '
            f'"{dash(r["referer"], apache_escape)}" "{dash(r["user_agent"], apache_escape)}"')


def write_vhost_combined(r) -> str:
    return f'{r["vhost"]}:{r["port"]} ' + write_combined(r)


def write_custom_apache(r) -> str:
    return write_combined(r) + f' {r["duration_us"]} "{dash(r["allow"], apache_escape)}"'


def write_nginx_main(r) -> str:
    body = 0 if r["bytes"] is None else r["bytes"]
    return (f'{r["client"]} - {dash(r["user"], nginx_escape)} [{clf_time(r["time"])}] '
            f'"{nginx_escape(r["request"])}" {r["status"]} {body} '
            f'"{dash(r["referer"], nginx_escape)}" "{dash(r["user_agent"], nginx_escape)}" '
            f'"{dash(r["forwarded"], nginx_escape)}"')


NGINX_JSON = (
    "escape=json '{\"time\":\"$time_iso8601\",\"addr\":\"$remote_addr\","
    "\"user\":\"$remote_user\",\"request\":\"$request\",\"status\":$status,"
    "\"bytes\":$body_bytes_sent,\"referer\":\"$http_referer\",\"ua\":\"$http_user_agent\","
    "\"rt\":$request_time}';"
)


def write_nginx_json(r) -> str:
    def j(value):
        return "" if value is None else json_escape(value)

    body = 0 if r["bytes"] is None else r["bytes"]
    seconds = r["request_time_ms"] / 1000
    return (f'{{"time":"{r["time"].isoformat()}","addr":"{r["client"]}",'
            f'"user":"{j(r["user"])}","request":"{json_escape(r["request"])}",'
            f'"status":{r["status"]},"bytes":{body},"referer":"{j(r["referer"])}",'
            f'"ua":"{j(r["user_agent"])}","rt":{seconds:.3f}}}')


# -- the property ----------------------------------------------------------------------------

def expected_row(r, fmt_name: str) -> dict:
    row = {
        "client": r["client"], "user": r["user"], "time": r["time"].astimezone(UTC),
        "request": r["request"], "method": r["method"], "target": r["target"],
        "protocol": r["protocol"], "status": r["status"], "bytes": r["bytes"],
        "referer": r["referer"], "user_agent": r["user_agent"],
    }
    if fmt_name.startswith("nginx"):
        row["bytes"] = 0 if r["bytes"] is None else r["bytes"]
    if fmt_name == "nginx_json":
        for key in ("user", "referer", "user_agent"):
            row[key] = row[key] or None  # a missing variable and an empty one both log as ""
        row["duration"] = round(r["request_time_ms"] / 1000, 3)
    if fmt_name == "vhost_combined":
        row |= {"vhost": r["vhost"], "port": r["port"]}
    if fmt_name == "custom_apache":
        row |= {"duration": r["duration_us"] / 1e6, "allow": r["allow"]}
    if fmt_name == "nginx_main":
        row["header_x_forwarded_for"] = r["forwarded"]
    return row


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def roundtrip(tmp_path_factory, fmt, fmt_name: str, write, rows) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "access.log"
    path.write_bytes("".join(write(r) + "\n" for r in rows).encode("utf-8"))
    parsed = analyzer.frame.parse_log(path, log_format=fmt)
    assert parsed.rejects.empty, parsed.rejects.to_dict("records")
    assert parsed.frame["line"].tolist() == list(range(1, len(rows) + 1))
    for r, (_, got) in zip(rows, parsed.frame.iterrows(), strict=True):
        expected = expected_row(r, fmt_name)
        assert {k: _plain(got[k]) for k in expected} == expected


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
BATCH = dict(min_size=1, max_size=4)


@SETTINGS
@given(rows=st.lists(records(client=st.one_of(ipv4, ipv6, hostname)), **BATCH))
def test_combined(tmp_path_factory, rows):
    roundtrip(tmp_path_factory, "combined", "combined", write_combined, rows)


@SETTINGS
@given(rows=st.lists(records("vhost", "port"), **BATCH))
def test_vhost_combined(tmp_path_factory, rows):
    roundtrip(tmp_path_factory, "vhost_combined", "vhost_combined", write_vhost_combined, rows)


CUSTOM_APACHE = LogFormat.apache(
    '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{Allow}o"')


@SETTINGS
@given(rows=st.lists(records("duration_us", "allow"), **BATCH))
def test_custom_apache_with_duration_and_allow(tmp_path_factory, rows):
    roundtrip(tmp_path_factory, CUSTOM_APACHE, "custom_apache", write_custom_apache, rows)


@SETTINGS
@given(rows=st.lists(records("forwarded"), **BATCH))
def test_nginx_main(tmp_path_factory, rows):
    roundtrip(tmp_path_factory, "nginx_main", "nginx_main", write_nginx_main, rows)


@SETTINGS
@given(rows=st.lists(records("request_time_ms"), **BATCH))
def test_nginx_json(tmp_path_factory, rows):
    roundtrip(tmp_path_factory, NGINX_JSON, "nginx_json", write_nginx_json, rows)


def test_writers_match_the_documented_examples():
    """The writers against the examples observed from the real servers (http-semantics.md)."""
    assert apache_escape('GET /a"b\\c HTTP/1.1') == 'GET /a\\"b\\\\c HTTP/1.1'
    assert apache_escape("\x16\x03\x01\x02") == "\\x16\\x03\\x01\\x02"
    assert nginx_escape('GET /a"b\\c HTTP/1.1') == "GET /a\\x22b\\x5Cc HTTP/1.1"
    assert nginx_escape('ua"\x01\xff') == "ua\\x22\\x01\\xC3\\xBF"
    assert json_escape('a"b\\c\n\x01é') == 'a\\"b\\\\c\\n\\u0001é'


# -- the fast tokenizer path and the exact regex path agree on any line ----------------------

_piece = st.sampled_from(list('ab -"\\[]:/0123456789.\t') + ["é", "\x01", "HTTP/1.1", "GET ",
                                                             "+0000", '"-"', "\\x41"])
_junk = st.lists(_piece, max_size=8).map("".join)
_TEMPLATES = [
    '1.2.3.4 - {0} [01/Jan/2025:00:00:00 +0000] "{1}" 200 5 "{2}" "{3}"',
    'h.example:80 1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "{1}" 200 5 "{2}" "{3}" {4}',
    '1.2.3.4 - - [01/Jan/2025:00:00:00 +0000] "{1}" 200 {4} "{2}" "{3}" "{0}"',
]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["combined", "common", "vhost_combined", "nginx_main", "combinedio"]),
       rows=st.lists(st.tuples(st.sampled_from(_TEMPLATES), st.lists(_junk, min_size=5,
                                                                     max_size=5)),
                     min_size=1, max_size=5))
def test_fast_and_exact_paths_agree(tmp_path_factory, fmt, rows):
    path = tmp_path_factory.mktemp("paths") / "access.log"
    path.write_text("".join(t.format(*(v or "-" for v in values)) + "\n" for t, values in rows),
                    encoding="utf-8")
    both = analyzer.frame.parse_log(path, log_format=fmt)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "_fast_mask", lambda text, _: np.zeros(len(text), dtype=bool))
        exact = analyzer.frame.parse_log(path, log_format=fmt)
    pd.testing.assert_frame_equal(both.frame, exact.frame)
    pd.testing.assert_frame_equal(both.rejects, exact.rejects)
