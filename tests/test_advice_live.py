"""Every fix snippet logscan prints for Apache httpd and NGINX, applied to the real server.

Each server starts once for the module, on 127.0.0.1 with a private prefix (tests/live_servers.py);
each case writes the snippet exactly as :func:`analyzer.advice.guidance.guidance_for` prints it
into an included file (the backend address ``127.0.0.1:8080`` pointed at the test's backend),
runs the configuration test, reloads, and sends requests on raw sockets, asserting the status
and every ``Allow`` field line as it comes (how many, which values, in which order).

Snippets made of alternatives separated by a blank line are applied one block at a time. NGINX
snippets write ``http { ... }`` and ``server { ... }`` for "inside your http / server block";
a bare ``location`` goes in the server block.

Without the servers the module skips, except under CI=true, where a missing server fails.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import live_servers as live
import pytest

from analyzer.advice.guidance import GUIDANCE, guidance_for
from analyzer.advice.reproduce import reproduce_steps

pytestmark = pytest.mark.live

#: an Allow line written by Apache itself: its methods come in no fixed order
AnyOrder = frozenset


@dataclass(frozen=True)
class Probe:
    method: str
    target: str
    status: int
    allow: tuple[str | AnyOrder[str], ...] = ()
    headers: tuple[str, ...] = ()
    body: bytes = b""
    version: str = "HTTP/1.1"  # "": an HTTP/0.9-style request line with no version


@dataclass(frozen=True)
class Case:
    server: str
    verdict: str
    method: str | None
    probes: tuple[Probe, ...]
    block: int | None = None  # one alternative of the snippet, or the whole snippet
    site: str = ""  # the operator's existing configuration the advice is for
    # (log file under logs/, a pattern for each line after the client and time, in order)
    log: tuple[str, tuple[str, ...]] | None = None
    http2: bool = False  # curl --http2-prior-knowledge must be answered over HTTP/2

    @property
    def id(self) -> str:
        block = "" if self.block is None else f"-block{self.block}"
        return f"{self.server}-{self.verdict}-{self.method or 'any'}{block}"


APACHE_PROXY_API = 'ProxyPass "/api/" "http://127.0.0.1:8080/api/"'
APACHE_PROXY_LEGACY = 'ProxyPass "/legacy/" "http://127.0.0.1:8080/legacy/"'
APACHE_DEFAULT = AnyOrder({"GET", "POST", "OPTIONS", "HEAD"})  # default handler, TraceEnable off
APACHE_DEFAULT_TRACE = AnyOrder({"GET", "POST", "OPTIONS", "HEAD", "TRACE"})
TE = ("Transfer-Encoding: gzip, chunked",)

CASES = (
    # -- Apache httpd --------------------------------------------------------------------------
    Case("apache", "never_allowed", "TRACE", (
        Probe("TRACE", "/", 405, ("",)),
        Probe("GET", "/", 200),
        Probe("OPTIONS", "/", 200, (APACHE_DEFAULT,)),
    )),
    Case("apache", "capability_gap", "FOO", block=0, probes=(
        Probe("FOO", "/api/items/1", 200),  # handed to the backend, which implements it
        Probe("FOO", "/index.html", 501, (APACHE_DEFAULT_TRACE,)),
        Probe("GET", "/api/items/1", 200),
    )),
    Case("apache", "capability_gap", "FOO", block=1, site=APACHE_PROXY_API, probes=(
        Probe("FOO", "/api/items/1", 501, ("TRACE",)),  # rejected while parsing
        Probe("FOO", "/index.html", 501, ("TRACE",)),
        Probe("DELETE", "/api/items/1", 200),  # registered methods still reach the backend
        Probe("GET", "/", 200),
    )),
    Case("apache", "capability_gap", "DELETE", site=APACHE_PROXY_API, probes=(
        Probe("DELETE", "/api/items/9", 405, ("GET, HEAD, POST",)),
        Probe("DELETE", "/index.html", 405, ("GET, HEAD, POST",)),
        Probe("GET", "/api/items/9", 200),
        Probe("PATCH", "/api/items/9", 200),
        Probe("GET", "/errors/405.html", 200),
    )),
    Case("apache", "partial_implementation", "PATCH", site=APACHE_PROXY_LEGACY, probes=(
        Probe("PATCH", "/legacy/orders/9", 405, ("GET, HEAD, POST",)),
        Probe("GET", "/legacy/orders/9", 200),
        Probe("POST", "/legacy/orders/9", 200),
        Probe("PATCH", "/index.html", 405, (APACHE_DEFAULT_TRACE,)),  # elsewhere: untouched
        Probe("GET", "/errors/405-legacy.html", 200),
    )),
    Case("apache", "resource_restriction", "PUT", (
        Probe("PUT", "/uploads/", 405, ("GET, HEAD, POST, OPTIONS",)),
        Probe("DELETE", "/uploads/", 405, ("GET, HEAD, POST, OPTIONS",)),
        Probe("FOO", "/uploads/", 405, ("GET, HEAD, POST, OPTIONS",)),
        Probe("TRACE", "/uploads/", 405, ("",)),
        Probe("GET", "/uploads/", 200),
        Probe("POST", "/uploads/", 200),
        Probe("OPTIONS", "/uploads/", 200, (APACHE_DEFAULT,)),
        Probe("PUT", "/index.html", 405, (APACHE_DEFAULT,)),
    )),
    Case("apache", "never_allowed", "MKCOL", block=0, probes=(
        Probe("MKCOL", "/dav/new/", 201),
        Probe("PROPFIND", "/dav/", 207, headers=("Depth: 0",)),
        Probe("MKCOL", "/api/items/new", 200),
        Probe("GET", "/", 200),
    )),
    Case("apache", "never_allowed", "MKCOL", block=1, probes=(
        Probe("MKCOL", "/uploads/", 405, ("GET, HEAD, POST, OPTIONS",)),
        Probe("PUT", "/index.html", 405, ("GET, HEAD, POST, OPTIONS",)),
        Probe("TRACE", "/", 405, ("",)),
        Probe("GET", "/", 200),
        Probe("HEAD", "/", 200),
        Probe("POST", "/index.html", 200),
    )),
    Case("apache", "transfer_encoding", None,
         log=("te.log", (r'"FOO / HTTP/1\.1" 501 "-" "[A-Z,]+"',)), probes=(
        Probe("FOO", "/", 501, (APACHE_DEFAULT_TRACE,)),  # logged: the only 501
        Probe("GET", "/", 200),
    )),
    Case("apache", "version_not_supported", None, http2=True, probes=(
        Probe("GET", "/", 400, version=""),  # Require1.0: no HTTP/0.9
        Probe("GET", "/", 200, version="HTTP/2.0"),  # a text request line naming 2.0: served
        Probe("GET", "/", 200),
    )),
    Case("apache", "allow_missing", None, site=APACHE_PROXY_API, probes=(
        Probe("DELETE", "/api/readonly", 405, ("GET, HEAD, POST",)),
        Probe("DELETE", "/api/honest", 405, ("GET, HEAD",)),  # the backend's own, alone
        Probe("GET", "/api/readonly", 200),
    )),
    # -- NGINX ---------------------------------------------------------------------------------
    Case("nginx", "never_allowed", "TRACE", (
        Probe("TRACE", "/", 405, ("GET, HEAD",)),
        Probe("PUT", "/index.html", 405, ("GET, HEAD",)),
        Probe("GET", "/", 200),
        Probe("HEAD", "/", 200),
    )),
    Case("nginx", "capability_gap", "DELETE",
         log=("te.log", (r'"DELETE /api/items/9 HTTP/1\.1" 200 "-" "-"',
                         r'"GET /api/items/9 HTTP/1\.1" 200 "-" "-"',
                         r'"GET / HTTP/1\.1" 200 "-" "-"')), probes=(
        Probe("DELETE", "/api/items/9", 200),  # routed to a backend that implements it
        Probe("GET", "/api/items/9", 200),
        Probe("GET", "/", 200),
    )),
    Case("nginx", "partial_implementation", "PATCH", (
        Probe("PATCH", "/legacy/orders/9", 405, ("GET, HEAD, POST",)),
        Probe("DELETE", "/legacy/orders/9", 405, ("GET, HEAD, POST",)),
        Probe("GET", "/legacy/orders/9", 200),
        Probe("POST", "/legacy/orders/9", 200),
        Probe("HEAD", "/legacy/orders/9", 200),
    )),
    Case("nginx", "resource_restriction", "PUT", (
        Probe("PUT", "/index.html", 405, ("GET, HEAD",)),
        Probe("POST", "/index.html", 405, ("GET, HEAD",)),
        Probe("OPTIONS", "/", 405, ("GET, HEAD",)),
        Probe("TRACE", "/", 405, ("GET, HEAD",)),
        Probe("GET", "/index.html", 200),
        Probe("HEAD", "/index.html", 200),
    )),
    Case("nginx", "never_allowed", "MKCOL", (
        Probe("MKCOL", "/uploads/", 405, ("GET, HEAD",)),
        Probe("FOO", "/", 405, ("GET, HEAD",)),
        Probe("MKCOL", "/api/items/new", 200),
        Probe("GET", "/", 200),
        Probe("HEAD", "/", 200),
    )),
    Case("nginx", "transfer_encoding", None,
         log=("te.log", (r'"POST / HTTP/1\.1" 501 "gzip, chunked" "-"',
                         r'"GET / HTTP/1\.1" 200 "-" "-"')), probes=(
        Probe("POST", "/", 501, headers=TE, body=b"0\r\n\r\n"),
        Probe("GET", "/", 200),
    )),
    Case("nginx", "allow_missing", None, (
        Probe("DELETE", "/index.html", 405, ("GET, HEAD",)),
        Probe("GET", "/", 200),
    )),
)


# -- servers -----------------------------------------------------------------------------------

def _require(name: str) -> None:
    if not live.installed(name):
        _missing(f"{name} (apt-get install apache2-bin nginx)")


def _missing(what: str) -> None:
    """Skip for want of ``what``; under CI=true that is a failure."""
    message = f"needs {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def backend() -> Iterator[live.Backend]:
    server = live.start_backend()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def servers(backend: live.Backend) -> Iterator[dict[str, live.Live]]:
    # a directory of the module's own: pytest prunes old base directories of other sessions
    # of the same user, which would pull the site from under a running server
    started: dict[str, live.Live] = {}
    with tempfile.TemporaryDirectory(prefix="logscan-live-") as top:
        try:
            for name in ("apache", "nginx"):
                if live.installed(name):
                    started[name] = live.start(name, Path(top) / name, backend.port)
            yield started
        finally:
            for server in started.values():
                server.stop()


def _server(servers: dict[str, live.Live], name: str) -> live.Live:
    _require(name)
    return servers[name]


# -- placing a snippet -------------------------------------------------------------------------

def _blocks(snippet: str) -> list[str]:
    return [b for b in snippet.split("\n\n") if b.strip()]


def _nginx_parts(text: str) -> tuple[str, str]:
    """(server block part, http block part): ``http { ... }`` and ``server { ... }`` are
    unwrapped into their level, everything else goes in the server block."""
    server: list[str] = []
    http: list[str] = []
    target: list[str] | None = None
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        if target is None and depth == 0 and stripped in ("http {", "server {"):
            target = http if stripped == "http {" else server
            depth = 1
            continue
        if target is not None:
            depth += line.count("{") - line.count("}")
            if depth == 0:
                target = None
            else:
                target.append(line)
            continue
        server.append(line)
    return "\n".join(server), "\n".join(http)


def _apply(server: live.Live, case: Case, snippet: str, backend: live.Backend) -> None:
    text = snippet if case.block is None else _blocks(snippet)[case.block]
    text = "\n".join([case.site, text]).replace(live.SNIPPET_BACKEND,
                                                f"127.0.0.1:{backend.port}")
    for path in (server.logs / "te.log",):
        path.unlink(missing_ok=True)
    if server.name == "nginx":
        server.apply(*_nginx_parts(text))
    else:
        server.apply(text)


def _allow_matches(got: list[str], want: tuple[str | AnyOrder[str], ...]) -> bool:
    if len(got) != len(want):
        return False
    for line, expected in zip(got, want, strict=True):
        if isinstance(expected, frozenset):
            if set(line.split(",")) != expected or " " in line:
                return False
        elif line != expected:
            return False
    return True


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_snippet_keeps_its_promise(case: Case, servers: dict[str, live.Live],
                                   backend: live.Backend) -> None:
    server = _server(servers, case.server)
    guidance = guidance_for(case.server, case.verdict, case.method)
    assert guidance.server == case.server
    _apply(server, case, guidance.snippet, backend)
    for probe in case.probes:
        raw = None
        if not probe.version:
            raw = f"{probe.method} {probe.target}\r\n".encode()
        got = live.send(server.port, probe.method, probe.target, headers=probe.headers,
                        body=probe.body, version=probe.version, raw=raw)
        seen = (probe.method, probe.target, got.status, got.lines("allow"))
        assert got.status == probe.status, seen
        assert _allow_matches(got.lines("allow"), probe.allow), seen
    if case.http2:
        done = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
             "--http2-prior-knowledge", f"http://127.0.0.1:{server.port}/"],
            capture_output=True, text=True, timeout=30, check=False)
        assert done.stdout == "2 200", done.stderr
    if case.log is not None:
        name, patterns = case.log
        lines = [x.split("] ", 1)[1] for x in (server.logs / name).read_text().splitlines()]
        assert len(lines) == len(patterns), lines
        for line, pattern in zip(lines, patterns, strict=True):
            assert re.fullmatch(pattern, line), (line, pattern)


def test_every_server_snippet_has_a_case() -> None:
    """A new Apache or NGINX row in the guidance table needs a case here (NGINX's version row
    has a test of its own, below)."""
    covered = {(c.server, c.verdict, guidance_for(c.server, c.verdict, c.method).title)
               for c in CASES}
    covered.add(("nginx", "version_not_supported",
                 guidance_for("nginx", "version_not_supported").title))
    rows = {(g.server, g.verdict, g.title) for g in GUIDANCE if g.server in ("apache", "nginx")}
    rows.add(("apache", "capability_gap", guidance_for("apache", "capability_gap", "PUT").title))
    # the TRACE rows are also listed under resource_restriction: the same snippet
    covered |= {(s, "resource_restriction", t) for s, v, t in covered if t.startswith("TRACE")
                or t.startswith("NGINX always refuses TRACE")}
    assert rows == covered


def test_reloads_are_quick(servers: dict[str, live.Live]) -> None:
    """Every case reloads rather than restarts: the whole matrix stays within seconds."""
    for name in ("apache", "nginx"):
        _require(name)
        server = servers[name]
        assert server.reload_seconds, name
        assert max(server.reload_seconds) < 5, (name, server.reload_seconds)


def _nginx_version() -> tuple[int, ...]:
    out = subprocess.run([str(live.NGINX), "-v"], capture_output=True, text=True, check=False)
    return tuple(int(x) for x in re.findall(r"nginx/(\d+)\.(\d+)\.(\d+)", out.stderr)[0])


def test_nginx_http2_snippet_serves_http2(servers: dict[str, live.Live], tmp_path: Path) -> None:
    """The block for the installed NGINX (``http2 on`` from 1.25.1, ``listen ... http2``
    before) passes the configuration test and answers over HTTP/2 with TLS; the other block
    is refused by an NGINX older than 1.25.1. Port 443 stands for a free port, and the
    certificate is the operator's (a throwaway one here)."""
    server = _server(servers, "nginx")
    if shutil.which("openssl") is None:
        _missing("openssl (to make a test certificate)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], capture_output=True, check=True)
    new, old = _blocks(guidance_for("nginx", "version_not_supported").snippet)
    current = new if _nginx_version() >= (1, 25, 1) else old
    port = live.free_port()
    cert = (f"ssl_certificate {tmp_path / 'cert.pem'};\n"
            f"ssl_certificate_key {tmp_path / 'key.pem'};")
    try:
        if current is old:
            with pytest.raises(AssertionError, match="http2"):
                server.apply(*_nginx_parts(new.replace("listen 443 ssl;\n", "")))
        server.apply(*_nginx_parts(current.replace("443", f"127.0.0.1:{port}") + "\n" + cert))
        done = subprocess.run(
            ["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
             "--http2", f"https://127.0.0.1:{port}/"],
            capture_output=True, text=True, timeout=30, check=False)
        assert done.stdout == "2 200", done.stderr
        # the plain port still refuses HTTP/2.0 written into a text request line
        raw = f"GET / HTTP/2.0\r\nHost: {live.HOST}\r\n\r\n".encode()
        assert live.send(server.port, "", "", raw=raw).status == 505
    finally:
        server.apply("")


@pytest.mark.parametrize(("name", "line", "status"), [
    ("apache", "GET / HTTP/2.0", 200),
    ("apache", "GET / HTTP/1.2", 200),
    ("apache", "GET / HTTP/0.9", 400),
    ("nginx", "GET / HTTP/2.0", 505),
    ("nginx", "GET / HTTP/3.0", 505),
    ("nginx", "GET / HTTP/1.2", 200),
    ("nginx", "GET / HTTP/0.9", 400),
])
def test_protocol_findings_as_the_guidance_says(servers: dict[str, live.Live], name: str,
                                                line: str, status: int) -> None:
    server = _server(servers, name)
    server.apply("")
    raw = f"{line}\r\nHost: {live.HOST}\r\nConnection: close\r\n\r\n".encode()
    assert live.send(server.port, "", "", raw=raw).status == status


# -- the reproduce commands, run as printed --------------------------------------------------

@dataclass(frozen=True)
class Finding:
    server: str
    verdict: dict[str, object]
    statuses: tuple[int, ...]  # of every command, in order
    site: str = ""


def _finding(method: str, kind: str, target: str, **extra: object) -> dict[str, object]:
    return {"vhost": live.HOST, "method": method, "verdict": kind,
            "examples": [{"target": target}], **extra}


def _protocol(request: str) -> dict[str, object]:
    method, target, protocol = request.split(" ")
    return {"vhost": live.HOST, "protocol": protocol, "verdict": "version_not_supported",
            "examples": [{"method": method, "target": target, "request": request}]}


NGINX_PROXY_API = "location /api/ {\n    proxy_pass http://127.0.0.1:8080;\n}"
FINDINGS = (
    # OPTIONS, the method on the missing path, [Transfer-Encoding probe], GET, the method on the
    # real resource: for a 501 the missing path answers as the real resource does
    Finding("apache", _finding("FOO", "capability_gap", "/"), (200, 501, 200, 501)),
    Finding("apache", _finding("DELETE", "capability_gap", "/api/legacy/orders/9"),
            (501, 501, 200, 501), site=APACHE_PROXY_API),
    Finding("apache", _finding("PATCH", "partial_implementation", "/legacy/orders/9"),
            (501, 501, 500, 200, 501), site=APACHE_PROXY_LEGACY),  # 500: AH01093
    Finding("apache", _finding("MKCOL", "never_allowed", "/uploads/"), (200, 405, 200, 405)),
    Finding("apache", _finding("PUT", "resource_restriction", "/index.html"),
            (200, 405, 200, 405)),
    Finding("apache", _finding("CONNECT", "never_allowed", "example.org:443"),
            (200, 405, 200, 405)),
    Finding("apache", _finding("TRACE", "never_allowed", "/"), (200, 200)),
    Finding("nginx", _finding("DELETE", "capability_gap", "/api/legacy/orders/9"),
            (501, 501, 200, 501), site=NGINX_PROXY_API),
    Finding("nginx", _finding("PATCH", "partial_implementation", "/api/legacy/orders/9"),
            (501, 501, 501, 200, 501), site=NGINX_PROXY_API),
    Finding("nginx", _finding("MKCOL", "never_allowed", "/uploads/"), (405, 405, 200, 405)),
    Finding("nginx", _finding("CONNECT", "never_allowed", "example.org:443"),
            (405, 400, 200, 400)),  # NGINX 1.22 takes no authority-form target: 400
    Finding("nginx", _finding("TRACE", "never_allowed", "/"), (405, 200)),
    # protocol findings: curl over HTTP/1.1, [the logged line with GET], the logged line
    Finding("apache", _protocol("GET / HTTP/2.0"), (200, 200)),
    Finding("apache", _protocol("POST /index.html HTTP/2.0"), (200, 200, 200)),
    Finding("apache", _protocol("GET / HTTP/0.9"), (200, 400)),
    Finding("nginx", _protocol("GET / HTTP/2.0"), (200, 505)),
    Finding("nginx", _protocol("POST /index.html HTTP/2.0"), (200, 505, 505)),
    Finding("nginx", _protocol("GET / HTTP/1.2"), (200, 200)),
)


def _printf_bytes(fmt: str) -> bytes:
    """What printf writes for one of the commands' formats (\\r, \\n, \\\\, \\NNN, %%)."""
    out = bytearray()
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "\\":
            nxt = fmt[i + 1]
            if nxt in "01234567":
                out.append(int(fmt[i + 1:i + 4], 8))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "\\": b"\\"}[nxt]
            i += 2
        elif char == "%":
            out += b"%"
            i += 2
        else:
            out += char.encode()
            i += 1
    return bytes(out)


def _run_command(command: str, port: int) -> int:
    """The status a printed command gets: curl commands run in bash as printed, printf
    commands send printf's bytes (the machine may have no nc)."""
    if command.startswith("printf "):
        fmt = shlex.split(command.split(" | ", 1)[0])[1]
        return live.send(port, "", "", raw=_printf_bytes(fmt)).status
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return live.parse_response(done.stdout).status


def _id(finding: Finding) -> str:
    data = finding.verdict
    if "method" in data:
        return f"{finding.server}-{data['method']}-{data['verdict']}"
    request = data["examples"][0]["request"]  # type: ignore[index]
    return f"{finding.server}-{request}"


@pytest.mark.parametrize("finding", FINDINGS, ids=_id)
def test_reproduce_commands_on_the_real_server(finding: Finding,
                                               servers: dict[str, live.Live],
                                               backend: live.Backend) -> None:
    """The safe commands show what the data-changing one shows: for a 501 and for the 405s
    Apache and NGINX decide before looking at the path, the missing path gets the same status
    as the real resource."""
    server = _server(servers, finding.server)
    site = finding.site.replace(live.SNIPPET_BACKEND, f"127.0.0.1:{backend.port}")
    if server.name == "nginx":
        server.apply(*_nginx_parts(site))
    else:
        server.apply(site)
    steps = reproduce_steps(finding.verdict, base_url=f"http://127.0.0.1:{server.port}")
    got = tuple(_run_command(step.command, server.port) for step in steps)
    assert got == finding.statuses, [s.command for s in steps]
    unsafe = [i for i, step in enumerate(steps) if not step.safe]
    if "method" not in finding.verdict:  # a protocol finding: GET first, then the logged line
        logged = str(finding.verdict["examples"][0]["request"])  # type: ignore[index]
        assert unsafe == ([] if logged.startswith("GET ") else [len(steps) - 1])
        assert got[-2] == got[-1] or not unsafe
    elif finding.verdict["method"] != "TRACE":
        assert unsafe == [len(steps) - 1]
        missing = next(i for i, s in enumerate(steps) if "logscan-missing" in s.command)
        assert got[missing] == got[-1]
    else:
        assert unsafe == []
