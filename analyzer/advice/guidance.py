"""How to fix a finding, per server and verdict: short config snippets an operator can adapt.

The guidance is data: :data:`GUIDANCE` is one table of frozen :class:`Guidance` rows keyed by
(server, verdict, method), where method is ``None`` for the general row and a name (``TRACE``)
for a method-specific one. :func:`guidance_for` looks a row up and puts the finding's method into
the snippet. Facts come from the project's HTTP semantics notes and from measurements: every
Apache and NGINX snippet is applied to the real server by ``tests/test_advice_live.py`` (Apache
httpd 2.4.71 and NGINX 1.22.1 on 127.0.0.1 when written), which asserts the status and every
``Allow`` field line each promise rests on. NGINX snippets write ``http { ... }`` and
``server { ... }`` for "inside your http / server block"; alternatives are separated by a blank
line.

Servers: ``apache``, ``nginx`` and ``unknown`` (any other origin, or an application behind a
proxy). Verdicts: the four per-method verdicts of DESIGN.md section 4, ``version_not_supported``
for protocol findings, ``transfer_encoding`` for 501s that may be a Transfer-Encoding, and
``allow_missing`` for 405 responses without an ``Allow`` header
(:mod:`analyzer.verdicts.allow_checks`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from ..vocabulary import APACHE_BUILTIN_METHODS
from ..vocabulary import VERDICTS as METHOD_VERDICTS

__all__ = ["GUIDANCE", "SERVERS", "VERDICTS", "Guidance", "guidance_for"]

SERVERS = ("apache", "nginx", "unknown")
VERDICTS = (
    *METHOD_VERDICTS,
    "version_not_supported",
    "transfer_encoding",
    "allow_missing",
)
# a method name that can go into a config snippet as-is (a regex or a directive argument)
_SAFE_METHOD = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_PLACEHOLDER = "METHOD"
_VERDICT_ALIASES = {
    "version": "version_not_supported",
    "protocol": "version_not_supported",
    "not_implemented": "capability_gap",
    "method_not_allowed": "resource_restriction",
}


@dataclass(frozen=True)
class Guidance:
    """One row of advice. ``snippet`` may hold ``{method}`` and example Allow lists
    (``{allow}``, ``{allow_re}``, ``{allow_options}``, ``{allow_methods}``, ``{static_allow}``,
    ``{static_re}``), filled in by
    :func:`guidance_for` so that they never list the refused method."""

    server: str
    verdict: str
    title: str
    why: str
    snippet: str
    rfc: str
    method: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``verdicts[].guidance``)."""
        return {"title": self.title, "why": self.why, "snippet": self.snippet, "rfc": self.rfc}


_TRACE_APACHE = Guidance(
    "apache", "never_allowed", method="TRACE",
    title="TRACE is refused: keep it that way with TraceEnable off",
    why="With TraceEnable off Apache answers TRACE with 405 and an empty Allow header (an empty "
        "Allow means the resource allows no method, RFC 9110 section 10.2.1); the default, "
        "TraceEnable on, echoes the request back with 200. Refusing TRACE is the usual "
        "hardening: nothing to fix.",
    snippet="# server config or <VirtualHost>: 405 for TRACE, also for proxied requests\n"
            "TraceEnable off",
    rfc="RFC 9110 §9.3.8, §15.5.6, §10.2.1",
)
# proven live: a server-level error_page reaches TRACE too (rejected before any location)
_TRACE_NGINX = Guidance(
    "nginx", "never_allowed", method="TRACE",
    title="NGINX always refuses TRACE with 405 (and no Allow header)",
    why="NGINX rejects TRACE before any location is chosen, over HTTP/1, HTTP/2 and HTTP/3; "
        "there is nothing to switch off. The 405 lacks the Allow header RFC 9110 requires; a "
        "server-level error_page adds it.",
    snippet="server {\n"
            "    error_page 405 = @method_not_allowed;\n"
            "    location @method_not_allowed {\n"
            '        add_header Allow "{static_allow}" always;\n'
            "        return 405;\n"
            "    }\n"
            "}",
    rfc="RFC 9110 §9.3.8, §15.5.6, §10.2.1",
)

# a server-level named location that gives NGINX's own 405s (TRACE included) an Allow header
_NGINX_ALLOW_ON_405 = (
    "server {\n"
    "    error_page 405 = @method_not_allowed;\n"
    "    location @method_not_allowed {\n"
    '        add_header Allow "{static_allow}" always;\n'
    "        return 405;\n"
    "    }\n"
    "}"
)

#: The table: (server, verdict, method) -> advice. Method-specific rows come first.
GUIDANCE: tuple[Guidance, ...] = (
    _TRACE_APACHE,
    dataclasses.replace(_TRACE_APACHE, verdict="resource_restriction"),
    _TRACE_NGINX,
    dataclasses.replace(_TRACE_NGINX, verdict="resource_restriction"),
    # -- Apache httpd 2.4 ----------------------------------------------------------------------
    Guidance(
        "apache", "capability_gap",
        title="Apache has no handler for this method: 501 is correct",
        why="Apache answers 501 to method names it does not know (not built in, not "
            "registered; FOO, DEBUG, lowercase get) when no module takes the request: the "
            "meaning RFC 9110 gives 501. Such names come mostly from scanners and broken "
            "clients. If real clients need the method, hand it to something that implements "
            "it; RegisteredMethods rejects unknown names while parsing (still 501).",
        snippet="# Clients need {method}: pass it to a backend that implements it\n"
                '# (mod_proxy + mod_proxy_http forward any method)\n'
                'ProxyPass        "/api/" "http://127.0.0.1:8080/api/"\n'
                'ProxyPassReverse "/api/" "http://127.0.0.1:8080/api/"\n'
                "\n"
                "# Or reject unregistered method names before any handler runs (501)\n"
                "HttpProtocolOptions Strict RegisteredMethods",
        rfc="RFC 9110 §9.1, §15.6.2",
    ),
    # proven live: a local ErrorDocument replaces the Allow line
    # Apache adds to its own 405s (TRACE, or the default handler's list), so the line set in
    # the error document's <Location> is the only one
    Guidance(
        "apache", "partial_implementation",
        title="The method works elsewhere: answer 405 with Allow here, not 501",
        why="Apache itself sends 501 only for method names it does not know, so a 501 for a "
            "method that succeeds elsewhere comes from a proxied backend (mod_proxy passes the "
            "status through) or from a module that reads the body through the old API and "
            "rejects any Transfer-Encoding but plain chunked (mod_dav, mod_lua, "
            "mod_proxy_scgi, mod_proxy_uwsgi). A known method refused by one resource is a 405, "
            "and a 405 must carry Allow: fix the backend, or answer for it in Apache. Apache "
            "adds an Allow line of its own to every 405 it makes (TRACE, or an empty one with "
            "TraceEnable off), and a 'Header always set Allow' beside it gives a second line; "
            "a local ErrorDocument takes Apache's line away, so with this snippet the 405 "
            "carries exactly one Allow line. The error document must exist.",
        snippet="# 405 + Allow for {method} under /legacy/ (mod_rewrite, mod_headers)\n"
                "RewriteEngine On\n"
                "RewriteCond %{REQUEST_METHOD} ^{method}$\n"
                "RewriteRule ^/legacy/ - [R=405,L]\n"
                '<Location "/legacy/">\n'
                "    ErrorDocument 405 /errors/405-legacy.html\n"
                "</Location>\n"
                "# the error document's request carries the Allow line (one line, this one)\n"
                '<Location "/errors/405-legacy.html">\n'
                '    Header always set Allow "{allow}" "expr=%{REQUEST_STATUS} == 405"\n'
                "</Location>",
        rfc="RFC 9110 §15.5.6, §10.2.1, §15.6.2; RFC 9112 §6.1",
    ),
    # proven live: mod_allowmethods' 405 says only "Allow: TRACE"
    # (empty with TraceEnable off); the local ErrorDocument replaces it with one exact line
    Guidance(
        "apache", "resource_restriction",
        title="405 here is correct: keep the Allow header accurate",
        why="The method works on other resources and is refused on these with 405, the status "
            "RFC 9110 asks for; the 405 must list what the resource supports in Allow. Apache's "
            "default handler does (GET, POST, OPTIONS, HEAD, plus TRACE unless TraceEnable "
            "off), but a 405 from mod_allowmethods carries only 'Allow: TRACE'. A local "
            "ErrorDocument replaces that line, and mod_headers sets the real list in the error "
            "document's <Location>: one Allow line. mod_allowmethods cannot refuse TRACE; "
            "TraceEnable off does (405 with an empty Allow). <Limit>/<LimitExcept> with Require "
            "answer 403, not 405.",
        snippet="TraceEnable off\n"
                '<Location "/uploads/">\n'
                "    AllowMethods {allow_methods}\n"
                "    ErrorDocument 405 /errors/405-uploads.html\n"
                "</Location>\n"
                '<Location "/errors/405-uploads.html">\n'
                '    Header always set Allow "{allow_options}" "expr=%{REQUEST_STATUS} == 405"\n'
                "</Location>",
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
    Guidance(
        "apache", "never_allowed",
        title="Nothing implements this method: the 405 is really a capability gap",
        why="Apache knows PUT, DELETE, PATCH and the WebDAV methods by name and answers 405 "
            "even when no module implements them: the default handler serves only GET, HEAD, "
            "POST and OPTIONS. If the method is banned on purpose, make the ban explicit and "
            "keep an accurate Allow. If clients need it, enable the module that implements it "
            "(mod_dav for WebDAV) or proxy it to a backend.",
        snippet="# Clients need {method}: implement it (mod_dav + mod_dav_fs) or proxy it;\n"
                "# the server user must be able to write the lock database and the directory\n"
                'DavLockDB "logs/DAVLock"\n'
                '<Location "/dav/">\n'
                "    Dav On\n"
                "</Location>\n"
                'ProxyPass "/api/" "http://127.0.0.1:8080/api/"\n'
                "\n"
                "# Banned on purpose: 405, one Allow line (mod_allowmethods, mod_headers)\n"
                "TraceEnable off\n"
                '<Location "/">\n'
                "    AllowMethods {allow_methods}\n"
                "    ErrorDocument 405 /errors/405.html\n"
                "</Location>\n"
                '<Location "/errors/405.html">\n'
                '    Header always set Allow "{allow_options}" "expr=%{REQUEST_STATUS} == 405"\n'
                "</Location>",
        rfc="RFC 9110 §9.1, §15.5.6, §10.2.1",
    ),
    Guidance(
        "apache", "version_not_supported",
        title="Apache never sends 505: this status came from a backend",
        why="Apache 2.4 serves well-formed HTTP/2.0 and HTTP/3.0 request lines (real HTTP/2 "
            "through mod_http2 is logged as HTTP/2.0 too) and answers malformed versions and an "
            "explicit HTTP/0.9 with 400. A 505 in an Apache log was passed through from a "
            "proxied backend (Tomcat answers 505 to anything but HTTP/1.0 and 1.1, even 1.2, "
            "which RFC 9110 says to treat as 1.1).",
        snippet="# Serve real HTTP/2 (mod_http2) rather than HTTP/2.0 text request lines\n"
                "Protocols h2 h2c http/1.1\n"
                "# Refuse HTTP/0.9-style request lines (400)\n"
                "HttpProtocolOptions Strict Require1.0",
        rfc="RFC 9110 §15.6.6, §2.5; RFC 9112 §2.3",
    ),
    Guidance(
        "apache", "transfer_encoding",
        title="Check the Transfer-Encoding of the failing requests",
        why="Apache answers 400 when the last transfer coding is not chunked; handlers that read "
            "the body through the old API (mod_dav, mod_lua, mod_proxy_scgi, mod_proxy_uwsgi) "
            "answer 501 to anything but exactly 'chunked', and mod_proxy_http answers 'gzip, "
            "chunked' with 500 (AH01093). RFC 9112 says 501 for a coding the "
            "server does not understand. Clients should send plain chunked or Content-Length.",
        snippet="# Log the Transfer-Encoding and Allow of the 501s (mod_log_config)\n"
                'LogFormat "%h %t \\"%r\\" %>s \\"%{Transfer-Encoding}i\\" \\"%{Allow}o\\"" te\n'
                'CustomLog "logs/te.log" te "expr=%{REQUEST_STATUS} == 501"',
        rfc="RFC 9112 §6.1, §6.3; RFC 9110 §15.6.2",
    ),
    Guidance(
        "apache", "allow_missing",
        title="Send Allow with every 405",
        why="RFC 9110 says a 405 MUST carry Allow. Apache's own 405s always do; one without "
            "it was passed through from a backend (or Allow was unset). The condition adds the "
            "line only where the backend sent none, so a 405 that has one keeps exactly that "
            "one (an unconditional 'Header always set' would add a second line).",
        snippet="# 405s from the backend behind /api/ that carry no Allow get this one\n"
                '<Location "/api/">\n'
                '    Header always set Allow "{allow}" \\\n'
                '        "expr=%{REQUEST_STATUS} == 405 && -z %{resp:Allow}"\n'
                "</Location>",
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
    # -- NGINX ---------------------------------------------------------------------------------
    Guidance(
        "nginx", "capability_gap",
        title="NGINX does not send 501 for methods: it came from a backend or a "
              "Transfer-Encoding",
        why="Stock NGINX never answers a method with 501: unknown methods get 405 on static "
            "content or go to the upstream. Its own 501s are a Transfer-Encoding other than "
            "exactly 'chunked' (RFC 9112 section 6.1) and WebDAV PUT with Content-Range. "
            "Otherwise the proxied application does not implement the method anywhere, and 501 "
            "is correct. If clients need it, implement it in the backend.",
        snippet="# Route {method} to a backend that implements it (in the server block)\n"
                "location /api/ {\n"
                "    proxy_pass http://127.0.0.1:8080;\n"
                "}\n"
                "\n"
                "# See what clients sent and what came back\n"
                "http {\n"
                "    log_format te '$remote_addr [$time_local] \"$request\" $status '\n"
                "                  '\"$http_transfer_encoding\" \"$sent_http_allow\"';\n"
                "}\n"
                "server {\n"
                "    access_log logs/te.log te;\n"
                "}",
        rfc="RFC 9110 §9.1, §15.6.2; RFC 9112 §6.1",
    ),
    # proven live: 405 with one "Allow: GET, HEAD, POST" line; GET, HEAD, POST still proxied
    Guidance(
        "nginx", "partial_implementation",
        title="The method works elsewhere: answer 405 with Allow here, not 501",
        why="The method succeeds on other resources, so 501 is the wrong status here (405 fits). "
            "It comes from the backend behind proxy_pass or, for a body-carrying method, from a "
            "Transfer-Encoding NGINX does not accept (anything but exactly 'chunked'). Fix the "
            "backend, or answer for it in NGINX; NGINX never adds Allow by itself.",
        snippet="location /legacy/ {\n"
                "    if ($request_method !~ ^({allow_re})$) {\n"
                '        add_header Allow "{allow}" always;\n'
                "        return 405;\n"
                "    }\n"
                "    proxy_pass http://127.0.0.1:8080;\n"
                "}",
        rfc="RFC 9110 §15.5.6, §10.2.1, §15.6.2; RFC 9112 §6.1",
    ),
    # proven live: the named location adds one Allow line to static-file 405s (TRACE, OPTIONS
    # and POST included); limit_except would deny with 403
    Guidance(
        "nginx", "resource_restriction",
        title="405 here is correct, but NGINX sends no Allow header",
        why="RFC 9110 requires Allow on every 405 and stock NGINX never sends it "
            "($sent_http_allow logs '-'). Add it to the 405s NGINX makes itself with error_page "
            "and a named location. List only what the resource accepts: static files take GET "
            "and HEAD (POST to a file is refused too). limit_except denies with 403, not 405.",
        snippet=_NGINX_ALLOW_ON_405,
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
    Guidance(
        "nginx", "never_allowed",
        title="On NGINX this 405 is the capability gap: nothing serves the method",
        why="NGINX's static module answers 405 to every method but GET, HEAD and POST, unknown "
            "names like FOO and PROPFIND included, and never 501. A method that never succeeds "
            "is not implemented here. If clients need it, pass it to a backend that implements "
            "it; if it is banned on purpose, keep the 405 and add the Allow header NGINX leaves "
            "out.",
        snippet="# Clients need {method}: pass it to a backend that implements it\n"
                "location /api/ {\n"
                "    proxy_pass http://127.0.0.1:8080;\n"
                "}\n"
                "# Banned on purpose: 405 with Allow\n"
                "location / {\n"
                "    if ($request_method !~ ^({static_re})$) {\n"
                '        add_header Allow "{static_allow}" always;\n'
                "        return 405;\n"
                "    }\n"
                "}",
        rfc="RFC 9110 §9.1, §15.5.6, §10.2.1",
    ),
    Guidance(
        "nginx", "version_not_supported",
        title="NGINX answers 505 to HTTP/2.0 and later in an HTTP/1 request line",
        why="NGINX sends 505 only when an HTTP/1 request line names major version 2 or higher. "
            "HTTP/1.2 to 1.99 are served, an explicit HTTP/0.9 or a malformed version gets 400, "
            "and the h2c preface 'PRI * HTTP/2.0' gets 400. Real HTTP/2 arrives over TLS (ALPN) "
            "and is logged as HTTP/2.0 with a normal status; a 505 means a client wrote "
            "'HTTP/2.0' into a text request line, usually a scanner or a broken client.",
        snippet="# Offer real HTTP/2 over TLS (NGINX 1.25.1 and later)\n"
                "server {\n"
                "    listen 443 ssl;\n"
                "    http2 on;\n"
                "}\n"
                "\n"
                "# NGINX before 1.25.1\n"
                "server {\n"
                "    listen 443 ssl http2;\n"
                "}",
        rfc="RFC 9110 §15.6.6; RFC 9112 §2.3",
    ),
    Guidance(
        "nginx", "transfer_encoding",
        title="Check the Transfer-Encoding of the failing requests",
        why="NGINX answers 501 to any Transfer-Encoding other than exactly 'chunked' "
            "('gzip, chunked' included) and 400 to Transfer-Encoding in HTTP/1.0 or together "
            "with Content-Length. Clients should send plain chunked or Content-Length.",
        snippet="http {\n"
                "    log_format te '$remote_addr [$time_local] \"$request\" $status '\n"
                "                  '\"$http_transfer_encoding\" \"$http_content_length\"';\n"
                "}\n"
                "server {\n"
                "    access_log logs/te.log te;\n"
                "}",
        rfc="RFC 9112 §6.1, §6.3; RFC 9110 §15.6.2",
    ),
    Guidance(
        "nginx", "allow_missing",
        title="NGINX never sends Allow: add it to its 405s",
        why="RFC 9110 says a 405 MUST carry Allow. Stock NGINX never sends one, so every 405 "
            "NGINX makes itself lacks it; 405s from a proxied backend carry whatever the backend "
            "sent. A server-level error_page adds it to all of NGINX's own 405s, TRACE included.",
        snippet=_NGINX_ALLOW_ON_405,
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
    # -- any other server, or an application behind a proxy ------------------------------------
    Guidance(
        "unknown", "capability_gap",
        title="The method is not implemented anywhere: 501 is correct",
        why="A method the origin server does not recognise or implement for any resource gets "
            "501 (RFC 9110 section 9.1). Nothing to fix unless clients need it. Rule out a "
            "Transfer-Encoding first: NGINX, Go, Tomcat, Gunicorn and Envoy answer an unknown "
            "transfer coding with 501 too.",
        snippet="# Application behind the proxy: implement the handler for {method}, or keep\n"
                "HTTP/1.1 501 Not Implemented\n"
                "Content-Type: text/plain\n"
                "\n"
                "{method} is not supported by this server.",
        rfc="RFC 9110 §9.1, §15.6.2",
    ),
    Guidance(
        "unknown", "partial_implementation",
        title="Return 405 with Allow instead of 501 where the method exists elsewhere",
        why="The method is implemented for other resources, so the server does recognise it: "
            "for a resource that does not support it RFC 9110 asks for 405 and an Allow header "
            "listing what the resource supports. 501 says the server lacks the method "
            "everywhere, which clients and caches may believe. Also rule out an unsupported "
            "Transfer-Encoding on body-carrying methods.",
        snippet="# The application behind the proxy, for a resource without {method}:\n"
                "HTTP/1.1 405 Method Not Allowed\n"
                "Allow: {allow}\n"
                "\n"
                "# e.g. WSGI\n"
                'start_response("405 Method Not Allowed", [("Allow", "{allow}")])',
        rfc="RFC 9110 §15.5.6, §10.2.1, §15.6.2",
    ),
    Guidance(
        "unknown", "resource_restriction",
        title="405 here is correct: make sure it carries Allow",
        why="The method works on other resources and is refused on these with 405, as RFC 9110 "
            "asks. The 405 MUST list the methods the resource supports in Allow.",
        snippet="HTTP/1.1 405 Method Not Allowed\n"
                "Allow: {allow}",
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
    Guidance(
        "unknown", "never_allowed",
        title="The method never succeeds: 501 would describe a server-wide gap",
        why="405 says the method exists but not for this resource; a method refused everywhere "
            "is not implemented, which RFC 9110 answers with 501, unless the ban is deliberate "
            "(then keep 405 with an accurate Allow).",
        snippet="# Not implemented anywhere:\n"
                "HTTP/1.1 501 Not Implemented\n"
                "\n"
                "# Banned on purpose:\n"
                "HTTP/1.1 405 Method Not Allowed\n"
                "Allow: {allow}",
        rfc="RFC 9110 §9.1, §15.5.6, §15.6.2",
    ),
    Guidance(
        "unknown", "version_not_supported",
        title="505: which server refuses which version",
        why="505 refuses the request's major version. NGINX sends it for HTTP/2.0 and later in "
            "an HTTP/1 request line, Go and Caddy for any major version other than 1, Tomcat "
            "for anything but HTTP/1.0 and 1.1 (even 1.2, which RFC 9110 says to treat as 1.1). "
            "Apache, HAProxy and Gunicorn never send it. A 505 should say in its body which "
            "versions are supported.",
        snippet="HTTP/1.1 505 HTTP Version Not Supported\n"
                "Content-Type: text/plain\n"
                "\n"
                "This server supports HTTP/1.0 and HTTP/1.1.",
        rfc="RFC 9110 §15.6.6, §2.5; RFC 9112 §2.3",
    ),
    Guidance(
        "unknown", "transfer_encoding",
        title="Check the Transfer-Encoding of the failing requests",
        why="A 501 on POST, PUT or PATCH that work elsewhere is more often a transfer coding "
            "the server does not understand than a missing method: NGINX, Go, Tomcat, Gunicorn "
            "and Envoy answer it with 501, Apache with 400, HAProxy with 422.",
        snippet="# Log the request's Transfer-Encoding beside the status\n"
                '# Apache: \\"%{Transfer-Encoding}i\\"    NGINX: "$http_transfer_encoding"',
        rfc="RFC 9112 §6.1, §6.3; RFC 9110 §15.6.2",
    ),
    Guidance(
        "unknown", "allow_missing",
        title="Send Allow with every 405",
        why="RFC 9110 says a 405 MUST carry an Allow header listing the methods the resource "
            "supports (an empty value means none).",
        snippet="HTTP/1.1 405 Method Not Allowed\n"
                "Allow: {allow}",
        rfc="RFC 9110 §15.5.6, §10.2.1",
    ),
)

_INDEX: dict[tuple[str, str, str | None], Guidance] = {
    (g.server, g.verdict, g.method): g for g in GUIDANCE
}


def guidance_for(server: str | None, verdict: str, method: str | None = None) -> Guidance:
    """The advice for a verdict on a server (``apache``, ``nginx``; anything else counts as
    ``unknown``), with ``method`` written into the snippet (``METHOD`` when it is missing or
    not a plain token). Raises ``KeyError`` for a verdict with no guidance."""
    server = server if server in SERVERS else "unknown"
    verdict = _VERDICT_ALIASES.get(verdict, verdict)
    row = (_INDEX.get((server, verdict, method))
           or _apache_backend_row(server, verdict, method)
           or _INDEX.get((server, verdict, None))
           or _INDEX.get(("unknown", verdict, None)))
    if row is None:
        raise KeyError(f"no guidance for verdict {verdict!r}; known: {', '.join(VERDICTS)}")
    name = method if method and _SAFE_METHOD.match(method) else _PLACEHOLDER
    snippet = row.snippet.replace("{method}", name)
    for key, value in _allow_examples(method).items():
        snippet = snippet.replace("{" + key + "}", value)
    return dataclasses.replace(row, snippet=snippet,
                               method=method if method == row.method else row.method)


# Apache's core answers 405, never 501, to the methods it has built in (PATCH, PUT, DELETE, the
# WebDAV methods): a 501 for one of them was passed through from behind Apache
_APACHE_BACKEND_501 = Guidance(
    "apache", "capability_gap",
    title="Apache itself would answer 405 to this method: the 501 comes from behind it",
    why="Apache knows this method by name (it is built in), so its core answers 405 where "
        "nothing implements it. A 501 was passed through from a proxied backend, a CGI or PHP "
        "application, or a module that refuses the request body's Transfer-Encoding. If no "
        "resource implements the method, 501 is the right status; if clients need it, "
        "implement it in that backend, or refuse it in Apache with 405 and Allow before it is "
        "proxied. Without the local ErrorDocument Apache adds a second Allow line of its own "
        "(TRACE) after the one set here, and a client that merges them reads the method list "
        "plus TRACE.",
    snippet=("# Implement {method} in the backend, or refuse it in Apache before proxying\n"
             "RewriteEngine On\n"
             "RewriteCond %{REQUEST_METHOD} ^{method}$\n"
             "RewriteRule ^ - [R=405,L]\n"
             "# a local ErrorDocument drops Apache's own Allow line: this one is the only one\n"
             "ErrorDocument 405 /errors/405.html\n"
             '<Location "/errors/405.html">\n'
             '    Header always set Allow "{allow}" "expr=%{REQUEST_STATUS} == 405"\n'
             "</Location>"),
    rfc="RFC 9110 §9.1, §15.6.2, §15.5.6",
)


def _apache_backend_row(server: str, verdict: str, method: str | None) -> Guidance | None:
    if (server, verdict) == ("apache", "capability_gap") and method in APACHE_BUILTIN_METHODS:
        return _APACHE_BACKEND_501
    return None


def _allow_examples(method: str | None) -> dict[str, str]:
    """Example Allow lists for the snippets, never listing the refused method itself."""
    base = [m for m in ("GET", "HEAD", "POST") if m != method]
    with_options = [*base, *(["OPTIONS"] if method != "OPTIONS" else [])]
    static = [m for m in ("GET", "HEAD") if m != method]
    return {
        "static_allow": ", ".join(static),
        "static_re": "|".join(static),
        "allow": ", ".join(base),
        "allow_re": "|".join(base),
        "allow_options": ", ".join(with_options),
        # AllowMethods: GET implies HEAD
        "allow_methods": " ".join(m for m in with_options if m != "HEAD"),
    }


def guidance_dict(server: str | None, verdict: str, method: str | None = None
                  ) -> dict[str, Any] | None:
    """``guidance_for(...).to_dict()``, or ``None`` for a verdict with no guidance."""
    try:
        return guidance_for(server, verdict, method).to_dict()
    except KeyError:
        return None
