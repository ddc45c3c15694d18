"""Real access logs (../shared/real_logs, see its README): every line accounted for, exactly.

The expected numbers come from reading the files, not from the tool: line counts from the
newlines (plus an unterminated last line), rejected lines by their content, statuses counted
with awk over the raw text.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest
from paths import REAL_LOGS

import analyzer

pytestmark = pytest.mark.skipif(not REAL_LOGS.is_dir(), reason=f"{REAL_LOGS} is not there")


@functools.cache
def parse(name: str) -> analyzer.frame.ParsedLog:
    parsed = analyzer.frame.parse_log(REAL_LOGS / name)
    assert len(parsed.sources) == 1
    stats = parsed.sources[0]
    assert stats.lines == stats.parsed + stats.rejected
    assert (stats.parsed, stats.rejected) == (len(parsed.frame), len(parsed.rejects))
    return parsed


def rejects(parsed: analyzer.frame.ParsedLog) -> list[tuple[int, str]]:
    return [(int(r.line), str(r.reason)) for r in parsed.rejects.itertuples()]


def values(frame: pd.DataFrame, column: str) -> list:
    return [None if pd.isna(v) else v for v in frame[column].tolist()]


# file -> (detected format, lines, parsed, rejected (line, reason) in order)
EXPECTED = {
    "advertools_combined_latin1_tail_gzip.log": (
        # NGINX escaping (\xHH uppercase, \x22 for a quote); the last 31 lines are a gzip blob
        "nginx_combined", 200, 169, [(n, "not_utf8") for n in range(170, 201)],
    ),
    "apachelogs_vhost_combined.log": ("vhost_combined", 7, 6, [(5, "no_match")]),
    "crowdsec_apache2-logs-mixed-vhost.log": (
        # combined lines, one common line (6), one vhost_combined line (7), a vhost without a
        # port (4: vhost_combined_noport); 8 and 9 are error-log lines
        "combined", 9, 7, [(8, "no_match"), (9, "no_match")],
    ),
    "crowdsec_apache2-malformed.log": ("combined", 11, 11, []),
    "crowdsec_calibre-web-ipv6-http2.log": ("combined", 16, 16, []),
    "crowdsec_http-dos-invalid-http-versions.log": ("combined", 6, 6, []),
    "crowdsec_ipv6-postoverflow.log": ("combined", 2, 2, []),  # no newline after line 2
    "crowdsec_nginx-http-malformed.log": ("nginx_combined", 12, 12, []),
    "crowdsec_nginx-http-open-proxy.log": ("combined", 2, 2, []),  # line 2: nginx_main
    "elastic_apache_combined.log": ("combined", 10000, 9999, [(8899, "truncated")]),
    "lnav_shop_nginx_xff.log": ("nginx_main", 1000, 1000, []),
}


def test_every_real_log_has_expectations():
    assert sorted(p.name for p in REAL_LOGS.glob("*.log")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_line_accounting_and_detected_format(name):
    fmt, lines, parsed_count, rejected = EXPECTED[name]
    parsed = parse(name)
    stats = parsed.sources[0]
    assert stats.format == fmt
    assert (stats.lines, stats.parsed, stats.rejected) == (lines, parsed_count, len(rejected))
    assert rejects(parsed) == rejected
    rejected_lines = {line for line, _ in rejected}
    assert parsed.frame["line"].tolist() == [
        n for n in range(1, lines + 1) if n not in rejected_lines]


def test_advertools_405s_and_nginx_escapes():
    frame = parse("advertools_combined_latin1_tail_gzip.log").frame
    assert Counter(values(frame[frame["status"] == 405], "method")) == {"POST": 12}
    tls = frame.set_index("line").loc[169, "request"]
    assert tls.startswith("\x16\x03\x01\x00\\x85\x01\x00\x00\\x81\x03\x03~")
    assert frame.set_index("line").loc[169, "method"] is pd.NA or pd.isna(
        frame.set_index("line").loc[169, "method"])


def test_apachelogs_vhosts_and_ports():
    frame = parse("apachelogs_vhost_combined.log").frame
    assert set(frame["vhost"]) == {"www.varonathe.org"}
    assert frame["port"].tolist() == [80] * 6
    assert frame["method"].tolist() == ["GET", "GET", "POST", "GET", "GET", "GET"]
    assert frame["target"].tolist() == [
        "/", "/robots.txt", "/App6079ec68.php", "/webdav/", "/help.php", "/java.php"]


def test_mixed_vhost_file_reads_each_line_with_its_format():
    parsed = parse("crowdsec_apache2-logs-mixed-vhost.log")
    assert ("other formats in the sample: common: 1, vhost_combined: 1, "
            "vhost_combined_noport: 1") in parsed.sources[0].detection
    frame = parsed.frame.set_index("line")
    assert values(frame.reset_index(), "vhost") == [None, None, None, "www.crowdsec.net", None,
                                                    None, "website.com"]
    assert frame.loc[7, "port"] == 443
    assert frame.loc[7, "referer"] == "abc.com"
    assert pd.isna(frame.loc[6, "user_agent"]) and frame.loc[6, "bytes"] == 1513
    assert frame.loc[6, "time"] == datetime(2021, 3, 5, 8, 1, 38, tzinfo=UTC)  # +0100
    assert frame.loc[5, "method"] == "POST"


def test_apache_tls_handshakes_are_requests_without_method():
    frame = parse("crowdsec_apache2-malformed.log").frame
    assert set(frame["status"]) == {400}
    assert frame["method"].isna().all() and frame["protocol"].isna().all()
    assert frame["request"].tolist()[:3] == [
        "\x16\x03\x01\x01 \x02", "\x16\x03\x01\x06", "\x16\x03\x01\x07"]
    assert frame["time"].iloc[0] == datetime(2023, 10, 16, 18, 57, 49, tzinfo=UTC)  # +1100


def test_calibre_ipv6_http2_and_empty_fields():
    frame = parse("crowdsec_calibre-web-ipv6-http2.log").frame
    assert set(frame["client"]) == {"2001:db8:1:2:3:4:5:6"}
    assert set(frame["protocol"]) == {"HTTP/2.0"}
    assert Counter(frame["status"].tolist()) == {200: 13, 304: 3}
    assert set(frame["referer"]) == {""} and set(frame["user_agent"]) == {""}
    assert set(frame["time"]) == {datetime(2025, 7, 18, 16, 9, 8, tzinfo=UTC)}  # -0400


def test_invalid_http_versions_are_kept():
    frame = parse("crowdsec_http-dos-invalid-http-versions.log").frame
    assert frame["protocol"].tolist() == [
        "HTTP/1.0", "HTTP/1.1", "HTTP/1.2", "HTTP/0.9", "HTTP/2.0", "HTTP/2.1"]
    assert set(frame["method"]) == {"GET"} and set(frame["target"]) == {"/"}
    assert frame["bytes"].tolist() == [157, 157, 157, 0, 0, 0]


def test_uncompressed_ipv6_addresses():
    frame = parse("crowdsec_ipv6-postoverflow.log").frame
    assert set(frame["client"]) == {"2001:0db8:85a3:0000:0000:8a2e:0370:7334"}
    assert frame["method"].tolist() == ["HEAD", "GET"]
    assert frame["user_agent"].str.contains("Nikto").all()


def test_nginx_binary_probes():
    frame = parse("crowdsec_nginx-http-malformed.log").frame
    assert set(frame["status"]) == {400}
    requests = frame["request"].tolist()
    assert requests[1].startswith("Gh0st\\xad\x00\x00\x00\\xe0\x00\x00\x00x\\x9cKS``")
    assert requests[4] == "HELP" and requests[6] == "batman"
    assert requests[7].startswith("\x16\x03\x01\x00t\x01\x00\x00p\x03\x01YF}")
    # only line 3 starts with a token and a space: it splits, syntactically, like a request
    methods = values(frame, "method")
    assert [i + 1 for i, m in enumerate(methods) if m is not None] == [3]
    assert methods[2].startswith("145.ll|'|'|") and methods[2].endswith("|Win")
    assert frame["protocol"].isna().all()


def test_open_proxy_probes():
    parsed = parse("crowdsec_nginx-http-open-proxy.log")
    assert parsed.sources[0].detection.endswith("other formats in the sample: nginx_main: 1")
    frame = parsed.frame
    assert frame["method"].tolist() == ["CONNECT", "GET"]
    assert frame["target"].tolist() == ["foo.com:25", "http://www.sbjudge4.com:80/ip4.php"]
    assert values(frame, "header_x_forwarded_for") == [None, None]
    assert frame["status"].tolist() == [400, 400]


def test_elastic_statuses_and_the_truncated_line():
    parsed = parse("elastic_apache_combined.log")
    frame = parsed.frame
    # awk '{print $9}' over the file, less the truncated line 8899 (a 200)
    assert Counter(frame["status"].tolist()) == {
        200: 9125, 304: 445, 404: 213, 301: 164, 206: 45, 500: 3, 416: 2, 403: 2}
    assert Counter(frame["method"].tolist())["OPTIONS"] == 1
    text = parsed.rejects["text"].iloc[0]
    assert text.startswith("46.118.127.106 - - [20/May/2015:12:05:17 +0000] ")
    assert text.endswith('"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')
    # Apache's lowercase \xhh escapes decoded; the bytes are not UTF-8 (cp1251), so kept as text
    referer = frame.set_index("line").loc[5851, "referer"]
    assert referer == "http://\\xe4\\xe5\\xe3\\xf2\\xff\\xf0\\xed\\xee\\xe5-\\xec\\xfb\\xeb\\xee.\\xf0\\xf4/"


def test_lnav_shop_offsets_and_forwarded_for():
    frame = parse("lnav_shop_nginx_xff.log").frame
    first = frame.iloc[0]
    assert first["time"] == datetime(2019, 1, 22, 0, 26, 14, tzinfo=UTC)  # +0330
    assert first["target"].startswith("/filter/27|13%20%D9%85%DA%AF")  # kept percent-encoded
    assert first["user_agent"] == "Mozilla/5.0 (compatible; AhrefsBot/6.1; +http://ahrefs.com/robot/)"
    assert "header_x_forwarded_for" in frame
    assert frame["time"].is_monotonic_increasing
