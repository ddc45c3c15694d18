"""Hostile log values in every output (DESIGN.md section 6): HTML escaped (checked in headless
Chromium), no control character or escape sequence reaching a terminal, CSV cells that cannot
run as formulas, Markdown tables that stay tables, JSON that stays JSON; error messages too."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from html_tags import tags_of

from analyzer.cli.app import main

# what must never reach a terminal raw: C0 controls but the newline, DEL, C1 controls, the bidi
# and invisible formatting characters, lone surrogates
RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)
TERMINAL = [
    "\x1b]0;pwned\x07",  # OSC: set the window title
    "\x1b[31mRED\x1b[0m",  # CSI: colour
    "\x9b31mC1",  # C1 CSI
    "\x07bell\x08bs\rcr",
    "\u202eevil\u202c",  # right-to-left override
    "\u2066iso\u2069\u2067\u2068",  # isolates
    "\x85nel\u200bzw\ufeffbom",
]
# a node with this id, or this title, would prove a script ran
NODE_ID = "logscan-injected"
ADD_NODE = (f"document.body.appendChild(Object.assign(document.createElement('div'),"
            f"{{id:'{NODE_ID}'}}))")
HTML = [
    "<script>document.title='pwned'</script>",
    f"<img src=x onerror=\"{ADD_NODE}\">",
    f"\"'><svg onload=\"{ADD_NODE}\">",
    f"<svg><script>{ADD_NODE}</script></svg>",
    "javascript:document.title='pwned'",
    f"' onmouseover='{ADD_NODE}' x='",
    "</code></td></tr></table><iframe src=javascript:alert(1)>",
    "<!--",
    "]]><![CDATA[",
]
CSV_FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\")"]
PAYLOADS = TERMINAL + HTML + CSV_FORMULAS + ["a|b|c", "line\nbreak", "`tick` *star* [l](x)"]

FORMAT = ('%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" "%{Allow}o" '
          '"%{X-Forwarded-For}i"')
NGINX_RAW = ('escape=none $host $remote_addr - $remote_user [$time_local] "$request" $status '
             '$body_bytes_sent "$http_referer" "$http_user_agent"')


def apache_escaped(value: str) -> str:
    """The value as Apache's ap_escape_logitem writes it (so the parser decodes it back)."""
    out = []
    for byte in value.encode("utf-8"):
        if byte == 0x22:
            out.append('\\"')
        elif byte == 0x5C:
            out.append("\\\\")
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(chr(byte))
    return "".join(out)


def token(value: str) -> str:
    """A payload as a space-free token (vhost, user, protocol)."""
    return value.replace(" ", "_")


def apache_lines() -> list[str]:
    lines = []
    n = 0
    for minute in range(40):
        for payload in PAYLOADS:
            esc = apache_escaped
            for status, method, protocol in ((501, "FOO", "HTTP/1.1"), (405, "PUT", "HTTP/1.1"),
                                             (505, "GET", "HTTP/2.0" + token(payload)),
                                             (200, "PUT", "HTTP/1.1")):
                # a burst of 505s in minute 30: a spike, whose line names the protocol (the
                # terminal payloads' only: a minute keeps 8 keys of a status, the rest folded)
                burst = 25 if payload in TERMINAL else 0
                for _ in range(burst if status == 505 and minute == 30 else 1):
                    request = f"{method} /p{payload}?q={payload} {protocol}"
                    lines.append(
                        f"{esc(token(payload))}:80 10.0.{n % 200}.1 - {esc(token(payload))} "
                        f"[01/Mar/2026:10:{minute:02d}:00 +0000] \"{esc(request)}\" {status} 5 "
                        f"\"{esc('http://r/' + payload)}\" \"{esc('Mozilla/5.0 ' + payload)}\" "
                        f"\"{esc('GET, ' + payload)}\" \"{esc(payload)}\""
                    )
                    n += 1
    lines += [apache_escaped(f"junk {p}") for p in PAYLOADS]  # rejected: shown as examples
    lines += [f"raw junk {p}".replace("\n", " ") for p in PAYLOADS]
    return lines


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.fixture(scope="module")
def apache_log(hostile_dir) -> Path:
    # the file name is shown in every report too
    path = hostile_dir / "\x1b]0;pwned\x07<svg onload=alert(1)>\u202e.log"
    path.write_text("\n".join(apache_lines()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def nginx_raw_log(hostile_dir) -> Path:
    """escape=none: the payloads as raw bytes in the log (and bytes that are not UTF-8)."""
    lines = []
    for i, payload in enumerate(TERMINAL + HTML):
        flat = payload.replace("\n", " ").replace('"', "'")
        for status in (501, 405, 200):
            lines.append(
                f"h{i}.test 10.1.0.{i} - - [01/Mar/2026:10:00:{i:02d} +0000] "
                f"\"FOO /{flat} HTTP/1.1\" {status} 5 \"{flat}\" \"curl/8 {flat}\"".encode()
            )
    lines.append(b'h.test 10.1.0.99 - - [01/Mar/2026:10:01:00 +0000] "FOO /\x9b\xff\x1b HTTP/1.1"'
                 b' 501 5 "\xc2\x9b" "ua \xe2\x80\xae\x1b]0;x\x07"')
    path = hostile_dir / "raw.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.fixture(scope="module")
def outputs(apache_log) -> dict[str, str]:
    # the text report with its details (every value it can show), wide enough not to wrap them
    wide = {"text": ["--details", "--width", "400"]}
    return {fmt: run(str(apache_log), "--log-format", FORMAT, "--format", fmt, *wide.get(fmt, []))
            for fmt in ("text", "json", "markdown", "csv", "html")}


def test_the_payloads_reach_the_report(outputs):
    """The control: the report does hold the payloads (decoded), else nothing here is tested."""
    data = json.loads(outputs["json"])
    vhosts = {v["vhost"] for v in data["verdicts"]}
    assert token(TERMINAL[0]) in vhosts and token(HTML[1]) in vhosts
    assert data["totals"]["rejected"] == 2 * len(PAYLOADS)
    assert any(s["key"].startswith("HTTP/2.0\x1b") for s in data["trends"]["spikes"])
    assert "\\u001b]0;pwned\\u0007" in outputs["json"]


# -- terminal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "csv", "html"])
def test_no_raw_control_character_in_any_output(outputs, fmt):
    """Every format may be printed on a terminal: none carries a raw escape sequence."""
    found = sorted({repr(c) for c in RAW_CONTROL.findall(outputs[fmt])})
    assert not found, fmt


def test_text_shows_the_sequences_escaped(outputs):
    text = outputs["text"]
    assert "\\x1b]0;pwned\\x07" in text
    assert "\\x9b31mC1" in text
    assert "\\u202eevil\\u202c" in text
    # the spike lines name the protocol too
    assert re.search(r"version_not_supported HTTP/2\.0\\x1b\]0;pwned\\x07: 25", text)


def test_raw_bytes_from_an_escape_none_log(nginx_raw_log):
    for fmt in ("text", "markdown", "csv", "json", "html"):
        out = run(str(nginx_raw_log), "--log-format", NGINX_RAW, "--format", fmt)
        assert not RAW_CONTROL.findall(out), fmt
    text = run(str(nginx_raw_log), "--log-format", NGINX_RAW, "--details", "--width", "400")
    assert "\\x1b]0;pwned\\x07" in text and "\\u202e" in text


def test_scheduled_report_text(apache_log, tmp_path):
    out = run("report", str(apache_log), "--state", str(tmp_path / "state"), "--log-format",
              FORMAT)
    assert "\\x1b]0;pwned\\x07" in out
    assert not RAW_CONTROL.findall(out)


# -- error messages -----------------------------------------------------------------------------

HOSTILE_NAME = "nope\x1b]0;pwned\x07\x9b\u202e.log"


def one_safe_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: "), result.stderr
    assert not RAW_CONTROL.findall(result.stderr), result.stderr
    return lines[-1]


@pytest.mark.parametrize("args", [
    [HOSTILE_NAME],
    ["report", HOSTILE_NAME, "--state", "/tmp/logscan-test-state"],
    ["explain", "\x1b]0;pwned\x07\u202e"],
], ids=["analyze", "report", "explain"])
def test_a_hostile_argument_in_an_error(args):
    line = one_safe_line(CliRunner().invoke(main, args))
    assert "\\x1b]0;pwned\\x07" in line


@pytest.mark.parametrize("value", [
    "%Z\x1b]0;pwned\x07", "\x1b[31m\u202e", "$\x1b]0;x\x07 $status", "%h" + "\x1b" * 5000,
])
def test_a_hostile_log_format_in_an_error(value, tmp_path):
    log = tmp_path / "a.log"
    log.write_text("x\n")
    line = one_safe_line(CliRunner().invoke(main, [str(log), "--log-format", value]))
    assert len(line) < 400


@pytest.mark.parametrize("args", [
    ["--\x1b]0;pwned\x07"],
    ["--format", "\x1b]0;pwned\x07"],
    ["--since", "\x1b]0;pwned\x07"],
    ["--fail-on", "\x1b]0;pwned\x07"],
    ["-o", "/nonexistent/\x1b]0;pwned\x07/out.txt"],
], ids=["option", "choice", "since", "fail-on", "output"])
def test_click_errors_are_safe_too(args, tmp_path):
    log = tmp_path / "a.log"
    log.write_text('192.0.2.1 - - [01/Oct/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"\n')
    result = CliRunner().invoke(main, [str(log), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not RAW_CONTROL.findall(result.stderr), result.stderr


def test_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"access\xff\x1b]0;x\x07.log")
    path = tmp_path / name
    path.write_text('192.0.2.1 - - [01/Oct/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 5\n')
    line = one_safe_line(CliRunner().invoke(main, [str(path)]))
    assert line.endswith("access\\xff\\x1b]0;x\\x07.log: the file name is not valid UTF-8; "
                         "rename the file, or link it under a UTF-8 name")


def test_errors_in_a_real_terminal_process(tmp_path):
    """The same, in a real process: one line on stderr, escaped, no traceback."""
    done = subprocess.run([sys.executable, "-m", "analyzer", str(tmp_path / HOSTILE_NAME)],
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    stderr = done.stderr.decode("utf-8")
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert not RAW_CONTROL.findall(stderr)


# -- CSV, Markdown, JSON ----------------------------------------------------------------------


def test_csv_cells_cannot_run_as_formulas(outputs):
    rows = list(csv.reader(io.StringIO(outputs["csv"])))
    assert len(rows) > 50
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # the formulas are there, neutralised
    assert "'=1+1" in cells and "'@SUM(A1)" in cells and "'-CMD" not in cells
    assert "\\x09=1" in cells and "\\x0d=1" in cells


def test_markdown_tables_stay_tables(outputs):
    text = outputs["markdown"]
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) <= 1, block[:300]
    assert "a\\|b\\|c" in text
    assert "line\\\\x0abreak" in text  # the line break shown as \x0a (its backslash escaped)
    # outside code blocks (which a Markdown renderer shows as text), no markup at all; a fence
    # is longer than any run of backticks inside it, so a value cannot close it
    prose, fence = [], None
    for row in text.splitlines():
        opening = re.match(r"^(`{3,})", row)
        if fence is None and opening:
            fence = opening[1]
        elif fence is not None and row == fence:
            fence = None
        elif fence is None:
            prose.append(row)
        else:
            assert fence not in row
    assert fence is None
    outside = "\n".join(prose)
    assert "<script" not in outside and "<img" not in outside and "&lt;script&gt;" in outside


def test_json_is_json_whatever_the_bytes(outputs, nginx_raw_log, tmp_path):
    data = json.loads(outputs["json"])
    assert any("\x1b]0;pwned\x07" in (v.get("vhost") or "") for v in data["verdicts"])
    # bytes that are not UTF-8, NUL, and an escaped lone surrogate (NGINX escape=json)
    odd = tmp_path / "odd.log"
    odd.write_bytes(
        b'192.0.2.1 - - [01/Oct/2025:10:00:00 +0000] "FOO /\xff\xfe\x00 HTTP/1.1" 501 5 "-" '
        b'"\xed\xa0\x80"\n\x00\x00\x00\n\xff\n'
        b'{"ua": "\\ud800\\u001b"}\n'
    )
    for path, fmt in ((odd, "combined"), (nginx_raw_log, NGINX_RAW)):
        out = run(str(path), "--format", "json", "--log-format", fmt)
        json.loads(out)
        assert not RAW_CONTROL.findall(out)
    out = run(str(odd), "--format", "json", "--log-format",
              "escape=json $remote_addr - $remote_user [$time_local] \"$request\" $status "
              "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"")
    json.loads(out)


# -- HTML ---------------------------------------------------------------------------------------


def test_html_has_no_markup_from_the_log(outputs):
    page = outputs["html"]
    lowered = page.lower()
    for bad in ("<script", "<svg", "<img src=x", "<iframe", "onerror=\"", "onload=\""):
        assert bad not in lowered, bad
    for name, attrs in tags_of(page):
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        for key in ("href", "src"):
            value = (attrs.get(key) or "").strip().lower()
            assert not value or value.startswith(("#", "data:image/svg+xml;base64,")), value
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert "javascript:document.title=&#39;pwned&#39;" in page  # text, never a link


def test_chart_labels_carry_no_markup(outputs):
    uris = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', outputs["html"])
    assert len(uris) == 3
    for uri in uris:
        svg = base64.b64decode(uri).decode("utf-8")
        assert "<script" not in svg and "<img" not in svg and "onload" not in svg
        assert "<iframe" not in svg and "<!--<!--" not in svg
        assert not RAW_CONTROL.findall(svg)


CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Chromium is not installed (apt-get install chromium); on CI (CI=true) this runs",
)


def dump_dom(path: Path) -> str:
    assert CHROMIUM is not None, "Chromium is required on CI: apt-get install chromium"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=3000",
             "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
    assert "<html" in done.stdout or "<svg" in done.stdout, done.stderr[-2000:]
    return done.stdout


@needs_chromium
def test_chromium_control_sees_an_injected_node(tmp_path):
    """The control: the same check sees a script that does run."""
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><title>before</title><body>{HTML[1]}{HTML[0]}</body>")
    dom = dump_dom(page)
    assert f'id="{NODE_ID}"' in dom and "<title>pwned</title>" in dom


@needs_chromium
def test_chromium_runs_no_injected_script(outputs, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(outputs["html"], encoding="utf-8")
    dom = dump_dom(page)
    assert "<title>logscan report</title>" in dom
    assert f'id="{NODE_ID}"' not in dom and NODE_ID in dom  # shown as text, never a node
    assert "<iframe" not in dom.lower() and "<script" not in dom.lower()


@needs_chromium
def test_chromium_opens_a_chart_svg_without_running_a_label(apache_log, tmp_path):
    """A chart saved as SVG and opened as a page (not an image) runs nothing either."""
    svg = tmp_path / "trend.svg"
    run(str(apache_log), "--log-format", FORMAT, "--plot", str(svg), "-o",
        str(tmp_path / "r.txt"))
    text = svg.read_text(encoding="utf-8")
    assert "pwned" in text  # the labels are in it
    dom = dump_dom(svg)
    assert f'id="{NODE_ID}"' not in dom and "<title>pwned</title>" not in dom
