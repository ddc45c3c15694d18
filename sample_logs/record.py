#!/usr/bin/env python3
"""Record sample access logs from real Apache httpd and NGINX, with a ground-truth manifest.

Run as root on Debian/Ubuntu (the servers come from the Debian packages)::

    python sample_logs/record.py               # full run, ~3.5 minutes, writes sample_logs/
    python sample_logs/record.py --quick --out /tmp/x   # ~20 s, same requests, shorter pauses

Both servers run on 127.0.0.1 high ports from a private temporary prefix with their own
complete configuration; the system configuration and services are never touched. A small
backend (stdlib ``http.server``, in a thread) sits behind ``/api/`` on both. A fixed, seeded
request mix is sent to both servers, one request at a time, with curl, ``http.client``,
``urllib`` and raw sockets; after every request the recorder waits until the server has written
that request's log line, so line N of a log is row N of its manifest.

Manifest columns: ``seq,server,vhost,client_addr,x_forwarded_for,method,target,protocol,
raw_request_line,user_agent,client_status,sent_at``. The text columns hold the bytes that were
sent, decoded as Latin-1 and escaped with Python's ``unicode_escape`` (``\\\\`` for a backslash,
``\\xhh`` for other bytes outside printable ASCII); ``codecs.decode(value, "unicode_escape")``
gives them back. ``vhost`` is the Host header sent (empty: none). ``client_status`` is the
status line the client read (empty: the connection closed without one). ``sent_at`` is the UTC
time the request was sent.
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

APACHE_BIN = Path("/usr/sbin/apache2")
NGINX_BIN = Path("/usr/sbin/nginx")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
# Debian packages that provide the two binaries (apache2-bin: /usr/sbin/apache2 and its
# modules; nginx: /usr/sbin/nginx in bookworm, where nginx-light is only a transitional package).
APT_PACKAGES = ("apache2-bin", "nginx")

SEED = 501405505
HOST_WWW = "www.example.test"
HOST_STATIC = "static.example.test"
PHASES = 6
# Time zones the servers log in (POSIX TZ strings: no tzdata needed).
APACHE_TZ = "EST5EDT,M3.2.0,M11.1.0"
NGINX_TZ = "IST-5:30"

APACHE_LOG = "apache_vhost_allow.log"
NGINX_COMBINED_LOG = "nginx_combined.log"
NGINX_TIMED_LOG = "nginx_timed.log"
NGINX_ROTATED_LOG = "nginx_rotated.log"

APACHE_FORMAT = '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D "%{Allow}o"'
NGINX_COMBINED_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
NGINX_TIMED_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $host "$sent_http_allow"'
)

MANIFEST_FIELDS = (
    "seq",
    "server",
    "vhost",
    "client_addr",
    "x_forwarded_for",
    "method",
    "target",
    "protocol",
    "raw_request_line",
    "user_agent",
    "client_status",
    "sent_at",
)

LOG_WAIT_SECONDS = 8.0
SERVER_IDLE_TIMEOUT = 2  # Apache Timeout / NGINX client_header_timeout, seconds


# ---------------------------------------------------------------------------------------------
# The request mix
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    """One client: a source address, a User-Agent and, for some, an X-Forwarded-For."""

    addr: str
    user_agent: str
    xff: str = ""


@dataclass(frozen=True)
class Request:
    """One request, sent the same way to both servers."""

    who: Persona
    client: str  # "curl" | "http.client" | "urllib" | "raw"
    method: str
    target: str
    host: str = HOST_WWW
    protocol: str = "HTTP/1.1"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    raw: bytes | None = None  # exact bytes for odd raw requests (junk, TLS, partial lines)


def _curl_user_agent() -> str:
    try:
        out = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "curl"
    return "curl/" + out.stdout.split()[1]


UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
UA_CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36"
)
UA_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
UA_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
UA_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
UA_EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
)

CHROME = Persona("127.0.0.11", UA_CHROME)
CHROME_MAC = Persona("127.0.0.12", UA_CHROME_MAC, xff="203.0.113.7")
FIREFOX = Persona("127.0.0.13", UA_FIREFOX)
SAFARI = Persona("127.0.0.14", UA_SAFARI, xff="198.51.100.23, 192.0.2.44")
IPHONE = Persona("127.0.0.15", UA_IPHONE, xff="2001:db8::17")
EDGE = Persona("127.0.0.16", UA_EDGE)
GOOGLEBOT = Persona(
    "127.0.0.21", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = Persona(
    "127.0.0.22", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
)
CURL = Persona("127.0.0.31", _curl_user_agent())
REQUESTS = Persona("127.0.0.32", "python-requests/2.31.0", xff="192.0.2.101")
GO = Persona("127.0.0.33", "Go-http-client/1.1")
URLLIB = Persona("127.0.0.34", f"Python-urllib/{sys.version_info[0]}.{sys.version_info[1]}")
NIKTO = Persona("127.0.0.41", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000562)")
SQLMAP = Persona("127.0.0.42", "sqlmap/1.8.4#stable (https://sqlmap.org)")
ZGRAB = Persona("127.0.0.43", "Mozilla/5.0 zgrab/0.x")
MASSCAN = Persona("127.0.0.44", "masscan/1.3 (https://github.com/robertdavidgraham/masscan)")
HOOKSHOT = Persona("127.0.0.51", "GitHub-Hookshot/5e3c2b1")
STRIPE = Persona("127.0.0.52", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
SLACKBOT = Persona("127.0.0.53", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
UPTIMEROBOT = Persona(
    "127.0.0.61", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"
)
PINGDOM = Persona("127.0.0.62", "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)")
QUOTER = Persona("127.0.0.71", 'Mozilla/5.0 (X11; "Quoted" \\Back\\slash\\) Odd/1.0')
CONTROL = Persona("127.0.0.72", "BellAgent/1.0 \x07\x1b[31mred\x1b[0m \x01end")
LEGACY = Persona("127.0.0.81", "LegacyFetch/0.3", xff="198.51.100.200")
PROBE = Persona("127.0.0.91", "")
OPEN_PROXY = Persona("127.0.0.92", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)")

BROWSERS = (CHROME, CHROME_MAC, FIREFOX, SAFARI, IPHONE, EDGE)
CRAWLERS = (GOOGLEBOT, BINGBOT)
MONITORS = (UPTIMEROBOT, PINGDOM)
PAGES = ("/", "/index.html", "/about.html", "/products/", "/products/widget.html", "/blog/")
ASSETS = ("/css/site.css", "/js/app.js", "/img/logo.png", "/favicon.ico", "/fonts/inter.woff2")
SCAN_PATHS = (
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/phpmyadmin/",
    "/cgi-bin/test.cgi",
    "/admin/",
    "/server-status",
    "/../../../../etc/passwd",
)


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def raw_bytes(
    method: str,
    target: str,
    protocol: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
) -> bytes:
    """Build request bytes by hand, for what ordinary clients refuse to send."""
    line = f"{method} {target} {protocol}" if protocol else f"{method} {target}"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    if not protocol:
        return (line + "\r\n").encode("latin-1")
    return (line + "\r\n" + head + "\r\n").encode("latin-1") + body


def tls_client_hello(rng: random.Random, with_lf: bool) -> bytes:
    """A TLS ClientHello record with seeded random bytes, as a client sends it to a plain port.

    Apache reads a request line up to LF: a hello with an LF byte in it is answered at once
    (400, NUL byte in the line), one without waits for the timeout (408). Both occur in real
    traffic, so the mix has one of each.
    """
    while True:
        hello = _client_hello(rng)
        if (b"\n" in hello) == with_lf:
            return hello


def _client_hello(rng: random.Random) -> bytes:
    suites = bytes.fromhex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
    sni_name = b"www.example.test"
    sni = b"\x00\x00" + (len(sni_name) + 5).to_bytes(2, "big")
    sni += (len(sni_name) + 3).to_bytes(2, "big") + b"\x00" + len(sni_name).to_bytes(2, "big")
    sni += sni_name
    alpn_list = b"\x02h2\x08http/1.1"
    alpn = b"\x00\x10" + (len(alpn_list) + 2).to_bytes(2, "big")
    alpn += len(alpn_list).to_bytes(2, "big") + alpn_list
    extensions = sni + alpn
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
    body += len(suites).to_bytes(2, "big") + suites + b"\x01\x00"
    body += len(extensions).to_bytes(2, "big") + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


def binary_junk(rng: random.Random) -> bytes:
    """Random bytes ending in a blank line, like a non-HTTP scanner probe."""
    junk = bytes(b for b in rng.randbytes(40) if b not in (10, 13))
    return junk + b"\r\n\r\n"


def _hdrs(*pairs: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(pairs)


JSON_TYPE = ("Content-Type", "application/json")
HOOK_HEADERS = {
    "github": _hdrs(JSON_TYPE, ("X-GitHub-Event", "push")),
    "stripe": _hdrs(JSON_TYPE, ("Stripe-Signature", "t=1700000000,v1=5257a869e7")),
    "slack": _hdrs(JSON_TYPE),
}


def probe_requests(rng: random.Random) -> list[Request]:
    """The requests that show 501/405/505/400/408/414/417 behaviour (each sent once)."""
    long_q = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6000))
    conn_close = ("Connection", "close")

    def raw(
        who: Persona, data: bytes, method: str = "", target: str = "", proto: str = ""
    ) -> Request:
        return Request(who, "raw", method, target, host="", protocol=proto, raw=data)

    def line(
        who: Persona,
        method: str,
        target: str,
        proto: str,
        host: str = HOST_WWW,
        extra: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
    ) -> Request:
        headers = [("Host", host)] if host else []
        if who.user_agent:
            headers.append(("User-Agent", who.user_agent))
        if who.xff:
            headers.append(("X-Forwarded-For", who.xff))
        headers += [*extra, conn_close]
        data = raw_bytes(method, target, proto, headers, body)
        return Request(who, "raw", method, target, host=host, protocol=proto, raw=data)

    chunked_body = b"5\r\nhello\r\n0\r\n\r\n"
    return [
        # Unknown method tokens: Apache 501 on its own content; NGINX 400 or 405.
        Request(NIKTO, "http.client", "FOO", "/"),
        Request(NIKTO, "http.client", "FOO", "/nonexistent.html"),
        Request(SQLMAP, "http.client", "FOO", "/api/items"),
        Request(NIKTO, "http.client", "get", "/"),
        Request(NIKTO, "http.client", "GET2", "/index.html"),
        Request(NIKTO, "http.client", "TRACK", "/"),
        Request(NIKTO, "http.client", "DEBUG", "/", headers=_hdrs(("Command", "stop-debug"))),
        Request(ZGRAB, "curl", "FOO", "/", host=HOST_STATIC),
        Request(SQLMAP, "http.client", "SEARCH", "/"),
        # Known methods on static files: 405 on both servers.
        Request(CURL, "curl", "PUT", "/index.html", body=b"overwrite"),
        Request(CURL, "curl", "DELETE", "/index.html"),
        Request(CURL, "curl", "DELETE", "/nope.html"),
        Request(GO, "http.client", "PATCH", "/about.html", headers=_hdrs(JSON_TYPE), body=b"{}"),
        Request(CURL, "curl", "PATCH", "/css/site.css", host=HOST_STATIC, body=b"x"),
        Request(NIKTO, "http.client", "PROPFIND", "/", headers=_hdrs(("Depth", "1"))),
        Request(NIKTO, "http.client", "PROPFIND", "/", host=HOST_STATIC),
        Request(NIKTO, "http.client", "MKCOL", "/uploads/"),
        Request(CURL, "curl", "OPTIONS", "/"),
        Request(CURL, "curl", "OPTIONS", "/index.html", host=HOST_STATIC),
        Request(CURL, "curl", "OPTIONS", "*"),
        Request(NIKTO, "http.client", "TRACE", "/"),
        Request(NIKTO, "http.client", "TRACE", "/", host=HOST_STATIC),
        Request(NIKTO, "http.client", "TRACE", "/api/items"),
        line(OPEN_PROXY, "CONNECT", "example.org:443", "HTTP/1.1", host="example.org:443"),
        Request(NIKTO, "http.client", "CONNECT", "/"),
        # The backend behind /api/: PUT/PATCH work on items, PATCH is 501 on legacy,
        # DELETE of an item is 405 with an Allow header.
        Request(REQUESTS, "http.client", "PUT", "/api/items/3", body=_json({"qty": 2})),
        Request(REQUESTS, "http.client", "PATCH", "/api/items/3", body=_json({"qty": 1})),
        Request(REQUESTS, "http.client", "DELETE", "/api/items/7"),
        Request(GO, "http.client", "PUT", "/api/items", body=b"[]"),
        Request(GO, "http.client", "PATCH", "/api/legacy/orders/9", body=_json({"s": "paid"})),
        Request(GO, "http.client", "DELETE", "/api/legacy/orders/9"),
        Request(CURL, "curl", "OPTIONS", "/api/items"),
        Request(SQLMAP, "http.client", "PROPFIND", "/api/items"),
        # Request-line versions.
        line(LEGACY, "GET", "/", "HTTP/2.0"),
        line(LEGACY, "GET", "/api/health", "HTTP/2.0"),
        line(LEGACY, "GET", "/index.html", "HTTP/3.0"),
        line(LEGACY, "GET", "/", "HTTP/1.2"),
        line(LEGACY, "GET", "/", "HTTP/0.9"),
        line(LEGACY, "GET", "/", "HTTP/1.0", host=""),
        line(LEGACY, "HEAD", "/about.html", "HTTP/1.0"),
        line(LEGACY, "GET", "/", "http/1.1"),
        line(LEGACY, "GET", "/", "FOO/1.0"),
        raw(LEGACY, b"GET /\r\n", "GET", "/"),
        raw(LEGACY, b"GET /about.html\r\n", "GET", "/about.html"),
        raw(LEGACY, b"POST /\r\n", "POST", "/"),
        raw(ZGRAB, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "PRI", "*", "HTTP/2.0"),
        line(LEGACY, "GET", "/", "HTTP/1.1", host=""),
        # Not HTTP at all.
        raw(PROBE, tls_client_hello(rng, with_lf=False)),
        raw(ZGRAB, tls_client_hello(rng, with_lf=True)),
        raw(MASSCAN, binary_junk(rng)),
        raw(PROBE, b"\r\n"),
        # Transfer-Encoding: NGINX 501 for anything but exactly "chunked"; Apache 400 when the
        # final coding is not chunked.
        line(
            GO,
            "POST",
            "/api/items",
            "HTTP/1.1",
            extra=(("Transfer-Encoding", "gzip, chunked"),),
            body=chunked_body,
        ),
        line(
            GO,
            "POST",
            "/index.html",
            "HTTP/1.1",
            extra=(("Transfer-Encoding", "gzip, chunked"),),
            body=chunked_body,
        ),
        line(GO, "POST", "/api/items", "HTTP/1.1", extra=(("Transfer-Encoding", "gzip"),)),
        line(
            GO,
            "POST",
            "/api/items",
            "HTTP/1.1",
            extra=(("Transfer-Encoding", "chunked"),),
            body=chunked_body,
        ),
        line(
            LEGACY,
            "POST",
            "/api/items",
            "HTTP/1.0",
            extra=(("Transfer-Encoding", "chunked"),),
            body=chunked_body,
        ),
        line(GO, "PUT", "/api/items/4", "HTTP/1.1", extra=(("Transfer-Encoding", "compress"),)),
        Request(CURL, "curl", "GET", "/", headers=_hdrs(("Expect", "x-unknown"))),
        # Hostile bytes: quotes, backslashes and control bytes in the agent and the target.
        Request(QUOTER, "http.client", "GET", "/index.html"),
        Request(CONTROL, "http.client", "GET", "/index.html"),
        Request(SQLMAP, "http.client", "GET", '/search?q="><script>alert(1)</script>'),
        Request(SQLMAP, "http.client", "GET", "/search?q=a\\b\\\\c&x=%22%00"),
        line(SQLMAP, "GET", "/search?q=\x01\x1b[2J", "HTTP/1.1"),
        line(SQLMAP, "GET", "/has space.html", "HTTP/1.1"),
        line(NIKTO, "GET", "/../../../../etc/passwd", "HTTP/1.1"),
        # UTF-8 in the target: raw bytes (as some clients send them) and percent-encoded.
        line(IPHONE, "GET", "/blog/caf\xc3\xa9.html", "HTTP/1.1"),
        Request(IPHONE, "http.client", "GET", "/blog/caf%C3%A9.html"),
        # Long targets: a few KB are served; past 8 KB both servers answer 414.
        Request(SQLMAP, "http.client", "GET", "/search?q=" + long_q[:3000]),
        Request(GOOGLEBOT, "urllib", "GET", "/blog/?ref=" + long_q),
        Request(SQLMAP, "http.client", "GET", "/search?q=" + long_q + long_q[:3000]),
        # Half a request line, then silence: both servers time out and log 408.
        raw(LEGACY, b"GET /slow-loris HT", "GET", "/slow-loris", "HT"),
        # The classic "open proxy" probe with an absolute URI.
        line(OPEN_PROXY, "GET", "http://example.org/", "HTTP/1.1", host="example.org"),
        # Scanner paths (NGINX answers /wp-login.php with 444: no response at all).
        Request(
            MASSCAN, "raw", "GET", "/", raw=b"GET / HTTP/1.0\r\n\r\n", protocol="HTTP/1.0", host=""
        ),
        Request(NIKTO, "curl", "GET", "/wp-login.php"),
        Request(NIKTO, "curl", "POST", "/wp-login.php", body=b"log=admin&pwd=admin"),
    ]


def browse(rng: random.Random) -> list[Request]:
    """A browser visit: one page on www, then a few assets from the static vhost."""
    who = rng.choice(BROWSERS)
    page = rng.choice(PAGES)
    referer = ("Referer", f"http://{HOST_WWW}{page}")
    reqs = [Request(who, "http.client", "GET", page)]
    for asset in rng.sample(ASSETS, rng.randint(1, 3)):
        reqs.append(
            Request(who, "http.client", "GET", asset, host=HOST_STATIC, headers=_hdrs(referer))
        )
    roll = rng.random()
    if roll < 0.15:
        reqs.append(Request(who, "http.client", "GET", "/apple-touch-icon.png"))
    elif roll < 0.35:
        body = _json({"name": "widget", "qty": rng.randint(1, 9)})
        reqs.append(
            Request(
                who,
                "http.client",
                "POST",
                "/api/items",
                body=body,
                headers=_hdrs(JSON_TYPE, referer),
            )
        )
    elif roll < 0.45:
        reqs.append(Request(who, "http.client", "HEAD", page))
    return reqs


def crawl(rng: random.Random) -> list[Request]:
    who = rng.choice(CRAWLERS)
    reqs = [Request(who, "urllib", "GET", "/robots.txt")]
    if rng.random() < 0.5:
        reqs.append(Request(who, "urllib", "GET", "/sitemap.xml"))
    reqs.append(Request(who, "urllib", rng.choice(("GET", "GET", "HEAD")), rng.choice(PAGES)))
    return reqs


def monitor(rng: random.Random) -> list[Request]:
    who = rng.choice(MONITORS)
    if rng.random() < 0.5:
        return [Request(who, "curl", "HEAD", "/")]
    return [Request(who, "curl", "GET", "/api/health")]


def api_calls(rng: random.Random) -> list[Request]:
    who = rng.choice((REQUESTS, GO, URLLIB, CURL))
    client = {URLLIB: "urllib", CURL: "curl"}.get(who, "http.client")
    item = f"/api/items/{rng.randint(1, 40)}"
    roll = rng.random()
    if roll < 0.45:
        return [Request(who, client, "GET", rng.choice(("/api/items", "/api/items?page=2", item)))]
    if roll < 0.65:
        return [
            Request(
                who,
                client,
                "POST",
                "/api/items",
                body=_json({"n": rng.randint(1, 99)}),
                headers=_hdrs(JSON_TYPE),
            )
        ]
    if roll < 0.8:
        return [
            Request(
                who,
                client,
                "PUT",
                item,
                body=_json({"qty": rng.randint(0, 5)}),
                headers=_hdrs(JSON_TYPE),
            )
        ]
    if roll < 0.9:
        return [
            Request(who, client, "PATCH", item, body=_json({"qty": 0}), headers=_hdrs(JSON_TYPE))
        ]
    return [
        Request(
            who,
            client,
            "PATCH",
            f"/api/legacy/orders/{rng.randint(100, 199)}",
            body=_json({"state": "shipped"}),
            headers=_hdrs(JSON_TYPE),
        )
    ]


def webhook(rng: random.Random) -> list[Request]:
    who, name = rng.choice(((HOOKSHOT, "github"), (STRIPE, "stripe"), (SLACKBOT, "slack")))
    if name == "slack" and rng.random() < 0.5:
        return [Request(who, "urllib", "GET", rng.choice(PAGES))]
    body = _json({"event": name, "id": rng.randint(10**5, 10**6)})
    return [
        Request(who, "urllib", "POST", f"/api/hooks/{name}", body=body, headers=HOOK_HEADERS[name])
    ]


def scan(rng: random.Random) -> list[Request]:
    who = rng.choice((NIKTO, SQLMAP, ZGRAB))
    path = rng.choice(SCAN_PATHS)
    if path.startswith("/.."):
        return [Request(who, "http.client", "GET", path)]
    method = rng.choice(("GET", "GET", "GET", "HEAD", "POST"))
    body = b"a=1" if method == "POST" else b""
    return [Request(who, "curl", method, path, body=body)]


ACTIVITIES: tuple[tuple[Callable[[random.Random], list[Request]], int], ...] = (
    (browse, 34),
    (crawl, 12),
    (monitor, 12),
    (api_calls, 22),
    (webhook, 10),
    (scan, 10),
)


def background(rng: random.Random, count: int) -> list[Request]:
    """Ordinary traffic (mostly GET/HEAD/POST) until at least ``count`` requests."""
    funcs = [f for f, _ in ACTIVITIES]
    weights = [w for _, w in ACTIVITIES]
    reqs: list[Request] = []
    while len(reqs) < count:
        reqs.extend(rng.choices(funcs, weights)[0](rng))
    return reqs


def build_mix(background_per_phase: int = 50) -> list[list[Request]]:
    """The whole request mix, split into phases. Deterministic for a given SEED."""
    rng = random.Random(SEED)
    probes = probe_requests(rng)
    rng.shuffle(probes)
    phases: list[list[Request]] = []
    for index in range(PHASES):
        reqs = background(rng, background_per_phase)
        for probe in probes[index::PHASES]:
            reqs.insert(rng.randint(0, len(reqs)), probe)
        phases.append(reqs)
    return phases


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------

STATUS_LINE = re.compile(rb"^HTTP/\d\.\d (\d{3})")


def request_headers(req: Request) -> list[tuple[str, str]]:
    headers = [("Host", req.host)] if req.host else []
    if req.who.user_agent:
        headers.append(("User-Agent", req.who.user_agent))
    if req.who.xff:
        headers.append(("X-Forwarded-For", req.who.xff))
    return headers + list(req.headers)


def send_curl(req: Request, port: int) -> str:
    cmd = [
        "curl",
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "15",
        "--interface",
        req.who.addr,
        "--path-as-is",
    ]
    if req.target == "*":
        cmd += ["--request-target", "*"]
    if req.method == "HEAD":
        cmd.append("-I")
    elif req.method != "GET" or req.body:
        cmd += ["-X", req.method]
    if req.body:
        cmd += ["--data-binary", "@-"]
    for name, value in request_headers(req):
        if name == "User-Agent" and req.who is CURL:
            continue  # curl's own default agent
        cmd += ["-H", f"{name}: {value}"]
    path = "/" if req.target == "*" else req.target
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, input=req.body, capture_output=True, check=False)
    code = out.stdout.decode().strip()
    return "" if code in ("", "000") else code


def send_http_client(req: Request, port: int) -> str:
    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=15, source_address=(req.who.addr, 0)
    )
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for name, value in request_headers(req):
            conn.putheader(name, value)
        if req.body or req.method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(req.body)))
        conn.endheaders(req.body or None)
        resp = conn.getresponse()
        resp.read()
        return str(resp.status)
    except (http.client.HTTPException, OSError):
        return ""
    finally:
        conn.close()


class _BoundHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, source: str) -> None:
        super().__init__()
        self._source = source

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        conn = functools.partial(http.client.HTTPConnection, source_address=(self._source, 0))
        return self.do_open(conn, req)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def send_urllib(req: Request, port: int) -> str:
    opener = urllib.request.build_opener(_BoundHTTPHandler(req.who.addr), _NoRedirect())
    url = f"http://127.0.0.1:{port}{req.target}"
    request = urllib.request.Request(
        url, data=req.body or None, method=req.method, headers=dict(request_headers(req))
    )
    try:
        with opener.open(request, timeout=15) as resp:
            resp.read()
            return str(resp.status)
    except urllib.error.HTTPError as err:
        err.read()
        err.close()
        return str(err.code)
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return ""


def send_raw(req: Request, port: int) -> str:
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=SERVER_IDLE_TIMEOUT + 7, source_address=(req.who.addr, 0)
    )
    chunks: list[bytes] = []
    try:
        sock.sendall(req.raw or b"")
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        pass
    finally:
        sock.close()
    match = STATUS_LINE.match(b"".join(chunks))
    return match.group(1).decode() if match else ""


SENDERS: dict[str, Callable[[Request, int], str]] = {
    "curl": send_curl,
    "http.client": send_http_client,
    "urllib": send_urllib,
    "raw": send_raw,
}


def sent_line(req: Request) -> bytes:
    """The request line as it went on the wire (up to, not including, the first CR/LF)."""
    if req.raw is not None:
        return re.split(rb"\r?\n", req.raw, maxsplit=1)[0]
    return f"{req.method} {req.target} {req.protocol}".encode("latin-1")


def escape(value: str | bytes) -> str:
    """Manifest encoding: Latin-1 text with Python ``unicode_escape`` escapes."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text.encode("unicode_escape").decode("ascii")


def raw_header(data: bytes, name: str) -> str:
    """A header's value in hand-built request bytes ('' when absent)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.decode("latin-1").lower() == name.lower():
            return value.strip().decode("latin-1")
    return ""


def sent_headers(req: Request) -> dict[str, str]:
    """Host, User-Agent and X-Forwarded-For exactly as they went out."""
    names = ("Host", "User-Agent", "X-Forwarded-For")
    if req.raw is not None:
        return {name: raw_header(req.raw, name) for name in names}
    sent = dict(request_headers(req))
    return {name: sent.get(name, "") for name in names}


def manifest_row(seq: int, server: str, req: Request, status: str, sent_at: str) -> dict[str, str]:
    headers = sent_headers(req)
    return {
        "seq": str(seq),
        "server": server,
        "vhost": escape(headers["Host"]),
        "client_addr": req.who.addr,
        "x_forwarded_for": escape(headers["X-Forwarded-For"]),
        "method": escape(req.method),
        "target": escape(req.target),
        "protocol": escape(req.protocol),
        "raw_request_line": escape(sent_line(req)),
        "user_agent": escape(headers["User-Agent"]),
        "client_status": status,
        "sent_at": sent_at,
    }


# ---------------------------------------------------------------------------------------------
# The backend behind /api/
# ---------------------------------------------------------------------------------------------

ITEM = re.compile(r"^/api/items/\d+$")


def backend_route(path: str) -> tuple[str, ...]:
    """Methods the backend implements for a path (empty: no such resource)."""
    path = path.split("?", 1)[0]
    if ITEM.match(path):
        return ("GET", "HEAD", "PUT", "PATCH")
    if path == "/api/items":
        return ("GET", "HEAD", "POST")
    if path.startswith("/api/legacy/"):
        return ("GET", "HEAD", "POST", "PUT")
    if path.startswith("/api/hooks/"):
        return ("POST",)
    if path == "/api/health":
        return ("GET", "HEAD")
    return ()


class BackendHandler(BaseHTTPRequestHandler):
    """PUT/PATCH on items, 501 for PATCH/DELETE on legacy paths, 405 + Allow elsewhere.

    Methods without a ``do_`` method (FOO, PROPFIND, TRACE...) get http.server's own 501.
    """

    protocol_version = "HTTP/1.1"
    server_version = "logscan-backend/1.0"
    sys_version = ""

    def log_message(self, *args: object) -> None:
        return

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes = b"", allow: str = "") -> None:
        self.send_response(status)
        if allow:
            self.send_header("Allow", allow)
        if status != 204:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self.wfile.write(body)

    def _handle(self) -> None:
        self._read_body()
        allowed = backend_route(self.path)
        if not allowed:
            self._reply(404, b'{"error":"not found"}')
        elif self.command == "OPTIONS":
            self._reply(204, allow=", ".join(allowed))
        elif self.command in allowed:
            status = 201 if self.command == "POST" and self.path == "/api/items" else 200
            if self.path.startswith("/api/hooks/"):
                status = 204
            self._reply(status, b'{"ok":true}')
        elif self.path.startswith("/api/legacy/"):
            self._reply(501, b'{"error":"not implemented by the legacy order service"}')
        else:
            self._reply(405, b'{"error":"method not allowed"}', allow=", ".join(allowed))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), BackendHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return Backend(server, thread)


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

MIME_TYPES = {
    "html": "text/html",
    "css": "text/css",
    "js": "application/javascript",
    "png": "image/png",
    "ico": "image/x-icon",
    "txt": "text/plain",
    "xml": "application/xml",
    "woff2": "font/woff2",
}

SITE_FILES = {
    "www": {
        "index.html": "<!doctype html><title>Example</title><h1>Example shop</h1>\n",
        "about.html": "<!doctype html><title>About</title><p>About us.</p>\n",
        "products/index.html": "<!doctype html><title>Products</title><ul><li>widget</ul>\n",
        "products/widget.html": "<!doctype html><title>Widget</title><p>A widget.</p>\n",
        "blog/index.html": "<!doctype html><title>Blog</title><p>One post.</p>\n",
        "blog/caf\u00e9.html": "<!doctype html><title>Caf\u00e9</title><p>Coffee.</p>\n",
        "contact.html": "<!doctype html><title>Contact</title><form method=post></form>\n",
        "robots.txt": "User-agent: *\nDisallow: /api/\nSitemap: /sitemap.xml\n",
        "sitemap.xml": '<?xml version="1.0"?><urlset><url><loc>/</loc></url></urlset>\n',
        "favicon.ico": "\x00\x00\x01\x00",
    },
    "static": {
        "index.html": "<!doctype html><title>static</title>\n",
        "css/site.css": "body { font-family: sans-serif; }\n" * 20,
        "js/app.js": "console.log('app');\n" * 40,
        "img/logo.png": "\x89PNG\r\n\x1a\n" + "x" * 600,
        "fonts/inter.woff2": "wOF2" + "f" * 1500,
        "favicon.ico": "\x00\x00\x01\x00",
    },
}


def write_sites(prefix: Path) -> None:
    for site, files in SITE_FILES.items():
        for rel, text in files.items():
            path = prefix / "htdocs" / site / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                text.encode("utf-8") if rel.endswith(".html") else text.encode("latin-1")
            )
    for path in [prefix, *prefix.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def apache_config(prefix: Path, port: int, backend_port: int) -> str:
    mods = ["mpm_event", "authz_core", "mime", "dir", "proxy", "proxy_http"]
    load = "\n".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so" for m in mods)
    fmt = APACHE_FORMAT.replace('"', '\\"')
    types = "\n".join(f"AddType {t} .{ext}" for ext, t in MIME_TYPES.items())
    return f"""\
# Generated by sample_logs/record.py: a complete, private Apache httpd configuration.
ServerRoot "{prefix}"
DefaultRuntimeDir "{prefix}/run"
PidFile "{prefix}/run/apache2.pid"
Mutex file:{prefix}/run default
{load}
User www-data
Group www-data
Listen 127.0.0.1:{port}
ServerName {HOST_WWW}
ServerTokens Prod
Timeout {SERVER_IDLE_TIMEOUT}
KeepAlive On
KeepAliveTimeout 5
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 5
MaxSpareThreads 25
ErrorLog "{prefix}/logs/apache_error.log"
LogLevel info core:debug
TypesConfig /dev/null
{types}
DirectoryIndex index.html
LogFormat "{fmt}" logscan_vhost
CustomLog "{prefix}/logs/{APACHE_LOG}" logscan_vhost
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{prefix}/htdocs">
    Require all granted
</Directory>
<VirtualHost 127.0.0.1:{port}>
    ServerName {HOST_WWW}
    DocumentRoot "{prefix}/htdocs/www"
    ProxyPass "/api/" "http://127.0.0.1:{backend_port}/api/"
    ProxyPassReverse "/api/" "http://127.0.0.1:{backend_port}/api/"
    ProxyPreserveHost On
</VirtualHost>
<VirtualHost 127.0.0.1:{port}>
    ServerName {HOST_STATIC}
    DocumentRoot "{prefix}/htdocs/static"
    TraceEnable off
</VirtualHost>
"""


def nginx_config(prefix: Path, port: int, backend_port: int) -> str:
    types = "\n".join(f"        {t} {ext};" for ext, t in MIME_TYPES.items())
    temps = "\n".join(
        f"    {name}_temp_path {prefix}/tmp/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    logs = prefix / "logs"
    return f"""\
# Generated by sample_logs/record.py: a complete, private NGINX configuration.
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid {prefix}/run/nginx.pid;
error_log {logs}/nginx_error.log info;
events {{
    worker_connections 256;
}}
http {{
    types {{
{types}
    }}
    default_type application/octet-stream;
{temps}
    server_tokens off;
    client_header_timeout {SERVER_IDLE_TIMEOUT}s;
    keepalive_timeout 5s;
    log_format logscan_timed '{NGINX_TIMED_FORMAT}';
    access_log {logs}/{NGINX_COMBINED_LOG} combined;
    access_log {logs}/{NGINX_TIMED_LOG} logscan_timed;
    access_log {logs}/{NGINX_ROTATED_LOG} combined;
    server {{
        listen 127.0.0.1:{port} default_server;
        server_name {HOST_WWW};
        root {prefix}/htdocs/www;
        location / {{
        }}
        location /api/ {{
            proxy_pass http://127.0.0.1:{backend_port};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location = /wp-login.php {{
            return 444;
        }}
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name {HOST_STATIC};
        root {prefix}/htdocs/static;
    }}
}}
"""


@dataclass
class Server:
    name: str  # "apache" | "nginx"
    port: int
    proc: subprocess.Popen[bytes]
    logs: dict[str, Path]  # output name -> path the server writes
    error_log: Path
    stop_signal: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(server: Server, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{read_tail(server.error_log)}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not listen on {server.port}")


def read_tail(path: Path, size: int = 4000) -> str:
    try:
        return path.read_bytes()[-size:].decode("utf-8", "replace")
    except OSError:
        return f"(no {path})"


def make_prefix(prefix: Path) -> None:
    for sub in ("logs", "run", "tmp"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        path = prefix / "tmp" / name
        path.mkdir(exist_ok=True)
        path.chmod(0o777)
    write_sites(prefix)


def start_apache(prefix: Path, backend_port: int) -> Server:
    port = free_port()
    conf = prefix / "apache2.conf"
    conf.write_text(apache_config(prefix, port, backend_port))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": APACHE_TZ, "LANG": "C"}
    proc = subprocess.Popen(
        [str(APACHE_BIN), "-d", str(prefix), "-f", str(conf), "-DFOREGROUND"],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    logs = {APACHE_LOG: prefix / "logs" / APACHE_LOG}
    server = Server(
        "apache", port, proc, logs, prefix / "logs" / "apache_error.log", signal.SIGTERM
    )
    wait_for_port(server)
    return server


def start_nginx(prefix: Path, backend_port: int) -> Server:
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, port, backend_port))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": NGINX_TZ, "LANG": "C"}
    proc = subprocess.Popen(
        [
            str(NGINX_BIN),
            "-p",
            str(prefix),
            "-c",
            str(conf),
            "-e",
            str(prefix / "logs" / "nginx_error.log"),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    logs = {
        name: prefix / "logs" / name
        for name in (NGINX_COMBINED_LOG, NGINX_TIMED_LOG, NGINX_ROTATED_LOG)
    }
    server = Server("nginx", port, proc, logs, prefix / "logs" / "nginx_error.log", signal.SIGQUIT)
    wait_for_port(server)
    return server


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(server.stop_signal)
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


def count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@dataclass
class Recording:
    """Manifest rows per server, and where the rotated NGINX log was cut (row counts)."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    expected: dict[Path, int] = field(default_factory=dict)
    rotation_cuts: list[int] = field(default_factory=list)


def wait_for_log_lines(server: Server, rec: Recording) -> None:
    """Block until every log of the server holds exactly the expected number of lines."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        counts = {path: count_lines(path) for path in server.logs.values()}
        if all(counts[path] == rec.expected[path] for path in counts):
            return
        extra = [p.name for p in counts if counts[p] > rec.expected[p]]
        if extra or time.monotonic() > deadline:
            state = {p.name: (counts[p], rec.expected[p]) for p in counts}
            raise RuntimeError(f"{server.name}: log lines (found, expected): {state}")
        time.sleep(0.002)


def send_one(server: Server, req: Request, rec: Recording) -> None:
    rows = rec.rows.setdefault(server.name, [])
    sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    status = SENDERS[req.client](req, server.port)
    rows.append(manifest_row(len(rows) + 1, server.name, req, status, sent_at))
    for path in server.logs.values():
        rec.expected[path] = rec.expected.get(path, 0) + 1
    wait_for_log_lines(server, rec)


def rotate_nginx(server: Server, rec: Recording) -> None:
    """Do what logrotate (with delaycompress) does: rename, then ask NGINX to reopen."""
    current = server.logs[NGINX_ROTATED_LOG]
    one = current.with_name(current.name + ".1")
    if one.exists():
        one.rename(current.with_name(current.name + ".2"))
    current.rename(one)
    server.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not current.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("nginx did not reopen its log after SIGUSR1")
        time.sleep(0.01)
    time.sleep(0.3)  # the worker reopens its files right after the master
    rec.expected[current] = 0
    rec.rotation_cuts.append(len(rec.rows.get(server.name, [])))


@dataclass(frozen=True)
class Pace:
    """How long to pause: between requests (mean, seconds) and between phases."""

    gap: float
    phase_gap: float


FULL = Pace(gap=0.40, phase_gap=9.0)
QUICK = Pace(gap=0.004, phase_gap=0.3)


def run_mix(servers: list[Server], phases: list[list[Request]], pace: Pace) -> Recording:
    rec = Recording()
    gaps = random.Random(SEED + 1)
    nginx = next(s for s in servers if s.name == "nginx")
    for index, phase in enumerate(phases):
        if index in (2, 4):
            rotate_nginx(nginx, rec)
        if index:
            time.sleep(pace.phase_gap)
        for req in phase:
            time.sleep(gaps.expovariate(1 / pace.gap))
            for server in servers:
                send_one(server, req, rec)
        print(f"phase {index + 1}/{len(phases)}: {len(phase)} requests", file=sys.stderr)
    return rec


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="ascii") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def format_entry(server: str, name: str, fmt: str, **extra: object) -> dict[str, object]:
    return {"server": server, "format_name": name, "format": fmt, "extra_lines": [], **extra}


def rotated_parts(rec: Recording) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """(file name, rows) of the rotated set, oldest first."""
    rows = rec.rows["nginx"]
    cuts = [0, *rec.rotation_cuts, len(rows)]
    names = [f"{NGINX_ROTATED_LOG}.2.gz", f"{NGINX_ROTATED_LOG}.1", NGINX_ROTATED_LOG]
    for name, start, end in zip(names, cuts[:-1], cuts[1:], strict=True):
        yield name, rows[start:end]


def write_outputs(out: Path, servers: list[Server], rec: Recording) -> None:
    out.mkdir(parents=True, exist_ok=True)
    apache, nginx = servers
    formats: dict[str, dict[str, object]] = {}
    shutil.copyfile(apache.logs[APACHE_LOG], out / APACHE_LOG)
    write_manifest(out / f"{APACHE_LOG}.manifest.csv", rec.rows["apache"])
    formats[APACHE_LOG] = format_entry("apache", "logscan_vhost", APACHE_FORMAT, timezone=APACHE_TZ)
    for name, fmt_name, fmt in (
        (NGINX_COMBINED_LOG, "combined", NGINX_COMBINED_FORMAT),
        (NGINX_TIMED_LOG, "logscan_timed", NGINX_TIMED_FORMAT),
    ):
        shutil.copyfile(nginx.logs[name], out / name)
        write_manifest(out / f"{name}.manifest.csv", rec.rows["nginx"])
        formats[name] = format_entry("nginx", fmt_name, fmt, timezone=NGINX_TZ)
    written = nginx.logs[NGINX_ROTATED_LOG]
    sources = [
        written.with_name(written.name + ".2"),
        written.with_name(written.name + ".1"),
        written,
    ]
    for part, ((name, rows), source) in enumerate(zip(rotated_parts(rec), sources, strict=True)):
        data = source.read_bytes()
        if name.endswith(".gz"):
            (out / name).write_bytes(gzip.compress(data, mtime=0))
        else:
            (out / name).write_bytes(data)
        write_manifest(out / f"{name}.manifest.csv", rows)
        formats[name] = format_entry(
            "nginx",
            "combined",
            NGINX_COMBINED_FORMAT,
            timezone=NGINX_TZ,
            rotated_set=NGINX_ROTATED_LOG,
            part=part,
        )
    (out / "formats.json").write_text(json.dumps(formats, indent=2) + "\n")


def verify_outputs(out: Path) -> None:
    """Every log has exactly one line per manifest row."""
    formats = json.loads((out / "formats.json").read_text())
    for name in formats:
        path = out / name
        data = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        with (out / f"{name}.manifest.csv").open(newline="") as fh:
            rows = sum(1 for _ in csv.DictReader(fh))
        lines = data.count(b"\n")
        if lines != rows:
            raise RuntimeError(f"{name}: {lines} lines for {rows} manifest rows")


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def ensure_servers(install: bool) -> None:
    missing = [str(p) for p in (APACHE_BIN, NGINX_BIN) if not p.exists()]
    if not missing:
        return
    if not install:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install {' '.join(APT_PACKAGES)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES],
        check=True,
        env=env,
    )


def record(out: Path, pace: Pace, keep_temp: bool = False) -> None:
    phases = build_mix()
    prefix = Path(tempfile.mkdtemp(prefix="logscan-record-"))
    servers: list[Server] = []
    backend = start_backend()
    try:
        make_prefix(prefix)
        servers.append(start_apache(prefix, backend.port))
        servers.append(start_nginx(prefix, backend.port))
        rec = run_mix(servers, phases, pace)
        for server in servers:
            stop_server(server)
        write_outputs(out, servers, rec)
        verify_outputs(out)
    except BaseException:
        for server in servers:
            print(
                f"--- {server.name} error log ---\n{read_tail(server.error_log)}", file=sys.stderr
            )
        raise
    finally:
        for server in servers:
            stop_server(server)
        backend.stop()
        if keep_temp:
            print(f"server prefix kept: {prefix}", file=sys.stderr)
        else:
            shutil.rmtree(prefix, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output directory (default: sample_logs/)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="same requests with short pauses (~20 s instead of ~3.5 min)",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="never run apt-get; fail when a server binary is missing",
    )
    parser.add_argument(
        "--keep-temp",
        action="store_true",
        help="keep the servers' temporary prefix (configs, error logs) for debugging",
    )
    args = parser.parse_args(argv)
    ensure_servers(install=not args.no_install)
    started = time.monotonic()
    record(args.out, QUICK if args.quick else FULL, keep_temp=args.keep_temp)
    print(f"recorded into {args.out} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
