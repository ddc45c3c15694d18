"""Reproduce commands on every shipped sample: the safe ones first and marked, and no
state-changing method sent to a real resource without the mark.

The commands are read back as a shell would read them (curl's method and URL, the request line
that printf writes), independently of how logscan built them.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from collections.abc import Iterator
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from paths import SAMPLE_LOGS

from analyzer import analyze
from analyzer.cli.app import main
from analyzer.render.html import report_html

# RFC 9110 section 9.2.1 and the IANA registry's "safe" column
SAFE = {"GET", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "REPORT", "SEARCH", "QUERY"}
MISSING = "logscan-missing"
FORMATS = json.loads((SAMPLE_LOGS / "formats.json").read_text())
SAMPLES = sorted(name for name, entry in FORMATS.items() if "rotated_set" not in entry)


@cache  # each report once per session: the tests only read it
def _run(name: str, fmt: str) -> str:
    args = [str(SAMPLE_LOGS / name), "--log-format", FORMATS[name]["format"], "--format", fmt]
    if fmt == "text":
        args.append("--details")  # the commands come with the evidence
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _findings(name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    data = json.loads(_run(name, "json"))
    for verdict in data["verdicts"]:
        yield f"{verdict['vhost']} {verdict['method']} {verdict['verdict']}", verdict
    for protocol in data["protocols"]:
        yield f"protocol {protocol['protocol']}", protocol


def sent(command: str) -> tuple[str, str]:
    """(method, request target) that the command sends."""
    sender = command.split(" | ", 1)[0]
    words = shlex.split(sender)
    if words[0] == "printf":
        text = words[1].replace("%%", "%").replace("\\r", "\r").replace("\\n", "\n")
        line = text.split("\r\n", 1)[0]
        method, _, rest = line.partition(" ")
        return method, rest.split(" ", 1)[0]
    assert words[0] == "curl", command
    method = "HEAD" if "--head" in words else words[words.index("-X") + 1]
    if "--request-target" in words:
        return method, words[words.index("--request-target") + 1]
    return method, urlsplit(words[-1]).path


@pytest.mark.parametrize("name", SAMPLES)
def test_safe_commands_come_first_and_are_marked(name: str) -> None:
    findings = list(_findings(name))
    assert findings
    unsafe_methods = 0
    for label, finding in findings:
        steps = finding["reproduce_commands"]
        assert [s["command"] for s in steps] == finding["reproduce"], label
        if not steps:  # a protocol seen and served: nothing to reproduce
            assert label.startswith("protocol "), label
            continue
        marks = [s["safe"] for s in steps]
        assert marks[0] is True, label
        assert marks == sorted(marks, reverse=True), (label, marks)  # no safe after unsafe
        for step in steps:
            assert step["why"], label
            method, target = sent(step["command"])
            changes = method not in SAFE
            if changes and MISSING not in target:
                assert step["safe"] is False, (label, step["command"])
            if step["safe"] is False:
                assert changes, (label, step["command"])
        refused = finding.get("method")
        if refused and refused not in SAFE:
            unsafe_methods += 1
            sends = [sent(s["command"]) for s in steps]
            real = next(sends[i] for i, st in enumerate(steps) if not st["safe"])
            assert sends[0] == ("OPTIONS", real[1] if refused != "CONNECT" else "/"), label
            assert sends[1][0] == refused and MISSING in sends[1][1], label
            assert steps[1]["safe"] is True
            assert real == (refused, sends[0][1] if refused != "CONNECT" else real[1]), label
    assert unsafe_methods >= 5, name


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("name", SAMPLES)
def test_every_printed_command_carries_its_mark(name: str, fmt: str) -> None:
    """In the text and Markdown reports each command sits under a '# safe:' or
    '# CHANGES DATA:' comment, and a state-changing method on a real resource is never under
    '# safe:'."""
    lines = [line.strip() for line in _run(name, fmt).splitlines()]
    mark = None
    commands = 0
    for line in lines:
        if line.startswith("# safe:") or line.startswith("# CHANGES DATA:"):
            mark = line.split(":", 1)[0]
        elif line.startswith(("curl -i ", "printf '")):
            assert mark is not None, line
            method, target = sent(line)
            if method not in SAFE and MISSING not in target:
                assert mark == "# CHANGES DATA", line
            commands += 1
            mark = None
        elif mark is not None and not line.startswith("#"):
            raise AssertionError(f"a mark with no command: {line!r}")
    assert commands > 10


def test_sent_reads_what_the_shell_sends() -> None:
    assert sent("curl -i -X PUT -H 'Host: a' http://h:8080/a/b?x=1") == ("PUT", "/a/b")
    assert sent("curl -i --head http://h/") == ("HEAD", "/")
    assert sent("curl -i -X CONNECT --request-target a.example:443 http://h/") == (
        "CONNECT", "a.example:443")
    assert sent(r"printf 'POST /x%%y HTTP/2.0\r\nHost: h\r\n\r\n' | nc h 80") == ("POST", "/x%y")
    assert re.search(MISSING, sent("curl -i -X PUT http://h/a/logscan-missing/nothing")[1])


@pytest.mark.parametrize("name", ["apache_vhost_allow.log", "nginx_combined.log"])
def test_html_marks_every_command(name: str) -> None:
    """The HTML report shows each command under a 'safe' or 'changes data' badge, in the JSON's
    order, with the reason (charts left out: they do not hold commands)."""
    report = analyze(str(SAMPLE_LOGS / name), log_format=FORMATS[name]["format"])
    page = report_html(report, charts=False)
    shown = [(badge == "b-safe", html.unescape(why), html.unescape(command)) for badge, why, command
             in re.findall(r'<span class="badge (b-safe|b-unsafe)">[^<]*</span> '
                           r'<span class="small">([^<]*)</span><pre class="snippet">([^<]*)</pre>',
                           page)]
    expected = [(s["safe"], s["why"], s["command"]) for _, finding in _findings(name)
                for s in finding["reproduce_commands"] if "protocol" not in finding
                or finding.get("findings") or finding.get("version_not_supported")]
    assert shown == expected
    assert any(not safe for safe, _, _ in shown)
