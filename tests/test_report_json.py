"""The JSON report contract (DESIGN.md section 5) on real logs, and end-to-end results on the
recorded sample logs, with every expectation computed from the ground-truth manifests."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from paths import REAL_LOGS, SAMPLE_LOGS

import analyzer
from analyzer.render.json import render_json
from analyzer.vocabulary import VERDICTS

SAMPLES = SAMPLE_LOGS
HOSTS = ("www.example.test", "static.example.test")
CLASS_STATUS = {"not_implemented": "501", "method_not_allowed": "405",
                "version_not_supported": "505"}


def _formats() -> dict[str, dict[str, object]]:
    return json.loads((SAMPLES / "formats.json").read_text())


def _manifest(name: str) -> list[dict[str, str]]:
    with (SAMPLES / f"{name}.manifest.csv").open(newline="", encoding="ascii") as fh:
        return list(csv.DictReader(fh))


def _report_json(*paths: Path | str, **options: object) -> dict:
    report = analyzer.analyze([str(p) for p in paths], **options)  # type: ignore[arg-type]
    return json.loads(render_json(report))


def _real_log(name: str) -> Path:
    path = REAL_LOGS / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    return path


# -- the contract -----------------------------------------------------------------------------

def assert_contract(data: dict) -> None:
    assert data["schema"] == "logscan.report/1"
    assert isinstance(data["sources"], list) and data["sources"]
    for source in data["sources"]:
        assert isinstance(source["path"], str)
        assert isinstance(source["format"], str)
        for key in ("lines", "parsed", "rejected"):
            assert type(source[key]) is int
        assert source["lines"] == source["parsed"] + source["rejected"]
    totals = data["totals"]
    assert set(totals) >= {"lines", "parsed", "rejected"}
    assert all(type(totals[k]) is int for k in ("lines", "parsed", "rejected"))
    assert totals["lines"] == totals["parsed"] + totals["rejected"]
    assert totals["lines"] == sum(s["lines"] for s in data["sources"])

    assert all(re.fullmatch(r"\d{3}", k) and type(v) is int
               for k, v in data["status_counts"].items())

    assert set(data["classes"]) >= set(CLASS_STATUS)
    for name, status in CLASS_STATUS.items():
        cls = data["classes"][name]
        assert type(cls["count"]) is int
        assert cls["count"] == data["status_counts"].get(status, 0)
        assert all(isinstance(k, str) and type(v) is int for k, v in cls["by"].items())
        assert sum(cls["by"].values()) == cls["count"]
        counts = [c["count"] for c in cls["top_clients"]]
        assert counts == sorted(counts, reverse=True)
        for client in cls["top_clients"]:
            assert isinstance(client["client"], str) and type(client["count"]) is int
        if cls["count"] == 0:
            assert cls["by"] == {} and cls["top_clients"] == []

    for verdict in data["verdicts"]:
        assert verdict["vhost"] is None or isinstance(verdict["vhost"], str)
        assert isinstance(verdict["method"], str)
        assert verdict["verdict"] in VERDICTS
        assert all(re.fullmatch(r"\d{3}", k) and type(v) is int
                   for k, v in verdict["counts"].items())
        assert verdict["counts"].get("501", 0) + verdict["counts"].get("405", 0) > 0
        for key in ("examples", "resources", "top_clients", "notes"):
            assert isinstance(verdict[key], list)
        assert isinstance(verdict["explanation"], str) and verdict["explanation"]
        assert isinstance(verdict["first_seen"], str) and isinstance(verdict["last_seen"], str)
        assert type(verdict["registered"]) is bool
        for example in verdict["examples"]:
            assert isinstance(example["source"], str) and type(example["line"]) is int

    rejects = data["rejects"]
    assert type(rejects["count"]) is int and rejects["count"] == totals["rejected"]
    assert sum(rejects["reasons"].values()) == rejects["count"]
    for example in rejects["examples"]:
        assert isinstance(example["source"], str)
        assert type(example["line"]) is int
        assert isinstance(example["reason"], str)


def test_contract_on_a_real_log_with_405s_and_rejects():
    data = _report_json(_real_log("advertools_combined_latin1_tail_gzip.log"))
    assert_contract(data)
    assert data["classes"]["method_not_allowed"]["count"] == 12
    assert data["classes"]["method_not_allowed"]["by"] == {"POST": 12}
    assert data["classes"]["not_implemented"] == {
        **data["classes"]["not_implemented"], "count": 0, "by": {}, "top_clients": [],
    }
    assert data["rejects"]["reasons"] == {"not_utf8": 31}
    assert [(v["method"], v["verdict"]) for v in data["verdicts"]] == [
        ("POST", "resource_restriction"),
    ]


@pytest.mark.parametrize("name", [
    "elastic_apache_combined.log", "apachelogs_vhost_combined.log",
    "crowdsec_http-dos-invalid-http-versions.log", "crowdsec_nginx-http-malformed.log",
    "crowdsec_calibre-web-ipv6-http2.log",
])
def test_contract_on_other_real_logs(name):
    assert_contract(_report_json(_real_log(name)))


def test_json_is_the_report_dict():
    report = analyzer.analyze(str(_real_log("apachelogs_vhost_combined.log")))
    assert json.loads(render_json(report)) == json.loads(json.dumps(report.to_dict()))


def test_invalid_http_versions_answered_400_are_findings():
    data = _report_json(_real_log("crowdsec_http-dos-invalid-http-versions.log"))
    findings = {p["protocol"]: p["findings"] for p in data["protocols"]}
    assert findings["HTTP/2.0"] == ["400_for_unsupported_version"]
    assert findings["HTTP/0.9"] == ["400_for_unsupported_version"]
    assert findings["HTTP/1.2"] == ["400_for_http1_minor"]


def test_http2_served_normally_is_no_finding():
    data = _report_json(_real_log("crowdsec_calibre-web-ipv6-http2.log"))
    http2 = [p for p in data["protocols"] if p["protocol"] == "HTTP/2.0"]
    assert http2 and http2[0]["findings"] == [] and http2[0]["version_not_supported"] == 0
    assert data["classes"]["version_not_supported"]["count"] == 0


# -- the recorded samples, against their manifests ---------------------------------------------

def _needs_samples() -> None:
    if not (SAMPLES / "formats.json").exists():
        pytest.skip("sample_logs/ has not been recorded")


SAMPLE_LOGS = ["apache_vhost_allow.log", "nginx_combined.log", "nginx_timed.log"]


def _sample_report(name: str) -> dict:
    _needs_samples()
    return _report_json(SAMPLES / name, log_format=_formats()[name]["format"])


def _expected_class(rows: list[dict[str, str]], status: str, key: str) -> dict[str, int]:
    return dict(Counter(r[key] or "-" for r in rows if r["client_status"] == status))


def _expected_clients(rows: list[dict[str, str]], status: str) -> list[tuple[str, int]]:
    counts = Counter(r["client_addr"] for r in rows if r["client_status"] == status)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]


@pytest.mark.parametrize("name", SAMPLE_LOGS)
def test_sample_classes_by_method_and_clients(name):
    data = _sample_report(name)
    assert_contract(data)
    rows = _manifest(name)
    for cls, status in CLASS_STATUS.items():
        key = "protocol" if status == "505" else "method"
        got = data["classes"][cls]
        assert got["by"] == _expected_class(rows, status, key), cls
        assert got["count"] == sum(1 for r in rows if r["client_status"] == status)
        assert [(c["client"], c["count"]) for c in got["top_clients"]] == \
            _expected_clients(rows, status)


def test_sample_class_totals():
    _needs_samples()
    apache, nginx = _sample_report("apache_vhost_allow.log"), _sample_report("nginx_combined.log")
    assert {k: v["count"] for k, v in apache["classes"].items()} == {
        "not_implemented": 18, "method_not_allowed": 12, "version_not_supported": 0,
    }
    assert {k: v["count"] for k, v in nginx["classes"].items()} == {
        "not_implemented": 13, "method_not_allowed": 22, "version_not_supported": 3,
    }


def _apache_vhost(sent: str) -> str:
    """Apache logs the vhost that served the request: unknown or missing hosts go to the
    first (default) one."""
    return sent if sent in HOSTS else HOSTS[0]


def _expected_verdicts(rows: list[dict[str, str]], vhost_of) -> dict[tuple, tuple[str, int, int]]:
    """DESIGN.md section 4 applied to the manifest: (vhost, method) -> (verdict, 501s, 405s)."""
    tally: dict[tuple, Counter] = {}
    for r in rows:
        if not r["method"] or not r["client_status"]:
            continue
        key = (vhost_of(r["vhost"]), r["method"])
        status = int(r["client_status"])
        counts = tally.setdefault(key, Counter())
        counts["501"] += status == 501
        counts["405"] += status == 405
        counts["ok"] += 200 <= status < 400
    out = {}
    for key, c in tally.items():
        if c["501"]:
            verdict = "partial_implementation" if c["ok"] else "capability_gap"
        elif c["405"]:
            verdict = "resource_restriction" if c["ok"] else "never_allowed"
        else:
            continue
        out[key] = (verdict, c["501"], c["405"])
    return out


@pytest.mark.parametrize(("name", "vhost_of"), [
    ("apache_vhost_allow.log", _apache_vhost),
    ("nginx_combined.log", lambda sent: None),
])
def test_sample_verdicts(name, vhost_of):
    data = _sample_report(name)
    got = {(v["vhost"], v["method"]): (v["verdict"], v["counts"].get("501", 0),
                                       v["counts"].get("405", 0)) for v in data["verdicts"]}
    assert got == _expected_verdicts(_manifest(name), vhost_of)


def test_sample_verdict_evidence_points_at_the_lines():
    data = _sample_report("nginx_combined.log")
    rows = _manifest("nginx_combined.log")
    for verdict in data["verdicts"]:
        for example in verdict["examples"]:
            row = rows[example["line"] - 1]  # line N of a log is row N of its manifest
            assert row["method"] == verdict["method"]
            assert row["client_status"] == str(example["status"])
            assert example["target"] == row["target"]
        clients = Counter(r["client_addr"] for r in rows if r["method"] == verdict["method"]
                          and r["client_status"] in ("405", "501"))
        assert {c["client"]: c["count"] for c in verdict["top_clients"]} == dict(clients)


def test_sample_protocol_findings():
    data = _sample_report("nginx_combined.log")
    rows = _manifest("nginx_combined.log")
    expected: dict[str, set[str]] = {}
    for r in rows:
        match = re.fullmatch(r"HTTP/(\d)\.(\d)", r["protocol"])
        if not match or r["client_status"] not in ("400", "505"):
            continue
        major, minor = int(match[1]), int(match[2])
        finding = None
        if r["client_status"] == "505" and major == 1:
            finding = "505_for_http1"
        elif r["client_status"] == "400" and r["method"] == "PRI" and major == 2:
            finding = "400_for_h2_preface"
        elif r["client_status"] == "400" and major != 1:
            finding = "400_for_unsupported_version"
        elif r["client_status"] == "400" and minor >= 2:
            finding = "400_for_http1_minor"
        if finding:
            expected.setdefault(r["protocol"], set()).add(finding)
    got = {p["protocol"]: set(p["findings"]) for p in data["protocols"] if p["findings"]}
    assert got == expected
    version = {p["protocol"]: p["version_not_supported"] for p in data["protocols"]
               if p["version_not_supported"]}
    assert version == _expected_class(rows, "505", "protocol")


def test_sample_servers():
    _needs_samples()
    apache = _sample_report("apache_vhost_allow.log")
    assert (apache["server"]["name"], apache["server"]["basis"]) == ("apache", "format")
    # the plain combined format could be either server: the 505s say NGINX
    nginx = _report_json(SAMPLES / "nginx_combined.log", log_format="combined")
    assert (nginx["server"]["name"], nginx["server"]["basis"]) == ("nginx", "evidence")


def test_sample_rotated_set_is_read_oldest_first():
    _needs_samples()
    names = ["nginx_rotated.log.2.gz", "nginx_rotated.log.1", "nginx_rotated.log"]
    data = _report_json(*(SAMPLES / n for n in reversed(names)))
    assert [Path(s["path"]).name for s in data["sources"]] == names
    rows = [r for n in names for r in _manifest(n)]
    assert data["totals"]["lines"] == len(rows)
    for cls, status in CLASS_STATUS.items():
        key = "protocol" if status == "505" else "method"
        assert data["classes"][cls]["by"] == _expected_class(rows, status, key)


def test_sample_x_forwarded_for_clients():
    _needs_samples()
    rows = _manifest("nginx_combined.log")
    if not any(r["x_forwarded_for"] for r in rows):
        pytest.skip("no X-Forwarded-For in this recording")
    with pytest.raises(analyzer.errors.UnknownFieldError):
        analyzer.analyze(str(SAMPLES / "nginx_combined.log"), client_field="x-forwarded-for")


def test_a_frame_gives_the_same_classes_and_verdicts_as_its_log():
    _needs_samples()
    from analyzer import analyze as analyze_stream

    name = "apache_vhost_allow.log"
    fmt = str(_formats()[name]["format"])
    from_log = analyze_stream(str(SAMPLES / name), log_format=fmt, server="apache").to_dict()
    frame = analyzer.read_log(str(SAMPLES / name), fmt)
    from_frame = analyze_stream(frame, server="apache").to_dict()
    for key in ("status_counts", "classes", "verdicts", "protocols", "trends"):
        assert from_frame[key] == from_log[key], key
    assert from_frame["sources"][0]["format"] == "(frame)"


def test_the_engine_and_a_single_pass_agree():
    _needs_samples()
    from oracle import one_pass

    path = str(SAMPLES / "nginx_combined.log")
    single = analyzer.build_report(one_pass(path)).to_dict()
    assert analyzer.analyze(path, workers=2).to_dict() == single
