"""Debian's Apache httpd and NGINX on 127.0.0.1, started once and reconfigured by reload.

Each server gets a private prefix (its own config, logs, pid file and site), listens on a free
loopback port, and includes one file at the server level (``<VirtualHost>`` for Apache, the
``server {}`` block for NGINX; NGINX also has one at the ``http {}`` level). :meth:`Live.apply`
writes a snippet there, runs the server's configuration test, reloads (Apache: SIGUSR1, as
``apache2 -k graceful``; NGINX: SIGHUP, as ``nginx -s reload``) and waits until the new
generation answers. :func:`send` speaks raw HTTP/1.1 over a socket so that every header field
line is seen as it came, repeated ``Allow`` lines included.

A tiny backend (:class:`Backend`) on loopback stands for an application behind the proxy: it
implements GET, HEAD and POST everywhere and every other method (FOO and MKCOL included) under
``/api/items``, answers 405 without Allow under ``/api/readonly`` (with ``Allow: GET, HEAD``
under ``/api/honest``), and 501 to the other methods
elsewhere (as :mod:`http.server` does for a method it has no handler for).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

APACHE = Path("/usr/sbin/apache2")
NGINX = Path("/usr/sbin/nginx")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
#: the backend address the snippets are written for; the tests point it at :class:`Backend`
SNIPPET_BACKEND = "127.0.0.1:8080"
HOST = "www.example.test"

SITE = {
    "index.html": "<!doctype html><title>index</title>\n",
    "legacy/orders/9": "order 9\n",
    "uploads/index.html": "uploads\n",
    "css/site.css": "body {}\n",
    "errors/405.html": "<!doctype html><title>405</title>\n",
    "errors/405-legacy.html": "<!doctype html><title>405</title>\n",
    "errors/405-uploads.html": "<!doctype html><title>405</title>\n",
}


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]  # every field line, in order, names lowercased
    body: bytes

    def lines(self, name: str) -> list[str]:
        """The values of every field line named ``name``, in the order they came."""
        return [v for n, v in self.headers if n == name.lower()]


def send(port: int, method: str, target: str, *, version: str = "HTTP/1.1",
         headers: tuple[str, ...] = (), body: bytes = b"", raw: bytes | None = None,
         timeout: float = 10.0) -> Response:
    """One request on a fresh connection (``Connection: close``); the whole response."""
    if raw is None:
        head = [f"{method} {target} {version}", f"Host: {HOST}", "Connection: close", *headers]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return parse_response(b"".join(chunks))


def parse_response(data: bytes) -> Response:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return Response(status, tuple(headers), body)


# -- the backend -------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "backend"
    sys_version = ""

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _reply(self, status: int, allow: str | None = None) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"" if self.command == "HEAD" else f"{self.command} {self.path}\n".encode()
        self.send_response(status)
        if allow is not None:
            self.send_header("Allow", allow)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _any(self) -> None:
        if self.path.startswith("/api/readonly"):
            self._reply(200 if self.command in ("GET", "HEAD") else 405)
        else:
            self._reply(200)

    def _writer(self) -> None:
        if self.path.startswith("/api/items"):
            self._reply(200)
        elif self.path.startswith("/api/readonly"):
            self._reply(405)  # no Allow: the finding allow_missing
        elif self.path.startswith("/api/honest"):
            self._reply(405, allow="GET, HEAD")  # a 405 that does carry Allow
        else:
            self.send_error(501)

    do_GET = do_HEAD = do_POST = _any

    def __getattr__(self, name: str) -> object:
        # every other method, known or not: implemented under /api/items, 501 elsewhere
        if name.startswith("do_"):
            return self._writer
        raise AttributeError(name)


@dataclass
class Backend:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_backend() -> Backend:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return Backend(server, thread)


# -- the servers -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Live:
    """A running server and the files a snippet goes into."""

    name: str
    prefix: Path
    port: int
    backend_port: int
    proc: subprocess.Popen[bytes]
    server_include: Path
    http_include: Path | None
    error_log: Path
    generation: int = 0
    reload_seconds: list[float] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    def config_test(self) -> subprocess.CompletedProcess[str]:
        if self.name == "apache":
            cmd = [str(APACHE), "-t", "-d", str(self.prefix), "-f", str(self.prefix / "conf")]
        else:
            cmd = [str(NGINX), "-t", "-p", str(self.prefix), "-c", str(self.prefix / "conf"),
                   "-e", str(self.error_log)]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, env=_env())

    def apply(self, server_part: str, http_part: str = "", *, reload: bool = True) -> None:
        """Write the snippet parts, test the configuration and reload; raises with the
        configuration test's output when it fails."""
        self.generation += 1
        self._write_marker()
        self.server_include.write_text(server_part + "\n")
        if self.http_include is not None:
            self.http_include.write_text(http_part + "\n")
        elif http_part:
            raise ValueError("Apache has no http-level part")
        test = self.config_test()
        if test.returncode != 0:
            raise AssertionError(f"{self.name} configuration test failed:\n{test.stderr}")
        started = time.monotonic()
        if reload:
            old = self._children()
            self.proc.send_signal(signal.SIGUSR1 if self.name == "apache" else signal.SIGHUP)
            # the old generation's processes may still accept a connection until they exit
            self._wait_gone(old)
        self._wait_generation()
        if reload:
            self.reload_seconds.append(time.monotonic() - started)

    def _children(self) -> set[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return {int(pid) for pid in path.read_text().split()}
        except OSError:
            return set()

    def _wait_gone(self, old: set[int], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while old & self._children():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: the old processes did not exit")
            time.sleep(0.02)

    def _write_marker(self) -> None:
        marker = self.prefix / "generation.conf"
        if self.name == "apache":
            marker.write_text(f'<Location "/generation">\n    Header always set X-Generation '
                              f'"{self.generation}"\n</Location>\n')
        else:
            marker.write_text(f'location = /generation {{\n    access_log off;\n'
                              f'    add_header X-Generation "{self.generation}" always;\n'
                              f'    return 204;\n}}\n')

    def _wait_generation(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{_tail(self.error_log)}")
            try:
                got = send(self.port, "GET", "/generation", timeout=5).lines("x-generation")
            except OSError:
                got = []
            if got == [str(self.generation)]:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not load generation {self.generation} "
                           f"(children {sorted(self._children())}):\n{_tail(self.error_log)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.name == "apache" else signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_bytes()[-size:].decode("utf-8", "replace")
    except OSError:
        return f"(no {path})"


def _make_prefix(prefix: Path) -> None:
    prefix.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # the workers run as www-data: they need to traverse the (private) temp directories
        for parent in prefix.parents:
            if parent == Path(tempfile.gettempdir()) or parent == parent.parent:
                break
            parent.chmod(parent.stat().st_mode | 0o011)
    for sub in ("logs", "run", "tmp", "htdocs/dav"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    for rel, text in SITE.items():
        path = prefix / "htdocs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in [prefix, *prefix.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    for name in ("server.conf", "http.conf", "generation.conf"):
        (prefix / name).write_text("")


_APACHE_MODULES = ("mpm_event", "authz_core", "mime", "dir", "alias", "proxy", "proxy_http",
                   "rewrite", "headers", "allowmethods", "dav", "dav_fs", "http2",
                   "log_config")


def _apache_config(prefix: Path, port: int, backend_port: int) -> str:
    load = "\n".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so"
                     for m in _APACHE_MODULES if (APACHE_MODULES / f"mod_{m}.so").exists())
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return f"""\
ServerRoot "{prefix}"
DefaultRuntimeDir "{prefix}/run"
PidFile "{prefix}/run/apache2.pid"
Mutex file:{prefix}/run default
{load}
{user}Listen 127.0.0.1:{port}
ServerName {HOST}
ServerTokens Prod
StartServers 1
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 16
GracefulShutdownTimeout 1
ErrorLog "{prefix}/logs/error.log"
TypesConfig /dev/null
AddType text/html .html
DirectoryIndex index.html
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{prefix}/htdocs">
    Require all granted
</Directory>
<VirtualHost 127.0.0.1:{port}>
    ServerName {HOST}
    DocumentRoot "{prefix}/htdocs"
    ProxyPass "/legacy/" "http://127.0.0.1:{backend_port}/legacy/"
    Include "{prefix}/generation.conf"
    Include "{prefix}/server.conf"
</VirtualHost>
"""


def _nginx_config(prefix: Path, port: int) -> str:
    temps = "\n".join(f"    {n}_temp_path {prefix}/tmp/{n};"
                      for n in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user www-data;\n" if os.geteuid() == 0 else ""
    return f"""\
daemon off;
master_process on;
worker_processes 1;
{user}pid {prefix}/run/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{
    worker_connections 64;
}}
http {{
    default_type text/html;
{temps}
    access_log off;
    server_tokens off;
    include {prefix}/http.conf;
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name {HOST};
        root {prefix}/htdocs;
        include {prefix}/generation.conf;
        include {prefix}/server.conf;
    }}
}}
"""


def start(name: str, prefix: Path, backend_port: int) -> Live:
    """Start ``apache`` or ``nginx`` under ``prefix`` (created) on a free port."""
    _make_prefix(prefix)
    port = free_port()
    conf = prefix / "conf"
    if name == "apache":
        conf.write_text(_apache_config(prefix, port, backend_port))
        cmd = [str(APACHE), "-d", str(prefix), "-f", str(conf), "-DFOREGROUND"]
        http_include = None
    else:
        conf.write_text(_nginx_config(prefix, port))
        cmd = [str(NGINX), "-p", str(prefix), "-c", str(conf), "-e",
               str(prefix / "logs" / "error.log")]
        http_include = prefix / "http.conf"
    live = Live(name, prefix, port, backend_port, None, prefix / "server.conf",  # type: ignore[arg-type]
                http_include, prefix / "logs" / "error.log")
    live._write_marker()
    live.proc = subprocess.Popen(cmd, env=_env(), stdin=subprocess.DEVNULL)
    try:
        live._wait_generation()
    except BaseException:
        live.stop()
        raise
    return live


def installed(name: str) -> bool:
    return (APACHE if name == "apache" else NGINX).exists()
