"""The glue that puts reproduction commands, fix guidance and Allow checks into reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from paths import SAMPLE_LOGS

from analyzer.advice.actions import (
    action_evidence,
    action_markdown,
    allow_check_lines,
    allow_check_markdown,
    protocol_actions,
    verdict_actions,
    with_actions,
    with_base_url,
)
from analyzer.advice.guidance import Guidance
from analyzer.advice.reproduce import Command
from analyzer.verdicts.allow_checks import AllowChecks, AllowGroup


@dataclass(frozen=True)
class V:
    vhost: str | None
    method: str
    verdict: str
    examples: tuple[dict[str, object], ...] = ()
    reproduce: tuple[Command | str, ...] = ()
    guidance: Guidance | None = None


@dataclass(frozen=True)
class P:
    protocol: str
    examples: tuple[dict[str, object], ...] = ()
    reproduce: tuple[str, ...] = ()
    guidance: Guidance | None = None


@dataclass(frozen=True)
class R:
    verdicts: tuple[V, ...] = ()
    protocols: tuple[P, ...] = field(default_factory=tuple)


def test_verdict_and_protocol_actions() -> None:
    v = V("www.example.test", "PATCH", "never_allowed", ({"target": "/a"},))
    commands, guidance = verdict_actions(v, "nginx")
    assert [(c.command, c.safe) for c in commands] == [
        ("curl -i -X OPTIONS http://www.example.test/a", True),
        ("curl -i -X PATCH http://www.example.test/logscan-missing/nothing", True),
        ("curl -i -X GET http://www.example.test/a", True),
        ("curl -i -X PATCH http://www.example.test/a", False),
    ]
    assert guidance is not None and guidance.server == "nginx"
    assert verdict_actions({**v.__dict__, "verdict": "bogus"}, "nginx")[1] is None
    commands, guidance = protocol_actions(P("HTTP/2.0", ({"target": "/"},)), "apache")
    assert commands[1].command.startswith("printf 'GET / HTTP/2.0\\r\\n")
    assert [c.safe for c in commands] == [True, True]
    assert guidance is not None and guidance.verdict == "version_not_supported"


def test_with_base_url_rewrites_every_command() -> None:
    v = V("www.example.test", "FOO", "capability_gap", ({"target": "/x"},))
    report = with_base_url(R((v,), (P("HTTP/3.0"),)), "http://10.0.0.5:8080")
    assert str(report.verdicts[0].reproduce[-1]) == (
        "curl -i -X FOO -H 'Host: www.example.test' http://10.0.0.5:8080/x"
    )
    assert str(report.protocols[0].reproduce[1]).endswith("| nc 10.0.0.5 8080")
    assert with_base_url(report, None) is report


def test_action_evidence_lines() -> None:
    commands, guidance = verdict_actions(
        V(None, "TRACE", "never_allowed", ({"target": "/"},)), "apache")
    items = action_evidence(V(None, "TRACE", "never_allowed", (), commands, guidance))
    assert items[0] == ("reproduce (safe commands first)", [
        "# safe: TRACE is a safe method (RFC 9110 §9.2.1): sending it to the real resource "
        "changes",
        "#   nothing.",
        "curl -i -X TRACE http://localhost/",
        "# safe: GET changes nothing: compare its answer with the refusal.",
        "curl -i -X GET http://localhost/",
    ])
    commands, _ = verdict_actions(V(None, "DELETE", "never_allowed", ({"target": "/x"},)),
                                  "nginx")
    lines = action_evidence(V(None, "DELETE", "never_allowed", (), commands))[0][1]
    assert lines[-4:] == [
        "# CHANGES DATA: DELETE on the real resource: refused today, but once DELETE works there",
        "#   (after a fix, or where it is implemented) it may change or delete data. Run it "
        "against a",
        "#   test copy, or only when that change is wanted.",
        "curl -i -X DELETE http://localhost/x",
    ]
    label, lines = items[1]
    assert label == ("fix: TRACE is refused: keep it that way with TraceEnable off "
                     "(RFC 9110 §9.3.8, §15.5.6, §10.2.1)")
    assert lines[-1] == "TraceEnable off"
    assert all("\n" not in line for line in lines)
    assert action_evidence(V(None, "X", "never_allowed")) == []


def test_allow_check_lines() -> None:
    assert allow_check_lines(None) == []
    off = AllowChecks(False, "nginx", how_to_log="NGINX: add ...", responses_405=3)
    assert allow_check_lines(off) == [
        "3 responses were 405, but the log format does not record the Allow header. To check it:",
        "  NGINX: add ...",
    ]
    on = AllowChecks(True, "nginx", responses_405=2, with_allow_405=1,
                     missing_on_405=(AllowGroup("h", "PUT", 1, examples=("a.log:3",)),))
    assert allow_check_lines(on) == [
        "405 responses: 2, with Allow: 1, without: 1, empty: 0",
        "",
        "405 without Allow (RFC 9110 §15.5.6: MUST be sent): 1",
        "  h PUT: 1  e.g. a.log:3",
    ]


def test_with_actions_fills_the_fields() -> None:
    filled = with_actions((V("h", "FOO", "capability_gap", ({"target": "/"},)),
                           P("HTTP/2.0", ({"target": "/"},))), "apache")
    assert str(filled[0].reproduce[-1]) == "curl -i -X FOO http://h/"
    assert filled[0].guidance is not None and filled[0].guidance.verdict == "capability_gap"
    assert str(filled[1].reproduce[0]) == "curl -i --http1.1 -X GET http://localhost/"
    assert filled[1].guidance is not None and filled[1].guidance.server == "apache"


def test_markdown_fences_cannot_be_closed_from_the_log() -> None:
    hostile = V("h", "FOO", "capability_gap", (), ("curl -i 'http://h/```\n<script>'",), None)
    lines = action_markdown(hostile)
    assert lines[:4] == ["", "**Reproduce** (safe commands first):", "", "````sh"]
    assert lines[4] == "curl -i 'http://h/```\\x0a<script>'"
    assert lines[5] == "````"
    checks = AllowChecks(True, "nginx", responses_405=1,
                         missing_on_405=(AllowGroup("```", "PUT", 1),))
    block = allow_check_markdown(checks)
    assert block[0] == "````text" and block[-1] == "````"
    assert allow_check_markdown(None) == []


def test_cli_json_carries_the_actions() -> None:
    import json

    from click.testing import CliRunner

    from analyzer.cli.app import main

    samples = SAMPLE_LOGS
    fmt = json.loads((samples / "formats.json").read_text())["nginx_timed.log"]["format"]
    args = [str(samples / "nginx_timed.log"), "--log-format", fmt, "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--base-url", "http://127.0.0.1:8080"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    trace = next(v for v in data["verdicts"]
                 if (v["vhost"], v["method"]) == ("static.example.test", "TRACE"))
    assert trace["verdict"] == "never_allowed"
    assert trace["reproduce"] == [
        "curl -i -X TRACE -H 'Host: static.example.test' http://127.0.0.1:8080/",
        "curl -i -X GET -H 'Host: static.example.test' http://127.0.0.1:8080/",
    ]
    assert [(c["command"], c["safe"]) for c in trace["reproduce_commands"]] == [
        (command, True) for command in trace["reproduce"]
    ]
    put = next(v for v in data["verdicts"] if v["method"] == "PUT")
    assert [c["safe"] for c in put["reproduce_commands"]][-1] is False
    assert set(put["reproduce_commands"][0]) == {"command", "safe", "why"}
    assert trace["guidance"]["title"] == "NGINX always refuses TRACE with 405 (and no Allow header)"
    assert set(trace["guidance"]) == {"title", "why", "snippet", "rfc"}
    assert all(p["reproduce"] for p in data["protocols"])
    checks = data["allow_checks"]
    assert (checks["responses_405"], checks["with_allow_405"]) == (22, 2)
    assert checks["missing_on_405"]["count"] == 20

    bad = CliRunner().invoke(main, [*args, "--base-url", "ftp://x"])
    assert bad.exit_code == 2
    assert "Invalid value for '--base-url': base URL 'ftp://x': expected http://HOST" in bad.stderr
