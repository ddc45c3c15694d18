"""Classes, verdicts, protocol findings and server guesses, on small inline frames."""

from __future__ import annotations

import pandas as pd
import pytest

import analyzer
from analyzer.summary.summary import Summary
from analyzer.verdicts.classify import (
    assign_verdicts,
    mark_registered,
    parse_versions,
    protocol_findings,
    protocol_table,
    verdict_table,
)
from analyzer.verdicts.server import guess_server


def req(method: str | None, status: int, *, vhost: str | None = None, protocol: str | None =
        "HTTP/1.1", target: str | None = "/", client: str = "192.0.2.1",
        user_agent: str = "curl/8.5.0", allow: str | None = None) -> dict[str, object]:
    request = "-" if method is None else " ".join(p for p in (method, target, protocol) if p)
    return {"vhost": vhost, "method": method, "protocol": protocol, "target": target,
            "request": request, "status": status, "client": client, "user_agent": user_agent,
            "allow": allow}


def log(*rows: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame.insert(0, "line", range(1, len(frame) + 1))
    frame.insert(0, "source", "inline.log")
    frame["time"] = pd.date_range("2025-10-01", periods=len(frame), freq="min", tz="UTC")
    frame["status"] = frame["status"].astype("int16")
    return frame


def verdicts(frame: pd.DataFrame, server: str = "auto") -> dict[tuple[object, str], str]:
    table = verdict_table(frame, server=server)
    return {(v, m): d for v, m, d in zip(table["vhost"], table["method"], table["verdict"],
                                          strict=True)}


# -- per request --------------------------------------------------------------------------------

def test_classify_adds_the_class_of_each_request():
    frame = log(req("FOO", 501), req("PUT", 405), req("GET", 505, protocol="HTTP/2.0"),
                req("GET", 200), req("GET", 400))
    classes = analyzer.verdicts.classify.classify(frame)["class"]
    assert list(classes.astype(object).where(classes.notna(), None)) == [
        "not_implemented", "method_not_allowed", "version_not_supported", None, None,
    ]
    assert list(classes.cat.categories) == [
        "not_implemented", "method_not_allowed", "version_not_supported",
    ]


# -- verdicts -------------------------------------------------------------------------------

def test_capability_gap_501_and_never_succeeded():
    assert verdicts(log(req("FOO", 501), req("FOO", 501, target="/x"), req("GET", 200))) == {
        (None, "FOO"): "capability_gap",
    }


def test_partial_implementation_501_but_succeeded_elsewhere():
    frame = log(req("PATCH", 501, target="/legacy"), req("PATCH", 200, target="/api/1"))
    assert verdicts(frame) == {(None, "PATCH"): "partial_implementation"}


def test_resource_restriction_405_and_succeeded_elsewhere():
    frame = log(req("PUT", 405, target="/index.html"), req("PUT", 201, target="/api/1"),
                req("PUT", 204, target="/api/2"))
    table = verdict_table(frame)
    assert table.loc[0, "verdict"] == "resource_restriction"
    assert table.loc[0, "successes"] == 2
    assert table.loc[0, "counts"] == {"201": 1, "204": 1, "405": 1}


def test_never_allowed_405_and_never_succeeded():
    assert verdicts(log(req("TRACE", 405), req("TRACE", 405), req("GET", 200))) == {
        (None, "TRACE"): "never_allowed",
    }


def test_405_and_501_without_success_is_a_capability_gap_that_notes_the_405s():
    frame = log(req("DELETE", 405, target="/index.html"), req("DELETE", 405, target="/a"),
                req("DELETE", 501, target="/api/legacy/9"))
    table = verdict_table(frame, server="nginx")
    assert list(table["verdict"]) == ["capability_gap"]
    assert table.loc[0, "not_implemented"] == 1
    assert table.loc[0, "method_not_allowed"] == 2
    assert table.loc[0, "counts"] == {"405": 2, "501": 1}
    assert any("also answered 405 2 times" in note for note in table.loc[0, "notes"])


def test_a_vhost_that_lacks_a_method_another_implements():
    frame = log(req("PATCH", 200, vhost="api.example"), req("PATCH", 204, vhost="api.example"),
                req("PATCH", 501, vhost="www.example"), req("GET", 200, vhost="www.example"))
    table = verdict_table(frame)
    assert verdicts(frame) == {("www.example", "PATCH"): "capability_gap"}
    assert table.loc[0, "succeeded_elsewhere"] == ["api.example"]
    assert any("succeeded on other virtual hosts: api.example" in n for n in table.loc[0, "notes"])


def test_verdicts_are_per_vhost():
    frame = log(req("PUT", 405, vhost="a"), req("PUT", 200, vhost="a"), req("PUT", 405, vhost="b"))
    assert verdicts(frame) == {("a", "PUT"): "resource_restriction", ("b", "PUT"): "never_allowed"}


def test_requests_without_a_method_are_counted_but_get_no_verdict():
    frame = log(req(None, 501, protocol=None, target=None), req(None, 405, protocol=None,
                                                                 target=None))
    assert verdicts(frame) == {}
    report = analyzer.analyze(frame)
    assert report.classes["not_implemented"].by == {"-": 1}
    assert report.classes["method_not_allowed"].by == {"-": 1}
    assert report.verdicts == ()


def test_no_classed_request_no_verdict():
    assert verdict_table(log(req("GET", 200), req("POST", 404))).empty


def test_assign_verdicts_alone():
    table = pd.DataFrame({
        "vhost": [None] * 5,
        "method": ["A", "B", "C", "D", "E"],
        "not_implemented": [2, 1, 0, 0, 0],
        "method_not_allowed": [0, 0, 3, 1, 0],
        "successes": [0, 5, 2, 0, 9],
    })
    assert list(assign_verdicts(table)["verdict"]) == [
        "capability_gap", "partial_implementation", "resource_restriction", "never_allowed",
    ]


def test_mark_registered_alone():
    table = pd.DataFrame({"method": ["PATCH", "FOO", "get", "QUERY", "PROPFIND"]})
    assert list(mark_registered(table)["registered"]) == [True, False, False, True, True]


def test_unregistered_methods_are_noted():
    table = verdict_table(log(req("FOO", 501)))
    assert not table.loc[0, "registered"]
    assert any("not in the IANA HTTP Method Registry" in n for n in table.loc[0, "notes"])


# -- explanations know the server -------------------------------------------------------------

def test_nginx_never_allowed_is_the_capability_gap():
    table = verdict_table(log(req("PROPFIND", 405)), server="nginx")
    assert any("on NGINX this is the capability gap" in n for n in table.loc[0, "notes"])


def test_apache_405_for_webdav_is_effectively_a_gap():
    table = verdict_table(log(req("PROPFIND", 405)), server="apache")
    assert any("a WebDAV method Apache knows by name" in n for n in table.loc[0, "notes"])


def test_apache_501_for_an_unknown_method():
    table = verdict_table(log(req("FOO", 501)), server="apache")
    assert any("Apache answers 501 to method names it does not know" in n
               for n in table.loc[0, "notes"])


def test_501_on_a_body_method_that_works_elsewhere_points_at_transfer_encoding():
    table = verdict_table(log(req("POST", 501), req("POST", 201)), server="apache")
    assert table.loc[0, "verdict"] == "partial_implementation"
    assert any("Transfer-Encoding" in n for n in table.loc[0, "notes"])


def test_trace_405_is_a_deliberate_ban():
    table = verdict_table(log(req("TRACE", 405)), server="apache")
    assert any("deliberate ban" in n for n in table.loc[0, "notes"])


# -- protocols --------------------------------------------------------------------------------

def test_505_for_http_1_1_is_a_mismatch():
    table = protocol_table(log(req("GET", 505, protocol="HTTP/1.1"), req("GET", 200)))
    assert list(table["protocol"]) == ["HTTP/1.1"]
    assert table.loc[0, "findings"] == ["505_for_http1"]
    assert table.loc[0, "version_not_supported"] == 1


def test_400_for_a_well_formed_http_2_request_line():
    table = protocol_table(log(req("GET", 400, protocol="HTTP/2.0"),
                               req("GET", 400, protocol="HTTP/0.9"),
                               req("GET", 400, protocol="HTTP/3.0")))
    assert dict(zip(table["protocol"], table["findings"], strict=True)) == {
        "HTTP/0.9": ["400_for_unsupported_version"],
        "HTTP/2.0": ["400_for_unsupported_version"],
        "HTTP/3.0": ["400_for_unsupported_version"],
    }


def test_400_for_the_h2_preface_is_not_a_version_gap():
    table = protocol_table(log(req("PRI", 400, protocol="HTTP/2.0", target="*")))
    assert table.loc[0, "findings"] == ["400_for_h2_preface"]


def test_400_for_a_higher_http_1_minor_version():
    table = protocol_table(log(req("GET", 400, protocol="HTTP/1.2")))
    assert table.loc[0, "findings"] == ["400_for_http1_minor"]


def test_505_for_http_2_is_the_class_without_a_mismatch():
    table = protocol_table(log(req("GET", 505, protocol="HTTP/2.0"),
                               req("GET", 505, protocol="HTTP/2.0")), server="nginx")
    assert table.loc[0, "findings"] == []
    assert table.loc[0, "counts"] == {"505": 2}
    assert "NGINX answers 505" in table.loc[0, "explanation"]


def test_http_2_served_by_apache_is_ordinary_traffic():
    table = protocol_table(log(req("GET", 200, protocol="HTTP/2.0")), server="apache")
    assert table.loc[0, "findings"] == []
    assert "ordinary HTTP/2 traffic (mod_http2)" in table.loc[0, "explanation"]


def test_http_1_0_and_1_1_are_left_out_unless_answered_505():
    assert protocol_table(log(req("GET", 200), req("GET", 400, protocol="HTTP/1.0"))).empty


def test_protocol_steps_alone():
    counts = pd.DataFrame({
        "protocol": ["HTTP/1.1", "HTTP/2.0", "HTTP/1.2", "FOO/1.0", "-"],
        "status": [505, 400, 400, 400, 400],
        "preface": [False] * 5,
        "count": [1, 1, 1, 1, 1],
    })
    parsed = parse_versions(counts)
    assert list(parsed["major"].astype(object).where(parsed["major"].notna(), None)) == [
        1, 2, 1, None, None,
    ]
    assert list(protocol_findings(parsed)["finding"]) == [
        "505_for_http1", "400_for_unsupported_version", "400_for_http1_minor", "", "",
    ]


# -- which server -----------------------------------------------------------------------------

def test_server_option_wins():
    assert guess_server(log(req("GET", 505)), "apache").name == "apache"
    assert guess_server(log(req("GET", 505)), "apache").basis == "option"


def test_server_from_the_format():
    frame = log(req("GET", 200))
    summary = Summary.from_frame(frame)
    sources = summary.part("sources").to_pydict()
    sources["server"] = ["nginx"]
    sources["format"] = ["nginx_combined"]
    import pyarrow as pa

    summary = Summary({**summary.parts, "sources": pa.table(sources)})
    guess = guess_server(summary)
    assert (guess.name, guess.basis) == ("nginx", "format")


@pytest.mark.parametrize(
    ("rows", "name"),
    [
        ([req("GET", 505, protocol="HTTP/2.0")], "nginx"),
        ([req("FOO", 405), req("PUT", 405)], "nginx"),
        ([req("get", 501)], "apache"),
        ([req("PATCH", 405, allow="GET,HEAD,POST,OPTIONS")], "apache"),
        ([req("GET", 200)], "unknown"),
    ],
)
def test_server_from_the_evidence(rows, name):
    guess = guess_server(log(*rows))
    assert guess.name == name
    assert guess.basis == ("none" if name == "unknown" else "evidence")
