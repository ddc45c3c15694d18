"""HTTP methods as data: the IANA registry and what Apache and NGINX know by name.

Sources: the IANA HTTP Method Registry (https://www.iana.org/assignments/http-methods, updated
2026-06-17); Apache httpd 2.4 ``lookup_builtin_method`` (modules/http/http_protocol.c); NGINX
``ngx_http_parse_request_line`` (src/http/ngx_http_parse.c). See ``/work/shared/http-semantics.md``.
"""

from __future__ import annotations

#: Every method in the IANA HTTP Method Registry (``*`` is reserved there and left out).
IANA_METHODS: frozenset[str] = frozenset(
    {
        "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "DELETE",
        "GET", "HEAD", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL",
        "MKREDIRECTREF", "MKWORKSPACE", "MOVE", "OPTIONS", "ORDERPATCH", "PATCH", "POST", "PRI",
        "PROPFIND", "PROPPATCH", "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "TRACE", "UNBIND",
        "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL",
    }
)  # fmt: skip

#: Methods Apache 2.4 knows by name without any module: on a static resource every one of them
#: but GET/HEAD/POST/OPTIONS/TRACE gets 405, even when nothing implements it.
APACHE_BUILTIN_METHODS: frozenset[str] = frozenset(
    {
        "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "VERSION-CONTROL",
        "CHECKOUT", "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL", "REPORT", "MKWORKSPACE",
        "MKACTIVITY", "BASELINE-CONTROL", "MERGE",
    }
)  # fmt: skip

#: WebDAV and DeltaV methods (RFC 4918, RFC 3253) among Apache's built-ins.
WEBDAV_METHODS: frozenset[str] = APACHE_BUILTIN_METHODS - {
    "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
}  # fmt: skip

#: Methods NGINX maps to its own method bits; any other uppercase token is "unknown" to it.
NGINX_KNOWN_METHODS: frozenset[str] = frozenset(
    {
        "GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY", "MOVE", "OPTIONS", "PROPFIND",
        "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE", "CONNECT",
    }
)  # fmt: skip

#: Methods that usually carry a request body: a 501 on them can be an unsupported
#: ``Transfer-Encoding`` rather than a missing method.
BODY_METHODS: frozenset[str] = frozenset({"POST", "PUT", "PATCH"})

#: Methods NGINX's static module serves; it answers 405 to every other one.
NGINX_STATIC_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST"})


def is_registered(method: str | None) -> bool:
    """Whether ``method`` is in the IANA HTTP Method Registry (names are case-sensitive)."""
    return method in IANA_METHODS
