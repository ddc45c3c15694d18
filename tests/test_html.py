"""The HTML report: self-contained, escaped, no script; rendered in headless Chromium."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from html_tags import tags_of
from paths import SAMPLE_LOGS

import analyzer
from analyzer.render.html import CSP, render_html, report_html

TITLE_PAYLOAD = "<script>document.title='pwned'</script>"
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"'><svg onload=alert(1)>",
    TITLE_PAYLOAD,
)
VHOST = "<script>alert('vhost')</script>"  # a vhost has no spaces: this one parses
TARGET_IMG = "/<img/src=x/onerror=document.title='pwned'>"
# a file name is a log value too: it is shown as the source of every example
SOURCE_NAME = "\"'><svg onload=alert(1)>.log"


def vhost_line(vhost: str, when: str, request: str, status: int, ua: str,
               referer: str = "-") -> str:
    escaped = request.replace("\\", "\\\\").replace('"', '\\"')
    ua = ua.replace("\\", "\\\\").replace('"', '\\"')
    referer = referer.replace("\\", "\\\\").replace('"', '\\"')
    return (f'{vhost}:80 10.0.0.66 - - [01/Mar/2026:{when} +0000] "{escaped}" {status} 0 '
            f'"{referer}" "{ua}"')


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / SOURCE_NAME
    lines = [
        vhost_line("www.example.test", "10:00:00", "GET / HTTP/1.1", 200, "curl/8.5.0"),
        vhost_line(VHOST, "10:01:00", "PATCH /ok HTTP/1.1", 200, PAYLOADS[0]),
        vhost_line(VHOST, "10:02:00", "PATCH /<img src=x onerror=alert(1)> HTTP/1.1", 501,
                   PAYLOADS[0]),
        vhost_line(VHOST, "10:03:00", f"PUT {TARGET_IMG} HTTP/1.1", 405, PAYLOADS[1],
                   referer=PAYLOADS[2]),
        vhost_line(VHOST, "10:04:00", f"DELETE /{TITLE_PAYLOAD} HTTP/1.1", 405, PAYLOADS[2]),
        vhost_line(VHOST, "10:05:00", "GET /\"'><svg/onload=alert(1)> HTTP/2.0", 505,
                   "$\\frac{1}{0}$ " + TITLE_PAYLOAD),
        vhost_line(VHOST, "10:06:00", f"{PAYLOADS[2]} / HTTP/1.1", 501, PAYLOADS[3]),
        "<script>alert('rejected line')</script> <img src=x onerror=alert(1)>",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(hostile_log):
    return analyzer.analyze(hostile_log, log_format="vhost_combined")


@pytest.fixture(scope="module")
def page(report) -> str:
    return render_html(report)


def test_the_log_values_reach_the_report(report):
    data = report.to_dict()
    assert {v["vhost"] for v in data["verdicts"]} == {VHOST}
    assert any(r["resource"].startswith("/<img") for v in data["verdicts"]
               for r in v["resources"])
    assert data["sources"][0]["path"].endswith(SOURCE_NAME)
    assert data["rejects"]["examples"][0]["text"].startswith("<script>")


def test_log_values_are_escaped(page):
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<svg" not in lowered
    assert "<img src=x" not in lowered
    assert "<img/src" not in lowered
    # ...and shown, as text
    assert "&lt;script&gt;alert(&#39;vhost&#39;)&lt;/script&gt;" in page
    assert "/&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(&#39;rejected line&#39;)&lt;/script&gt;" in page
    assert "&#34;&#39;&gt;&lt;svg onload=alert(1)&gt;.log" in page


def test_only_known_tags_and_no_event_handlers(page):
    tags = tags_of(page)
    names = {name for name, _ in tags}
    assert names <= {
        "html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "h3", "h4", "p",
        "span", "b", "code", "nav", "a", "section", "table", "thead", "tbody", "tr", "th", "td",
        "ul", "li", "dl", "dt", "dd", "article", "header", "figure", "img", "figcaption", "pre",
        "details", "summary",
        "footer",
    }  # fmt: skip
    for name, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (name, attrs)
        assert set(attrs) <= {"class", "id", "href", "src", "alt", "lang", "charset",
                              "http-equiv", "content", "name", "style"}, (name, attrs)


def test_no_remote_resources(page):
    for name, attrs in tags_of(page):
        for attribute in ("src", "href"):
            value = attrs.get(attribute)
            if value is not None:
                assert value.startswith(("data:image/svg+xml;base64,", "#")), (name, value)
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page


def test_content_security_policy(page):
    assert CSP == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    metas = [attrs for name, attrs in tags_of(page) if name == "meta"]
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in metas
    assert page.startswith("<!DOCTYPE html>")


def test_charts_are_svg_images_without_log_markup(page):
    uris = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 3
    for uri in uris:
        svg = base64.b64decode(uri).decode("utf-8")
        assert svg.lstrip().startswith("<?xml")
        assert "<script" not in svg and "onload" not in svg and "onerror" not in svg
        assert "<svg/" not in svg and "<img" not in svg


def test_sections(page):
    ids = {attrs.get("id") for _, attrs in tags_of(page)}
    assert {"summary", "not_implemented", "method_not_allowed", "version_not_supported",
            "methods", "clients", "trends", "rejects"} <= ids
    assert "Capability gap" in page or "Never allowed" in page


def test_fragment_for_jupyter(report):
    fragment = report_html(report, fragment=True, charts=False)
    assert fragment.lstrip().startswith("<style>")
    names = {name for name, _ in tags_of(fragment)}
    assert not names & {"html", "head", "meta", "title", "body"}
    assert 'class="logscan fragment"' in fragment
    assert "<script" not in fragment.lower() and "<img" not in fragment


def test_every_string_of_a_report_is_escaped():
    """Whatever a future Report carries, a string in it is escaped: a report whose every
    string is a payload renders without one raw tag."""
    evil = PAYLOADS[1]
    client = {"client": evil, "count": 1, "family": evil, "kind": evil}
    data = {
        "schema": evil,
        "sources": [{"path": evil, "format": evil, "lines": 1, "parsed": 1, "rejected": 0,
                     "detection": evil}],
        "totals": {"lines": 1, "parsed": 1, "rejected": 0},
        "server": {"name": evil, "reason": evil},
        "window": {"since": evil, "until": evil},
        "status_counts": {evil: 1},
        "classes": {
            name: {"count": 1, "key": "method", "by": {evil: 1}, "top_clients": [client],
                   "top_families": [{"family": evil, "count": 1}], "client_kinds": {evil: 1},
                   "first_seen": evil, "last_seen": evil,
                   "by_method": {evil: {"top_clients": [client]}}}
            for name in ("not_implemented", "method_not_allowed", "version_not_supported")
        },
        "verdicts": [{
            "vhost": evil, "method": evil, "verdict": evil, "counts": {evil: 1},
            "explanation": evil, "notes": [evil], "first_seen": evil, "last_seen": evil,
            "examples": [{"source": evil, "line": evil, "status": evil, "request": evil,
                          "client": evil}],
            "resources": [{"resource": evil, "count": evil}], "top_clients": [client],
            "client_kinds": {evil: 1}, "allow": [{"allow": evil, "count": 1}],
            "succeeded_elsewhere": [evil], evil: {evil: [evil]},
        }],
        "protocols": [{"protocol": evil, "counts": {evil: 1}, "findings": [evil],
                       "explanation": evil}],
        "trends": {"bucket": evil, "spike_rule": evil,
                   "series": [{"class": evil, "key": evil, "total": 1, "first_seen": evil}],
                   "spikes": [{"class": evil, "key": evil, "time": evil, "count": 1}]},
        "rejects": {"count": 1, "reasons": {evil: 1},
                    "examples": [{"source": evil, "line": 1, "reason": evil, "text": evil}]},
        evil: {evil: evil},
    }
    html = report_html(data, charts=False)
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") > 40


def test_cli_format_html(hostile_log, tmp_path):
    from click.testing import CliRunner

    from analyzer.cli.app import main

    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, [str(hostile_log), "--log-format", "vhost_combined",
                                       "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert {"http-equiv": "Content-Security-Policy", "content": CSP} in [
        attrs for name, attrs in tags_of(page) if name == "meta"
    ]
    assert "<script" not in page.lower()


# --- headless Chromium ---------------------------------------------------------------------------

CHROMIUM = next(
    (found for name in ("chromium", "chromium-browser", "google-chrome")
     if (found := shutil.which(name))),
    None,
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Chromium is not installed (apt-get install chromium); on CI (CI=true) this runs",
)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "Chromium is required on CI: apt-get install chromium"
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip


@pytest.fixture(scope="module")
def page_file(page, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("chromium") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


@needs_chromium
def test_chromium_renders_a_page(page_file, tmp_path):
    from PIL import Image, ImageStat

    shot = tmp_path / "report.png"
    done = chromium(f"--screenshot={shot}", "--window-size=1280,2400", page_file.as_uri())
    assert shot.exists(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        grey = image.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20  # not blank
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 100
        # the dark masthead at the top, white page below it
        assert grey.getpixel((640, 20)) < 80
        assert grey.getpixel((5, 1200)) > 240


@needs_chromium
def test_chromium_would_notice_a_script(tmp_path):
    """The control: the same check sees a script that runs."""
    control = tmp_path / "control.html"
    control.write_text(f"<!DOCTYPE html><title>before</title><body>{TITLE_PAYLOAD}</body>")
    done = chromium("--virtual-time-budget=3000", "--dump-dom", control.as_uri())
    assert "<title>pwned</title>" in done.stdout, done.stderr[-2000:]


@needs_chromium
def test_chromium_runs_no_script(page_file):
    done = chromium("--virtual-time-budget=3000", "--dump-dom", page_file.as_uri())
    dom = done.stdout
    assert "<title>logscan report</title>" in dom, done.stderr[-2000:]
    assert "pwned" not in dom.split("</head>", 1)[0]
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom


LAYOUT_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="report.html" style="width:{width}px;height:900px;border:0"></iframe>
<pre id="out">pending</pre>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var doc = this.contentDocument, root = doc.documentElement;
  document.getElementById('out').textContent = JSON.stringify({{
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, height: root.scrollHeight,
    scripts: doc.scripts.length, details: doc.querySelectorAll('details').length,
    open: doc.querySelectorAll('details[open]').length}});
}});
</script></body></html>"""


def layout(page: str, width: int, folder: Path) -> dict[str, int]:
    """The report's page laid out by Chromium in a frame ``width`` px wide: its scroll and
    client widths, height, scripts and <details>. The probe is a page of the test's own (the
    report's policy forbids scripts) that reads the frame's document."""
    (folder / "report.html").write_text(page, encoding="utf-8")
    probe = folder / "probe.html"
    probe.write_text(LAYOUT_PROBE.format(width=width), encoding="utf-8")
    done = chromium("--allow-file-access-from-files", "--virtual-time-budget=5000",
                    "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="out">(\{.*?\})</pre>', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(html.unescape(found[1]))


@needs_chromium
@pytest.mark.parametrize("width", [420, 1280])
def test_chromium_layout_of_the_sample(width, tmp_path):
    report = analyzer.analyze(str(SAMPLE_LOGS / "apache_vhost_allow.log"))
    measured = layout(render_html(report), width, tmp_path)
    assert measured["scrollWidth"] <= measured["clientWidth"]  # no horizontal overflow
    assert (measured["scripts"], measured["open"]) == (0, 0)
    assert measured["details"] == len(report.verdicts)  # each verdict's evidence folded
    # the page's height, bounded (measured: 24,874 px at 420 px wide, with the per-class trend
    # panels; the evidence of 19 verdicts folded)
    assert 3000 < measured["height"] < (30000 if width == 420 else 16000), measured


def test_scheduled_report_html_has_tables_not_a_dump(tmp_path):
    from analyzer.scheduled.run import run_report

    log = tmp_path / "access.log"
    log.write_bytes((SAMPLE_LOGS / "nginx_timed.log").read_bytes())
    result = run_report([str(log)], str(tmp_path / "state"))
    page = render_html(result.report)
    section = page[page.index('<section id="scheduled">'):]
    section = section[:section.index("</section>")]
    assert "<h2>Scheduled runs</h2>" in section
    assert re.search(r"<h3>This run <span[^>]*>· 380 new lines", section)
    assert "<th>class / method</th>" in section and "<h3>Alerts</h3>" in section
    assert '<p class="empty">Nothing new.</p>' in section  # a first run raises no alert
    assert re.search(r"Window <b>7d</b>: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → ", section)
    assert 'id="details"' not in page  # nothing left over to dump
    assert "{&#34;" not in page and "…" not in section
    assert page.count(f"<code class=\"path\">{log}</code>") == 2  # sources, and this run
    assert re.search(r'class="generated">Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', page)


def test_each_source_once():
    from analyzer.render.html import report_html

    data = analyzer.analyze(str(SAMPLE_LOGS / "nginx_timed.log")).to_dict()
    first = data["sources"][0]
    data["sources"] = [first, {**first, "format": "combined", "lines": 5, "rejected": 5}]
    page = report_html(data, charts=False)
    summary = page[page.index("<h3>Sources</h3>"):page.index("<h3>Statuses</h3>")]
    assert summary.count("<tr><td>") == 1
    assert f"{first['format']}, combined" in summary
    assert f'<td class="n">{first["lines"] + 5}</td>' in summary
