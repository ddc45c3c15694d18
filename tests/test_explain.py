"""``logscan explain STATUS``: one page per status, a list without argument, exit 2 otherwise."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from analyzer.advice.explain import (
    PAGES,
    UnknownStatusError,
    explain,
    fixes_for,
    page_for,
    render_index,
)
from analyzer.advice.guidance import guidance_for
from analyzer.cli.app import main

LISTED = (400, 405, 408, 411, 413, 414, 417, 426, 444, 499, 501, 505)
KNOWN = "400, 405, 408, 411, 413, 414, 417, 426, 444, 499, 501, 505"


def test_the_listed_statuses() -> None:
    assert tuple(sorted(PAGES)) == LISTED


@pytest.mark.parametrize("status", LISTED)
def test_every_status_page(runner: CliRunner, status: int) -> None:
    result = runner.invoke(main, ["explain", str(status), "--width", "80"])
    assert result.exit_code == 0, result.output
    page = PAGES[status]
    lines = result.output.splitlines()
    assert lines[0] == f"{status} {page.name}"
    assert lines[1] == "=" * len(lines[0])
    for heading in ("How it differs", "What servers do", "How to investigate"):
        assert heading in lines
    assert any(line.startswith("  Apache httpd:  ") for line in lines)
    assert any(line.startswith("  NGINX:         ") for line in lines)
    assert all(len(line) <= 80 for line in _prose(result.output))


@pytest.mark.parametrize(
    ("status", "needles"),
    [
        (501, ["AH00135", "Never answers a method with 501", "Transfer-Encoding",
               "RFC 9110 §15.6.2"]),
        (405, ['"405 Not Allowed" and never an Allow header', "TraceEnable off",
               "RFC 9110 §15.5.6", "TRACE is always 405. CONNECT is 405 only with a path",
               "host:port, fails the request-line parser and is logged 400"]),
        (505, ["Never sends 505", "major version 2 or", "RFC 9110 §15.6.6"]),
        (400, ["client sent invalid method", "\\x16\\x03\\x01"]),
        (417, ["AH00570", "Never sends 417"]),
        (444, ["return 444", "No equivalent; Apache never logs 444."]),
        (499, ["NGX_HTTP_CLIENT_CLOSED_REQUEST", "$upstream_response_time"]),
    ],
)
def test_pages_say_what_servers_do(status: int, needles: list[str]) -> None:
    text = " ".join(explain(status, 100).split())  # undo the wrapping
    for needle in needles:
        assert needle in text


def test_no_argument_lists_the_statuses(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--width", "100"])
    assert result.exit_code == 0
    assert result.output == render_index(100)
    lines = result.output.splitlines()
    assert lines[0] == "Statuses logscan can explain (logscan explain STATUS):"
    listed = [int(line.split()[0]) for line in lines[2:] if line[2:5].isdigit()]
    assert listed == list(LISTED)
    assert "  501  Not Implemented: the server does not implement the method" in result.output


@pytest.mark.parametrize("status", ["999", "abc", "200"])
def test_unknown_status(runner: CliRunner, status: str) -> None:
    result = runner.invoke(main, ["explain", status])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: no explanation for status {status}; known: {KNOWN}\n"


def test_library_errors() -> None:
    with pytest.raises(UnknownStatusError, match="no explanation for status 999; known: 400"):
        page_for(999)
    assert page_for(" 501 ") is PAGES[501]


def _prose(page: str) -> list[str]:
    """The page without the snippet lines of "How to fix" (copied, never wrapped)."""
    lines = page.splitlines()
    if "How to fix" not in page:
        return lines
    start = next(i for i, line in enumerate(lines) if line.startswith("How to fix"))
    return lines[:start] + [line for line in lines[start:] if not line.startswith("    ")]


@pytest.mark.parametrize("width", [40, 60, 100])
def test_wraps_to_the_width(width: int) -> None:
    for status in LISTED:
        page = explain(status, width)
        assert all(len(line) <= width for line in _prose(page))
        assert all(len(line) <= 100 for line in page.splitlines())


@pytest.mark.parametrize(("status", "rows"), [
    (501, [("apache", "capability_gap", None), ("apache", "capability_gap", "DELETE"),
           ("apache", "partial_implementation", None), ("apache", "transfer_encoding", None),
           ("nginx", "capability_gap", None), ("nginx", "partial_implementation", None),
           ("nginx", "transfer_encoding", None)]),
    # NGINX's allow_missing snippet is its resource_restriction one: shown once
    (405, [("apache", "resource_restriction", None), ("apache", "never_allowed", None),
           ("apache", "never_allowed", "TRACE"), ("apache", "allow_missing", None),
           ("nginx", "resource_restriction", None), ("nginx", "never_allowed", None)]),
    (505, [("apache", "version_not_supported", None), ("nginx", "version_not_supported", None)]),
    (400, []),
])
def test_pages_show_the_snippets_analyze_prints(runner: CliRunner, status: int,
                                                rows: list[tuple[str, str, str | None]]) -> None:
    """One source: the page's snippets are guidance_for's, the ones the live tests apply."""
    assert [(g.server, g.verdict, m) for m, g in fixes_for(status)] == rows
    page = runner.invoke(main, ["explain", str(status), "--width", "100"]).output
    if not rows:
        assert "How to fix" not in page
        return
    fixes = page[page.index("How to fix"):]
    for server, verdict, method in rows:
        guidance = guidance_for(server, verdict, method)
        block = "\n".join(f"    {line}" if line else "" for line in guidance.snippet.splitlines())
        assert f"\n{block}\n" in fixes
        assert guidance.title in " ".join(fixes.split())
    assert fixes.count("    ") > 10


def test_width_comes_from_the_terminal(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "505"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert max(len(line) for line in _prose(result.output)) == 60


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--help"])
    assert result.exit_code == 0
    assert "logscan explain 501" in result.output
