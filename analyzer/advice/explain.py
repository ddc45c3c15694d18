"""``logscan explain STATUS``: what a status means, how it differs from its neighbours, what real
servers do with it, and how to investigate it.

The pages are data (:data:`PAGES`, one frozen :class:`StatusPage` per status); :func:`render_page`
and :func:`render_index` lay them out for a terminal of a given width with :mod:`textwrap`.
Server behaviour comes from ``../shared/http-semantics.md`` (Apache httpd 2.4, NGINX 1.22 to
1.31 and the others it covers, read from source and partly observed).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ..errors import UnknownStatusError
from .guidance import Guidance, guidance_for

__all__ = ["FIXES", "PAGES", "StatusPage", "UnknownStatusError", "explain", "fixes_for",
           "page_for", "render_index", "render_page"]


@dataclass(frozen=True)
class StatusPage:
    status: int
    name: str
    summary: str  # one line, for the list of statuses
    meaning: str
    rfc: str  # the sections it rests on; empty for codes that are not HTTP statuses
    neighbours: tuple[tuple[int, str], ...]  # (other status, how this one differs from it)
    servers: tuple[tuple[str, str], ...]  # (server, what it does); Apache and NGINX first
    investigate: tuple[str, ...]


_PAGES: tuple[StatusPage, ...] = (
    StatusPage(
        501, "Not Implemented",
        summary="the server does not implement the method (or transfer coding) at all",
        meaning="The server lacks the functionality needed to fulfil the request. It is the "
                "right answer to a method the server does not recognise or implement for any "
                "resource, to a transfer coding it does not understand, and to a method name "
                "longer than any it implements. A 501 is heuristically cacheable, so clients "
                "and caches may conclude the method is unavailable everywhere.",
        rfc="RFC 9110 §15.6.2, §9.1; RFC 9112 §6.1, §3",
        neighbours=(
            (405, "the method exists but this resource does not support it; 501: the server "
                  "supports it for no resource."),
            (505, "refuses the protocol version on the request line, not the method."),
            (400, "a malformed request; a well-formed request with an unknown method is 501 "
                  "(Apache) or 405 (NGINX)."),
        ),
        servers=(
            ("Apache httpd", "Answers 501 only to method names it has never heard of (FOO, "
                             "GET2, lowercase get) when no module takes the request; the "
                             "error log says AH00135 \"Invalid method in request\". The method "
                             "check runs before the file lookup, so FOO /missing is 501, not "
                             "404. The 501 carries Allow (e.g. POST,OPTIONS,HEAD,GET,TRACE). "
                             "With RegisteredMethods it is sent while parsing (AH02423). "
                             "PATCH, PUT, DELETE and the WebDAV methods get 405, not 501. "
                             "Modules that read the body through the old API (mod_dav, mod_lua, "
                             "mod_proxy_scgi, mod_proxy_uwsgi) answer 501 to any "
                             "Transfer-Encoding but exactly chunked."),
            ("NGINX", "Never answers a method with 501 (unknown methods get 405 on static "
                      "content). Its own 501s are a Transfer-Encoding other than exactly "
                      "\"chunked\" (gzip, chunked included: \"client sent unknown "
                      "Transfer-Encoding\") and WebDAV PUT with Content-Range; any other 501 "
                      "came from the upstream."),
            ("Others", "Tomcat servlets answer unknown method tokens with 501. Go/Caddy, "
                       "Tomcat, Gunicorn and Envoy answer an unsupported Transfer-Encoding "
                       "with 501; HAProxy answers it with 422 (since 2.5) and Apache with 400. "
                       "Node never sends 501 (unknown methods get 400)."),
        ),
        investigate=(
            "Run logscan on the log: capability_gap means the method never worked, "
            "partial_implementation means it works elsewhere and 405 would fit.",
            "A 501 on POST, PUT or PATCH that work elsewhere is more likely an unsupported "
            "Transfer-Encoding than a missing method: log the request's Transfer-Encoding.",
            "Reproduce without changing anything: curl -i -X OPTIONS http://HOST/path, then "
            "curl -i -X FOO http://HOST/logscan-missing/nothing (a path in a directory that "
            "does not exist: a 501 shows there too). Send the method to a real resource only "
            "on a test copy: once it works, it may change data.",
            "Check who sends it: unregistered methods come mostly from scanners.",
        ),
    ),
    StatusPage(
        405, "Method Not Allowed",
        summary="the method is known, but this resource does not support it",
        meaning="The origin server knows the method but the target resource does not support "
                "it. The response MUST carry an Allow header listing the methods the resource "
                "does support (an empty Allow means none). A 405 is heuristically cacheable.",
        rfc="RFC 9110 §15.5.6, §10.2.1",
        neighbours=(
            (501, "a method the server does not implement anywhere; 405: one that exists, but "
                  "not on this resource."),
            (403, "refuses the client (access control); Apache's <LimitExcept> and NGINX's "
                  "limit_except deny with 403, not 405."),
            (404, "the resource does not exist; Apache and NGINX both decide 405 before "
                  "looking for the file, so DELETE /missing is 405."),
        ),
        servers=(
            ("Apache httpd", "Status line \"405 Method Not Allowed\", always with Allow "
                             "(from the default handler: POST,OPTIONS,HEAD,GET,TRACE). PUT, "
                             "DELETE, PATCH, CONNECT and the WebDAV methods on a static file get "
                             "405 even when no module implements them and even when the file "
                             "does not exist. POST to a static file is served (200). TRACE with "
                             "TraceEnable off gets 405 with an empty Allow; mod_allowmethods "
                             "answers 405 too."),
            ("NGINX", "Status line \"405 Not Allowed\" and never an Allow header. The static "
                      "module answers 405 to every method but GET, HEAD and POST, unknown ones "
                      "like FOO and PROPFIND and OPTIONS included, before looking at the file; "
                      "POST to an existing file is 405 too. TRACE is always 405. CONNECT is "
                      "405 only with a path (CONNECT /x): its usual target, host:port, fails "
                      "the request-line parser and is logged 400 (1.22, 1.26; later versions "
                      "accept it when allow_connect is on). "
                      "On NGINX a method that only ever gets 405 is not implemented at all."),
            ("Others", "Caddy's file_server answers 405 with Allow: GET, HEAD once the file is "
                       "found (404 otherwise). Tomcat answers known methods without a doX "
                       "override with 405 on HTTP/1.1 (400 on HTTP/1.0), with Allow from the "
                       "DefaultServlet. HAProxy sends 405 only for an h2 preface it may not "
                       "upgrade."),
        ),
        investigate=(
            "Run logscan on the log: resource_restriction means the method works elsewhere "
            "(405 is right); never_allowed means it never works (a capability gap in effect).",
            "Log the Allow header (Apache \\\"%{Allow}o\\\", NGINX \"$sent_http_allow\") and "
            "read logscan's Allow checks.",
            "Reproduce without changing anything: curl -i -X OPTIONS http://HOST/file lists "
            "the methods in Allow; curl -i -X PUT http://HOST/logscan-missing/nothing shows "
            "Apache's and NGINX's 405, which they decide before looking for the file. PUT to "
            "the real file only on a test copy.",
        ),
    ),
    StatusPage(
        505, "HTTP Version Not Supported",
        summary="the server refuses the major HTTP version of the request line",
        meaning="The server does not support, or refuses to support, the major version of "
                "HTTP used in the request; the body should say why and which protocols are "
                "supported. A higher minor version of a supported major one (HTTP/1.2) should "
                "be handled as the highest minor version supported, not refused.",
        rfc="RFC 9110 §15.6.6, §6.2, §2.5; RFC 9112 §2.3",
        neighbours=(
            (400, "a malformed version (http/1.1, HTTP/10.0, HTTP/0.9 written out); 505: a "
                  "well-formed version the server will not speak."),
            (426, "asks the client to switch protocols (with an Upgrade header); 505 just "
                  "refuses."),
            (501, "refuses the method or a transfer coding, not the version."),
        ),
        servers=(
            ("Apache httpd", "Never sends 505. Well-formed HTTP/2.0 and HTTP/3.0 request lines "
                             "are served normally (200), and real HTTP/2 through mod_http2 is "
                             "logged as HTTP/2.0 too, so HTTP/2.0 in an Apache log is usually "
                             "genuine. Malformed versions and an explicit HTTP/0.9 get 400, "
                             "logged with %H = HTTP/1.0. A 505 in an Apache log came from a "
                             "proxied backend."),
            ("NGINX", "Sends 505 only when an HTTP/1 request line names major version 2 or "
                      "higher (HTTP/2.0, HTTP/3.0); $server_protocol is then logged empty. "
                      "HTTP/1.2 to 1.99 are served; an explicit HTTP/0.9 and the h2c preface "
                      "PRI * HTTP/2.0 get 400."),
            ("Others", "Go and Caddy refuse any major version but 1 (505 in newer Go, 400 in "
                       "older). Tomcat answers anything but HTTP/1.0 and 1.1 with 505, even "
                       "1.2. HAProxy forwards any HTTP/d.d; Gunicorn answers 400; Node answers "
                       "400 but hands HTTP/2.0 to the application."),
        ),
        investigate=(
            "Run logscan on the log: the protocol findings list each protocol string and how "
            "it was answered.",
            "Reproduce: printf 'GET / HTTP/2.0\\r\\nHost: HOST\\r\\n\\r\\n' | nc HOST 80",
            "Check the clients: HTTP/2.0 written into a text request line is usually a "
            "scanner or a broken client.",
        ),
    ),
    StatusPage(
        400, "Bad Request",
        summary="the request is malformed (request line, headers or framing)",
        meaning="The server cannot or will not process the request because of a client error: "
                "a request line or header that does not match the grammar, a missing or "
                "invalid Host on HTTP/1.1, or a Transfer-Encoding whose last coding is not "
                "chunked. The server should close the connection afterwards.",
        rfc="RFC 9110 §15.5.1; RFC 9112 §2.2, §3, §3.2, §6.3",
        neighbours=(
            (501, "a well-formed request with an unknown method; NGINX answers methods with "
                  "invalid characters (get, GET2) with 400 instead."),
            (505, "a well-formed but unsupported version; a malformed one is 400."),
            (414, "a request target that is too long, specifically."),
        ),
        servers=(
            ("Apache httpd", "400 for an unparsable request line: a NUL byte (a TLS "
                             "ClientHello on the plain port is logged as \"\\x16\\x03\\x01\" "
                             "with %m = -), an explicit HTTP/0.9 or garbage protocol (logged "
                             "with %H = HTTP/1.0), lowercase http/1.1 and a bare LF in Strict "
                             "mode, PRI * HTTP/2.0, and a Transfer-Encoding whose last coding "
                             "is not chunked (AH02539)."),
            ("NGINX", "400 for any method byte outside A-Z, _ and - (lowercase get, GET2, TLS "
                      "bytes: \"client sent invalid method\"), an explicit HTTP/0.9, OPTIONS * "
                      "and PRI *, Transfer-Encoding in HTTP/1.0 or with Content-Length, a "
                      "missing Host on HTTP/1.1. 494 to 497 (headers too large, certificate "
                      "errors, HTTP to an HTTPS port) are logged as 400."),
            ("Others", "Node answers any method outside llhttp's list with 400; Gunicorn "
                       "answers bad methods and versions with 400; HAProxy logs <BADREQ>."),
        ),
        investigate=(
            "Look at the request line: -, empty or binary means a non-HTTP client (TLS to the "
            "plain port, a port scanner).",
            "The server's error log names the reason for each 400.",
            "Compare with the method: NGINX's 400 for lowercase methods is Apache's 501.",
        ),
    ),
    StatusPage(
        408, "Request Timeout",
        summary="the client did not send a complete request in time (often nothing was sent)",
        meaning="The server did not receive a complete request message within the time it was "
                "prepared to wait, and closes the connection.",
        rfc="RFC 9110 §15.5.9",
        neighbours=(
            (400, "a request that arrived but was malformed; 408: one that never fully "
                  "arrived."),
            (499, "(NGINX) the client giving up on the server; 408: the server giving up on "
                  "the client."),
        ),
        servers=(
            ("Apache httpd", "A partial request line followed by a timeout is logged as "
                             "\"-\" 408 - and nothing is sent; only the first request of a "
                             "connection is logged this way. A connection that sends no bytes "
                             "at all writes no log line."),
            ("NGINX", "client_header_timeout: logged with what arrived (\"GET /fi\" 408) and "
                      "nothing is sent. A connection with no bytes at all writes no log line."),
        ),
        investigate=(
            "Not a capability gap: look at the clients (slow or idle connections, scanners, "
            "health checks that open and abandon connections).",
            "Many 408s from one address can be a slow-request attack.",
        ),
    ),
    StatusPage(
        411, "Length Required",
        summary="the server wants a Content-Length and the request had none",
        meaning="The server refuses to accept the request without a defined Content-Length.",
        rfc="RFC 9110 §15.5.12",
        neighbours=(
            (400, "a contradictory or malformed framing (Transfer-Encoding with "
                  "Content-Length); 411: a missing length."),
            (501, "a transfer coding the server does not understand."),
        ),
        servers=(
            ("Apache httpd", "A handler that reads the body through the old API and forbids "
                             "chunked bodies answers a chunked request with 411."),
            ("NGINX", "Before chunked request bodies were supported (about 1.3.9, 2012) any "
                      "chunked Transfer-Encoding got 411; current versions accept chunked."),
        ),
        investigate=(
            "Look at the clients sending bodies with Transfer-Encoding: chunked, and at the "
            "handler or backend that refuses them.",
        ),
    ),
    StatusPage(
        413, "Content Too Large",
        summary="the request body is larger than the server will accept",
        meaning="The request content is larger than the server is willing or able to process; "
                "the server may close the connection. Formerly \"Payload Too Large\".",
        rfc="RFC 9110 §15.5.14",
        neighbours=(
            (414, "a request target that is too long, not a body."),
            (411, "asks for a length; 413 refuses the length given."),
        ),
        servers=(
            ("Apache httpd", "LimitRequestBody sets the limit. A TRACE request with a body "
                             "gets 413."),
            ("NGINX", "client_max_body_size (1m by default) sets the limit."),
        ),
        investigate=(
            "Compare the refused uploads with the configured limit; look for clients probing "
            "with huge bodies.",
        ),
    ),
    StatusPage(
        414, "URI Too Long",
        summary="the request target is longer than the server will parse",
        meaning="The request target is longer than the server is willing to interpret; a "
                "server MUST answer such a target with 414 and should support request lines "
                "of at least 8000 octets.",
        rfc="RFC 9110 §15.5.15; RFC 9112 §3",
        neighbours=(
            (400, "a malformed request line; 414: a well-formed one that is too long."),
            (413, "a body that is too large."),
        ),
        servers=(
            ("Apache httpd", "A request line longer than LimitRequestLine (8190 bytes by "
                             "default) fails to read and gets 414."),
            ("NGINX", "A request line longer than large_client_header_buffers (4 8k by "
                      "default) gets 414 (\"client sent too long URI\")."),
        ),
        investigate=(
            "Long targets are usually scanners or injection probes; look at the clients and "
            "the target's shape.",
        ),
    ),
    StatusPage(
        417, "Expectation Failed",
        summary="the server cannot meet the request's Expect header",
        meaning="An expectation in the request's Expect header (other than 100-continue) "
                "cannot be met; a server may answer it with 417.",
        rfc="RFC 9110 §15.5.18, §10.1.1",
        neighbours=(
            (400, "a malformed request; 417: a well-formed one with an expectation the server "
                  "refuses."),
        ),
        servers=(
            ("Apache httpd", "Any non-empty Expect other than 100-continue (case-insensitive) "
                             "gets 417 (AH00570), whatever the HTTP version."),
            ("NGINX", "Never sends 417: it acts only on 100-continue and ignores any other "
                      "expectation (Expect: foo gets 200)."),
            ("Others", "Node answers an unknown expectation with 417 on HTTP/1.1 only."),
        ),
        investigate=(
            "Reproduce: curl -i -H 'Expect: foo' http://HOST/",
            "Look at the clients sending unusual Expect values (often scanners).",
        ),
    ),
    StatusPage(
        426, "Upgrade Required",
        summary="the server refuses this protocol but would accept another after an upgrade",
        meaning="The server refuses to perform the request using the current protocol but "
                "might after the client upgrades; it MUST send an Upgrade header naming the "
                "protocols it wants.",
        rfc="RFC 9110 §15.5.22",
        neighbours=(
            (505, "refuses the version outright; 426 names the protocol to switch to."),
            (400, "a malformed request, not a protocol the server declines."),
        ),
        servers=(
            ("Apache httpd", "The core does not send it for versions (see 505: it serves or "
                             "400s them); a 426 in an Apache log came from a module or a "
                             "proxied backend."),
            ("NGINX", "The core does not send it; a 426 in an NGINX log came from the "
                      "upstream."),
            ("Others", "Envoy is reported to answer HTTP/1.0 with 426 unless accept_http_10 is "
                       "set (unverified)."),
        ),
        investigate=(
            "Find which backend sent it and which protocol its Upgrade header asks for.",
        ),
    ),
    StatusPage(
        444, "No Response (NGINX)",
        summary="NGINX closed the connection without answering (return 444)",
        meaning="Not an HTTP status: NGINX's NGX_HTTP_CLOSE. The connection is closed with no "
                "response at all; the code only appears in the access log.",
        rfc="",
        neighbours=(
            (499, "the client closing first; 444 is NGINX closing on purpose."),
            (405, "answers the client; operators use return 444 to drop unwanted methods or "
                  "hosts silently instead."),
        ),
        servers=(
            ("Apache httpd", "No equivalent; Apache never logs 444."),
            ("NGINX", "Logged as 444 with body_bytes_sent 0 when a configuration says "
                      "return 444; nothing is sent to the client."),
        ),
        investigate=(
            "Find the return 444 in the configuration (server blocks for unknown hosts, "
            "locations for probe paths such as /wp-login.php, method filters).",
            "The client saw a closed connection, not an HTTP error: count it separately.",
        ),
    ),
    StatusPage(
        499, "Client Closed Request (NGINX)",
        summary="the client closed the connection before NGINX sent a response",
        meaning="Not an HTTP status: NGINX's NGX_HTTP_CLIENT_CLOSED_REQUEST. The client closed "
                "the connection before NGINX sent the response header, typically while NGINX "
                "waited on an upstream or read the request body. Logged, never sent.",
        rfc="",
        neighbours=(
            (408, "the server giving up on a slow client; 499: the client giving up on a slow "
                  "server."),
            (444, "NGINX closing on purpose; 499: the client closing first."),
        ),
        servers=(
            ("Apache httpd", "No equivalent status; the %X log directive shows a connection "
                             "aborted before the response completed."),
            ("NGINX", "Logged when the client goes away first, most often while the upstream "
                      "is slow (see $upstream_response_time)."),
        ),
        investigate=(
            "Compare with $request_time and $upstream_response_time: slow backends, client or "
            "load-balancer timeouts.",
        ),
    ),
)

#: Every page, by status.
PAGES: dict[int, StatusPage] = {page.status: page for page in _PAGES}

_MIN_WIDTH, _MAX_WIDTH = 40, 100
_STACK_BELOW = 60


def page_for(status: int | str) -> StatusPage:
    """The page for a status (``501`` or ``"501"``); :class:`UnknownStatusError` otherwise."""
    text = str(status).strip()
    if not text.isdigit() or int(text) not in PAGES:
        raise UnknownStatusError(text, sorted(PAGES))
    return PAGES[int(text)]


def explain(status: int | str, width: int = 80) -> str:
    """The terminal page for a status, wrapped to ``width`` columns."""
    return render_page(page_for(status), width)


def render_page(page: StatusPage, width: int = 80) -> str:
    width = max(_MIN_WIDTH, min(width, _MAX_WIDTH))
    title = f"{page.status} {page.name}"
    out = [title, "=" * len(title), ""]
    out += _fill(page.meaning, width)
    if page.rfc:
        out += _fill(f"See {page.rfc}.", width)
    out += ["", "How it differs"]
    for other, text in page.neighbours:
        out += _hanging(f"vs {other}:", text, width)
    out += ["", "What servers do"]
    label = max(len(name) for name, _ in page.servers) + 1
    for name, text in page.servers:
        if width < _STACK_BELOW:  # narrow: the server on its own line, its text below
            out += [f"  {name}:", *_fill(text, width, "    ")]
        else:
            out += _hanging(f"{name}:".ljust(label), text, width)
    out += ["", "How to investigate"]
    for step in page.investigate:
        out += _hanging("-", step, width, gap=" ")
    out += _fixes(page.status, width)
    return "\n".join(out) + "\n"


#: The fixes a status page shows: (server, verdict, method) as :func:`analyze` would print them
#: (``None``: the general row, its snippets written for METHOD). The same rows that
#: tests/test_advice_live.py applies to Apache httpd and NGINX.
FIXES: dict[int, tuple[tuple[str, str, str | None], ...]] = {
    501: (("apache", "capability_gap", None), ("apache", "capability_gap", "DELETE"),
          ("apache", "partial_implementation", None), ("apache", "transfer_encoding", None),
          ("nginx", "capability_gap", None), ("nginx", "partial_implementation", None),
          ("nginx", "transfer_encoding", None)),
    405: (("apache", "resource_restriction", None), ("apache", "never_allowed", None),
          ("apache", "never_allowed", "TRACE"), ("apache", "allow_missing", None),
          ("nginx", "resource_restriction", None), ("nginx", "never_allowed", None)),
    505: (("apache", "version_not_supported", None), ("nginx", "version_not_supported", None)),
}
_SERVER_NAMES = {"apache": "Apache httpd", "nginx": "NGINX"}


def fixes_for(status: int) -> list[tuple[str | None, Guidance]]:
    """The fix guidance a status page shows, in order, each snippet once: (the method the row
    is shown for, or ``None`` for any method; the guidance)."""
    out: list[tuple[str | None, Guidance]] = []
    for server, verdict, method in FIXES.get(status, ()):
        row = guidance_for(server, verdict, method)
        if all((g.server, g.snippet) != (row.server, row.snippet) for _, g in out):
            out.append((method, row))
    return out


def _fixes(status: int, width: int) -> list[str]:
    """``How to fix``: each row's server, verdict and title, then its snippet as
    ``logscan analyze`` prints it. Snippet lines are copied, never wrapped (a wrapped
    configuration line would no longer work)."""
    rows = fixes_for(status)
    if not rows:
        return []
    out = ["", "How to fix", *_fill("The snippets logscan analyze prints (METHOD stands for the "
                                    "method), each tested on Apache httpd and NGINX.", width, "  ")]
    for method, row in rows:
        verdict = row.verdict.replace("_", " ") + (f", {method}" if method else "")
        out += ["", *_fill(f"{_SERVER_NAMES[row.server]}, {verdict}: {row.title}", width, "  ")]
        out += [f"    {line}" if line else "" for line in row.snippet.splitlines()]
    return out


def render_index(width: int = 80) -> str:
    """The list of statuses with a page, one line each."""
    width = max(_MIN_WIDTH, min(width, _MAX_WIDTH))
    out = ["Statuses logscan can explain (logscan explain STATUS):", ""]
    for status in sorted(PAGES):
        page = PAGES[status]
        out += _hanging(f"{status}", f"{page.name}: {page.summary}", width)
    return "\n".join(out) + "\n"


def _fill(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False)


def _hanging(label: str, text: str, width: int, gap: str = "  ") -> list[str]:
    """``  label  text`` with continuation lines indented under the text."""
    first = f"  {label}{gap}"
    return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=" " * len(first),
                         break_on_hyphens=False)
