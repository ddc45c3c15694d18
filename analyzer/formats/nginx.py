"""NGINX ``log_format`` strings (ngx_http_log_module) compiled into format pieces.

Variables are data: ``_VARIABLES`` maps a variable to its column names and kind; the prefix
families (``$http_*``, ``$sent_http_*``, ``$cookie_*``, ``$upstream_*``) are resolved by rule, and
any other variable becomes a text column named after it, since NGINX modules add variables freely.
"""

from __future__ import annotations

import re

from ..errors import UnknownFormatError
from .fields import CLF_STRPTIME, CLF_TIME, ISO_STRPTIME, ISO_TIME, FieldSpec, Kind, header_column
from .pieces import Piece, assign_columns

_CLF: dict[str, object] = dict(time_pattern=CLF_TIME, strptime=CLF_STRPTIME)
_ISO: dict[str, object] = dict(time_pattern=ISO_TIME, strptime=ISO_STRPTIME)

# variable -> (column preferences, kind, priority, extra FieldSpec arguments)
_VARIABLES: dict[str, tuple[tuple[str, ...], Kind, int, dict[str, object]]] = {
    "remote_addr": (("client", "remote_addr"), Kind.ADDRESS, 1, {}),
    "binary_remote_addr": (("binary_remote_addr",), Kind.TEXT, 5, {}),
    "realip_remote_addr": (("peer_ip",), Kind.ADDRESS, 5, {}),
    "remote_user": (("user",), Kind.TOKEN, 5, {"shape": "user"}),
    "remote_port": (("remote_port",), Kind.PORT, 5, {}),
    "time_local": (("time", "time_local"), Kind.TIME, 1, _CLF),
    "time_iso8601": (("time", "time_iso8601"), Kind.TIME, 1, _ISO),
    "msec": (("time", "msec"), Kind.EPOCH, 3, {}),
    "request": (("request",), Kind.REQUEST, 1, {}),
    "request_method": (("method",), Kind.TOKEN, 1, {}),
    "request_uri": (("target",), Kind.TEXT, 1, {}),
    "uri": (("path",), Kind.TEXT, 5, {}),
    "document_uri": (("path", "document_uri"), Kind.TEXT, 6, {}),
    "args": (("query",), Kind.TEXT, 5, {}),
    "query_string": (("query",), Kind.TEXT, 5, {}),
    "server_protocol": (("protocol",), Kind.TOKEN, 1, {}),
    "status": (("status",), Kind.STATUS, 0, {}),
    "body_bytes_sent": (("bytes", "body_bytes_sent"), Kind.INT, 1, {}),
    "bytes_sent": (("bytes", "bytes_sent"), Kind.INT, 3, {}),
    "request_length": (("request_length",), Kind.INT, 5, {}),
    "request_time": (("duration", "request_time"), Kind.SECONDS, 1, {"shape": "millis"}),
    "host": (("vhost", "host"), Kind.TOKEN, 1, {}),
    "server_name": (("vhost", "server_name"), Kind.TOKEN, 2, {}),
    "server_addr": (("local_ip",), Kind.ADDRESS, 5, {}),
    "server_port": (("port", "server_port"), Kind.PORT, 1, {}),
    "scheme": (("scheme",), Kind.TOKEN, 5, {}),
    "https": (("https",), Kind.TOKEN, 5, {}),
    "connection": (("connection",), Kind.INT, 5, {}),
    "connection_requests": (("connection_requests",), Kind.INT, 5, {}),
    "pipe": (("pipe",), Kind.TOKEN, 5, {}),
    "request_id": (("request_id",), Kind.TOKEN, 5, {}),
    "pid": (("pid",), Kind.INT, 5, {}),
    "gzip_ratio": (("gzip_ratio",), Kind.TOKEN, 5, {}),
}

_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")
_ESCAPE_PREFIX = re.compile(r"^\s*escape=(\S*)\s+")


def split_escape(fmt: str) -> tuple[str, str]:
    """``escape=json '...'`` (as written in nginx.conf) -> ("json", the format)."""
    match = _ESCAPE_PREFIX.match(fmt)
    if not match:
        return "default", _strip_config_quotes(fmt)
    if match[1] not in ("default", "json", "none"):
        raise UnknownFormatError(fmt, "escape must be default, json or none")
    return match[1], _strip_config_quotes(fmt[match.end() :])


def _strip_config_quotes(fmt: str) -> str:
    """Accept a format pasted from nginx.conf: 'part one' 'part two'; -> the joined text."""
    text = fmt.strip().removesuffix(";").strip()
    parts = re.findall(r"'((?:[^'\\]|\\.)*)'", text)
    if parts and re.fullmatch(r"(?:'(?:[^'\\]|\\.)*'\s*)+", text):
        return "".join(parts)
    return fmt


def compile_nginx(fmt: str) -> list[Piece]:
    """Split an NGINX format string into literals and fields, with canonical columns."""
    pieces: list[Piece] = []
    wanted: list[tuple[int, tuple[str, ...], FieldSpec]] = []
    pos = 0
    for match in _VARIABLE.finditer(fmt):
        if match.start() > pos:
            pieces.append(_check_literal(fmt, fmt[pos : match.start()]))
        pos = match.end()
        name = match[1] or match[2]
        priority, names, spec = _resolve(name, match[0])
        wanted.append((priority, names, spec))
        pieces.append(spec)
    if pos < len(fmt):
        pieces.append(_check_literal(fmt, fmt[pos:]))
    if not wanted:
        raise UnknownFormatError(fmt, "no $variables in this NGINX format")
    return assign_columns(pieces, wanted)


def _check_literal(fmt: str, literal: str) -> str:
    if "$" in literal:  # NGINX refuses these too ("invalid variable name")
        bad = literal[literal.index("$") :][:16]
        raise UnknownFormatError(fmt, f"malformed variable at {bad!r}")
    return literal


def _resolve(name: str, written: str) -> tuple[int, tuple[str, ...], FieldSpec]:
    if name in _VARIABLES:
        names, kind, priority, extra = _VARIABLES[name]
        return priority, names, FieldSpec(names[0], kind, written, **extra)  # type: ignore[arg-type]
    column = _family_column(name)
    kind = Kind.TEXT
    if name.startswith("upstream_") and name.endswith(("_time", "_status", "_length")):
        kind = Kind.TEXT  # lists like "0.004, 0.010 : 0.002": kept as text
    return 4, (column,), FieldSpec(column, kind, written)


def _family_column(name: str) -> str:
    if name == "http_referer":
        return "referer"
    if name == "http_user_agent":
        return "user_agent"
    if name == "sent_http_allow":
        return "allow"
    if name.startswith("http_"):
        return header_column("header", name.removeprefix("http_"))
    if name.startswith(("sent_http_", "cookie_", "upstream_", "arg_")):
        return header_column("", name).lstrip("_")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UnknownFormatError(name, f"${name} is not an NGINX variable name")
    return name
