"""The words of DESIGN.md section 4, defined once: the classes and the statuses that define
them, the key each class counts by, the verdicts and their titles, the "no method" and "no vhost"
markers, and HTTP methods as data (the IANA registry and what Apache and NGINX know by name).

Sources for the methods: the IANA HTTP Method Registry
(https://www.iana.org/assignments/http-methods, updated 2026-06-17); Apache httpd 2.4
``lookup_builtin_method`` (modules/http/http_protocol.c); NGINX ``ngx_http_parse_request_line``
(src/http/ngx_http_parse.c). See ``http-semantics.md`` beside DESIGN.md.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# -- classes -----------------------------------------------------------------------------------

#: Per-request class, by status, in report order.
CLASS_BY_STATUS: dict[int, str] = {
    501: "not_implemented",
    405: "method_not_allowed",
    505: "version_not_supported",
}
CLASSES: tuple[str, ...] = tuple(CLASS_BY_STATUS.values())
STATUS_OF_CLASS: dict[str, int] = {name: status for status, name in CLASS_BY_STATUS.items()}

#: The reason phrase of each class's status (RFC 9110 section 15).
REASON_PHRASES: dict[int, str] = {
    501: "Not Implemented",
    405: "Method Not Allowed",
    505: "HTTP Version Not Supported",
}
#: A short label of each class, where the whole reason phrase does not fit.
CLASS_LABELS: dict[str, str] = {
    "not_implemented": "Not Implemented",
    "method_not_allowed": "Method Not Allowed",
    "version_not_supported": "Version Not Supported",
}

#: What each class counts its requests by: the method, or the protocol for 505.
KEY_OF_CLASS: dict[str, str] = {
    "not_implemented": "method",
    "method_not_allowed": "method",
    "version_not_supported": "protocol",
}

#: The key of a request that has no method (or, for 505, no protocol): DESIGN.md section 5.
NO_METHOD = "-"

#: Stands for "the log names no vhost" where a key must be a value (groupby, dict keys). It sorts
#: before any vhost, as None does in the reports, and does not end in a NUL (numpy drops
#: trailing NULs from strings).
NO_VHOST = "\x00(no vhost)"


def class_title(name: str) -> str:
    """``not_implemented`` -> ``not_implemented (501)``."""
    return f"{name} ({STATUS_OF_CLASS[name]})"


def class_key(table: pa.Table) -> pa.ChunkedArray:
    """The key each row of ``table`` (``status``, ``method``, ``protocol``) is counted by in its
    class: the method, or the protocol for 505; :data:`NO_METHOD` where there is none."""
    is505 = pc.fill_null(pc.equal(table["status"], 505), False)
    key = pc.if_else(is505, table["protocol"], table["method"])
    return pc.fill_null(key, NO_METHOD)


# -- verdicts ----------------------------------------------------------------------------------

#: The per-method verdicts, in the order of DESIGN.md's table.
VERDICTS: tuple[str, ...] = (
    "capability_gap",
    "partial_implementation",
    "resource_restriction",
    "never_allowed",
)
#: The order reports list verdicts in: the gaps first.
VERDICT_ORDER: tuple[str, ...] = (
    "capability_gap",
    "partial_implementation",
    "never_allowed",
    "resource_restriction",
)
#: The class whose status a verdict is about.
CLASS_OF_VERDICT: dict[str, str] = {
    "capability_gap": "not_implemented",
    "partial_implementation": "not_implemented",
    "resource_restriction": "method_not_allowed",
    "never_allowed": "method_not_allowed",
}
VERDICT_TITLES: dict[str, str] = {
    "capability_gap": "capability gap",
    "partial_implementation": "partial implementation",
    "resource_restriction": "resource restriction",
    "never_allowed": "never allowed",
}
#: What each verdict means (DESIGN.md section 4), in a sentence.
VERDICT_MEANINGS: dict[str, str] = {
    "capability_gap": "501 and the method never succeeded: the server does not implement it at "
                      "all.",
    "partial_implementation": "501 here, but the method succeeded elsewhere: 501 is likely the "
                              "wrong status (405 fits), or one backend lacks it.",
    "resource_restriction": "405 here and the method succeeded elsewhere: a correct use of 405.",
    "never_allowed": "405 and the method never succeeded: behaves like a capability gap, unless "
                     "it is a deliberate ban.",
}


# -- methods -----------------------------------------------------------------------------------

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
