"""Allow checks: 405 without Allow, Allow listing the refused method, Allow values that differ."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from paths import SAMPLE_LOGS

import analyzer
from analyzer.summary.summary import Summary
from analyzer.verdicts.allow_checks import HOW_TO_LOG, check_allow

SAMPLES = SAMPLE_LOGS
# LogFormat "%v:%p %h %l %u %t \"%r\" %>s %b \"%{Allow}o\"" as the format string itself
APACHE_ALLOW = '%v:%p %h %l %u %t "%r" %>s %b "%{Allow}o"'
T = "[22/Nov/2026:01:00:00 +0000]"
LINES = [
    f'www.test:80 10.0.0.1 - - {T} "PUT /index.html HTTP/1.1" 405 225 '
    '"GET,POST,OPTIONS,HEAD,TRACE"',
    f'www.test:80 10.0.0.2 - - {T} "PATCH /api/items/1 HTTP/1.1" 405 0 "-"',
    f'www.test:80 10.0.0.2 - - {T} "PATCH /api/items/2 HTTP/1.1" 405 0 "GET, HEAD, PATCH"',
    f'www.test:80 10.0.0.2 - - {T} "DELETE /api/items/3 HTTP/1.1" 405 0 "GET, HEAD, PUT"',
    f'www.test:80 10.0.0.2 - - {T} "GET /api/items/3 HTTP/1.1" 200 10 "-"',
    f'www.test:80 10.0.0.3 - - {T} "TRACE / HTTP/1.1" 405 0 ""',
    f'www.test:80 10.0.0.4 - - {T} "FOO /a/x HTTP/1.1" 501 0 "GET, HEAD"',
    f'www.test:80 10.0.0.4 - - {T} "FOO /b/y HTTP/1.1" 501 0 "GET, HEAD, POST"',
    f'www.test:80 10.0.0.4 - - {T} "FOO /c/z?q=1 HTTP/1.1" 501 0 "HEAD,GET"',
    f'other.test:80 10.0.0.5 - - {T} "PUT /x HTTP/1.1" 405 0 "POST,GET"',
    f'other.test:80 10.0.0.5 - - {T} "PUT /y HTTP/1.1" 405 0 "GET, POST"',
]


@pytest.fixture(scope="module")
def inline(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, object]:
    path = tmp_path_factory.mktemp("allow") / "access.log"
    path.write_text("\n".join(LINES) + "\n")
    return str(path), analyzer.read_log(str(path), APACHE_ALLOW)


def test_inline_counts(inline: tuple[str, object]) -> None:
    src, frame = inline
    got = check_allow(frame, server="apache")
    assert got.logged and got.how_to_log is None
    assert (got.responses_405, got.with_allow_405) == (7, 6)
    assert [g.to_dict() for g in got.missing_on_405] == [
        {"vhost": "www.test", "method": "PATCH", "count": 1, "targets": ["/api/items/1"],
         "examples": [f"{src}:2"]},
    ]
    assert [g.to_dict() for g in got.empty_on_405] == [
        {"vhost": "www.test", "method": "TRACE", "count": 1, "targets": ["/"],
         "examples": [f"{src}:6"]},
    ]
    assert [g.to_dict() for g in got.refused_method_listed] == [
        {"vhost": "www.test", "method": "PATCH", "count": 1, "status": 405,
         "allow": "GET, HEAD, PATCH", "targets": ["/api/items/2"], "examples": [f"{src}:3"]},
    ]
    assert got.problems == 1 + 1 + 3


def test_inline_inconsistent(inline: tuple[str, object]) -> None:
    src, frame = inline
    found = [(i.scope, i.vhost, i.prefix, i.method, [(v.allow, v.count) for v in i.values])
             for i in check_allow(frame, server="apache").inconsistent]
    assert found == [
        # same directory: the TRACE 405's empty Allow against the PUT 405's list
        ("directory", "www.test", "/", None,
         [("", 1), ("GET, HEAD, OPTIONS, POST, TRACE", 1)]),
        ("directory", "www.test", "/api/items/", None,
         [("GET, HEAD, PATCH", 1), ("GET, HEAD, PUT", 1)]),
        # FOO never succeeds and is refused in /a/, /b/ and /c/: one rule, two Allow values
        ("vhost", "www.test", None, "FOO", [("GET, HEAD", 2), ("GET, HEAD, POST", 1)]),
    ]
    foo = check_allow(frame).inconsistent[2].to_dict()
    assert foo["values"][0] == {
        "allow": "GET, HEAD", "count": 2, "methods": ["FOO"], "statuses": [501],
        "targets": ["/a/x", "/c/z?q=1"], "examples": [f"{src}:7", f"{src}:9"],
    }


def test_order_and_spacing_do_not_count_as_differences(inline: tuple[str, object]) -> None:
    _, frame = inline
    assert not [i for i in check_allow(frame).inconsistent if i.vhost == "other.test"]


def test_notes_depend_on_the_server(inline: tuple[str, object]) -> None:
    _, frame = inline
    nginx = check_allow(frame, server="nginx")
    assert any("Stock NGINX never sends Allow" in n for n in nginx.notes)
    assert nginx.fix is not None and "error_page 405" in nginx.fix["snippet"]
    apache = check_allow(frame, server="apache")
    assert any("Apache logs only the first Allow line" in n for n in apache.notes)
    assert not any("NGINX" in n for n in apache.notes)


def test_json_shape(inline: tuple[str, object]) -> None:
    _, frame = inline
    data = json.loads(json.dumps(check_allow(frame, server="apache").to_dict()))
    assert set(data) == {"logged", "server", "how_to_log", "responses_405", "with_allow_405",
                         "missing_on_405", "empty_on_405", "refused_method_listed",
                         "inconsistent", "directory_checked", "notes", "fix"}
    assert data["missing_on_405"]["count"] == 1
    assert data["refused_method_listed"]["count"] == 1


def test_summary_gives_the_same_counts(inline: tuple[str, object]) -> None:
    _, frame = inline
    from_frame = check_allow(frame)
    from_summary = check_allow(Summary.from_frame(frame))
    assert from_summary.responses_405 == from_frame.responses_405
    assert from_summary.missing_count == from_frame.missing_count
    assert from_summary.listed_count == from_frame.listed_count
    # without targets only the per-method rule can be checked
    assert [(i.scope, i.method) for i in from_summary.inconsistent] == [("vhost", "FOO")]
    assert not from_summary.directory_checked and from_frame.directory_checked
    # every 405 of (www.test, PATCH, 405) did not carry the same Allow: no examples then
    assert from_summary.missing_on_405[0].examples == ()


@pytest.mark.parametrize(
    ("server", "needles"),
    [
        ("apache", ['\\"%{Allow}o\\"']),
        ("nginx", ['"$sent_http_allow"']),
        (None, ['\\"%{Allow}o\\"', '"$sent_http_allow"']),
    ],
)
def test_not_logged_says_how_to_log_it(tmp_path: Path, server: str | None,
                                       needles: list[str]) -> None:
    path = tmp_path / "combined.log"
    path.write_text(f'10.0.0.1 - - {T} "FOO / HTTP/1.1" 405 0 "-" "x"\n')
    got = check_allow(analyzer.read_log(str(path), "combined"), server=server)
    assert not got.logged
    assert got.responses_405 == 1
    assert got.how_to_log is not None
    for needle in needles:
        assert needle in got.how_to_log
    assert got.to_dict()["missing_on_405"] == {"count": 0, "groups": []}


def test_how_to_log_is_a_working_format() -> None:
    fmt = re.search(r'LogFormat "(.*)" combined_allow', HOW_TO_LOG["apache"])
    assert fmt is not None
    assert analyzer.LogFormat.resolve(fmt[1].replace('\\"', '"')).describe()
    nginx = re.search(r"log_format combined_allow '(.*)';", HOW_TO_LOG["nginx"])
    assert nginx is not None
    assert analyzer.LogFormat.resolve(nginx[1]).describe()


# -- the real-server samples -------------------------------------------------------------------

def _sample(name: str) -> tuple[object, list[tuple[int, str, str | None]]]:
    """The frame, and (status, method, Allow as logged or None for "-") straight from the raw
    lines: the Allow field is the last quoted field of every line in both formats."""
    formats = json.loads((SAMPLES / "formats.json").read_text())
    frame = analyzer.read_log(str(SAMPLES / name), formats[name]["format"])
    raw = []
    for line in (SAMPLES / name).read_text(encoding="utf-8").splitlines():
        status = int(re.search(r'" (\d{3}) ', line)[1])  # type: ignore[index]
        method = re.search(r'\] "([A-Za-z0-9_-]+) ', line)
        allow = re.search(r'"([^"]*)"$', line)[1]  # type: ignore[index]
        raw.append((status, method[1] if method else None, None if allow == "-" else allow))
    return frame, raw


def _manifest_405s(name: str) -> int:
    with (SAMPLES / f"{name}.manifest.csv").open(newline="") as f:
        return sum(row["client_status"] == "405" for row in csv.DictReader(f))


def test_apache_sample() -> None:
    frame, raw = _sample("apache_vhost_allow.log")
    got = check_allow(frame, server="apache")
    n405 = [r for r in raw if r[0] == 405]
    assert got.responses_405 == len(n405) == _manifest_405s("apache_vhost_allow.log") == 12
    # Apache sends Allow with every 405 it makes; the empty one is TRACE with TraceEnable off
    assert got.missing_count == sum(r[2] is None for r in n405) == 0
    assert got.empty_count == sum(r[2] == "" for r in n405) == 1
    assert [(g.vhost, g.method, g.examples) for g in got.empty_on_405] == [
        ("static.example.test", "TRACE", (f"{SAMPLES / 'apache_vhost_allow.log'}:264",)),
    ]
    assert got.listed_count == 0
    assert [(i.scope, i.vhost, i.prefix, i.method, [(v.allow, v.count) for v in i.values])
            for i in got.inconsistent] == [
        ("directory", "static.example.test", "/", None,
         [("GET, HEAD, OPTIONS, POST", 3), ("", 1)]),
        # DELETE never succeeds on www: the static files' Allow and the backend's differ
        ("vhost", "www.example.test", None, "DELETE",
         [("GET, HEAD, OPTIONS, POST, TRACE", 2), ("GET, HEAD, PATCH, PUT", 1)]),
    ]


def test_nginx_sample() -> None:
    frame, raw = _sample("nginx_timed.log")
    got = check_allow(frame, server="nginx")
    n405 = [r for r in raw if r[0] == 405]
    assert got.responses_405 == len(n405) == _manifest_405s("nginx_timed.log") == 22
    # NGINX sends no Allow itself: only the two 405s proxied from the backend carry one
    assert got.with_allow_405 == sum(r[2] is not None for r in n405) == 2
    assert got.missing_count == sum(r[2] is None for r in n405) == 20
    assert sum(g.count for g in got.missing_on_405 if g.method == "TRACE") == 3
    assert got.empty_count == 0 and got.listed_count == 0 and got.inconsistent == ()
    assert any("Stock NGINX never sends Allow" in n for n in got.notes)


def test_nginx_sample_from_a_summary() -> None:
    frame, _ = _sample("nginx_timed.log")
    from_frame = check_allow(frame, server="nginx")
    got = check_allow(Summary.from_frame(frame), server="nginx")
    assert (got.responses_405, got.with_allow_405, got.missing_count) == (22, 2, 20)
    exact = {(g.vhost, g.method): g for g in from_frame.missing_on_405}
    for group in got.missing_on_405:
        assert group.count == exact[(group.vhost, group.method)].count
        if group.examples:  # only where certain: the same as from the frame
            assert group.examples == exact[(group.vhost, group.method)].examples
    # DELETE and PUT on www: one 405 each came from the backend with Allow, so the Summary's
    # examples of their 405s may not lack Allow and are left out
    assert sorted((g.vhost, g.method, g.count) for g in got.missing_on_405 if not g.examples) == [
        ("www.example.test", "DELETE", 2), ("www.example.test", "PUT", 1),
    ]


def test_nginx_sample_without_allow_column() -> None:
    formats = json.loads((SAMPLES / "formats.json").read_text())
    frame = analyzer.read_log(str(SAMPLES / "nginx_combined.log"),
                              formats["nginx_combined.log"]["format"])
    got = check_allow(frame, server="nginx")
    assert not got.logged
    assert got.responses_405 == _manifest_405s("nginx_combined.log") == 22
    assert got.how_to_log == HOW_TO_LOG["nginx"]
