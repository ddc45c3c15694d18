"""Apache ``LogFormat`` strings (mod_log_config) compiled into format pieces.

Directives are data: ``_DIRECTIVES`` maps a directive letter to its column names (the first one
still free is taken) and its kind. The argument forms (``%{Referer}i``, ``%{ms}T``) and the
status conditions (``%400,501{User-agent}i``) are resolved by small functions below.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..errors import UnknownFormatError
from .fields import CLF_STRPTIME, CLF_TIME, FieldSpec, Kind, header_column
from .pieces import Piece, assign_columns
from .times import assemble, strftime_part

# letter -> (column preferences, kind, priority: lower claims its preferred name first)
_DIRECTIVES: dict[str, tuple[tuple[str, ...], Kind, int]] = {
    "h": (("client", "remote_host"), Kind.ADDRESS, 1),
    "a": (("client", "client_ip"), Kind.ADDRESS, 2),
    "A": (("local_ip",), Kind.ADDRESS, 5),
    "l": (("ident",), Kind.TOKEN, 5),
    "u": (("user",), Kind.TOKEN, 5),
    "r": (("request",), Kind.REQUEST, 1),
    "m": (("method",), Kind.TOKEN, 1),
    "U": (("path",), Kind.TEXT, 5),
    "q": (("query",), Kind.TEXT, 5),
    "H": (("protocol",), Kind.TOKEN, 1),
    "b": (("bytes", "bytes_body"), Kind.INT, 1),
    "B": (("bytes", "bytes_body"), Kind.INT, 1),
    "O": (("bytes", "bytes_sent"), Kind.INT, 3),
    "I": (("bytes_received",), Kind.INT, 5),
    "S": (("bytes_transferred",), Kind.INT, 5),
    "v": (("vhost", "server_name"), Kind.TOKEN, 1),
    "V": (("vhost", "server_name"), Kind.TOKEN, 2),
    "k": (("keepalive",), Kind.INT, 5),
    "L": (("log_id",), Kind.TOKEN, 5),
    "X": (("connection_status",), Kind.TOKEN, 5),
    "R": (("handler",), Kind.TOKEN, 5),
    "f": (("filename",), Kind.TEXT, 5),
}

# modifiers, an argument, modifiers again (httpd accepts them on either side), the letter(s):
# mod_logio's %^FB and the trailer headers %{...}^ti / %{...}^to have two
_DIRECTIVE = re.compile(
    r"%([!<>,0-9]*)(?:\{([^}]*)\})?([!<>,0-9]*)(\^(?:FB|ti|to)|[a-zA-Z%])"
)

_EPOCH_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
_T_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def unescape_config(text: str) -> str:
    """Undo the escaping a LogFormat line has in httpd.conf (``\\"`` and friends)."""
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def compile_apache(fmt: str) -> list[Piece]:
    """Split an Apache format string into literals and fields, with canonical columns."""
    pieces: list[Piece] = []
    pending: list[tuple[int, tuple[str, ...], FieldSpec]] = []
    pos = 0
    for match in _DIRECTIVE.finditer(fmt):
        if match.start() > pos:
            pieces.append(_check_literal(fmt, fmt[pos : match.start()]))
        pos = match.end()
        mods, arg, mods_after, letter = match[1] + match[3], match[2], "", match[4]
        del mods_after
        if letter == "%":
            pieces.append("%")
            continue
        priority, names, spec = _resolve(letter, arg, mods, match[0], fmt)
        if re.search(r"\d", mods) and spec.kind is not Kind.STATUS:
            # a status condition (%400,501{User-agent}i, %!200t): "-" when it fails
            spec = replace(spec, optional=True)
        pending.append((priority, names, spec))
        pieces.append(spec)
    if pos < len(fmt):
        pieces.append(_check_literal(fmt, fmt[pos:]))
    return assemble(assign_columns(pieces, pending))


def _check_literal(fmt: str, literal: str) -> str:
    if "%" in literal:
        bad = literal[literal.index("%") :][:12]
        raise UnknownFormatError(fmt, f"unknown or malformed directive at {bad!r}")
    return literal


def _resolve(
    letter: str, arg: str | None, mods: str, directive: str, fmt: str
) -> tuple[int, tuple[str, ...], FieldSpec]:
    """Column preferences, priority and spec of one directive."""
    if letter in ("i", "o", "e", "n", "C", "^ti", "^to"):
        return _resolve_named(letter, arg, directive, fmt)
    if letter in "xc" and arg is not None:
        return _resolve_ssl(letter, arg, directive, fmt)
    if letter == "^FB":  # mod_logio: microseconds to the first byte of the response
        spec = FieldSpec("first_byte", Kind.SECONDS, directive, scale=1e-6)
        return 5, ("first_byte",), spec
    if letter == "t":
        return _resolve_time(arg, directive, fmt)
    if letter == "s":
        final = ">" in mods or "<" not in mods
        names: tuple[str, ...] = ("status", "original_status") if final else ("original_status",)
        # "-" for a request that has no status (httpd's log_status: r->status <= 0)
        spec = FieldSpec(names[0], Kind.STATUS, directive, optional=True)
        return (0 if ">" in mods else 2), names, spec
    if letter == "T":
        unit = (arg or "").strip().lower()  # httpd compares the unit case-insensitively
        if unit not in _T_UNITS:
            raise UnknownFormatError(fmt, f"{directive}: unit must be s, ms or us")
        spec = FieldSpec("duration", Kind.SECONDS, directive, scale=_T_UNITS[unit])
        return 2, ("duration", "duration_t"), spec
    if letter == "D":
        return 1, ("duration", "duration_us"), FieldSpec("duration", Kind.SECONDS, directive,
                                                        scale=1e-6)
    if letter == "p":
        which = (arg or "canonical").strip().lower()
        if which == "remote":
            return 5, ("remote_port",), FieldSpec("remote_port", Kind.PORT, directive)
        if which not in ("canonical", "local"):
            raise UnknownFormatError(fmt, f"{directive}: expected canonical, local or remote")
        return 1, ("port", "local_port"), FieldSpec("port", Kind.PORT, directive)
    if letter == "P":
        which = (arg or "pid").strip().lower()
        column = "pid" if which == "pid" else "tid"
        kind = Kind.INT if which in ("pid", "tid") else Kind.TOKEN
        return 5, (column,), FieldSpec(column, kind, directive)
    if letter == "h" and arg == "c":
        return 5, ("peer_host",), FieldSpec("peer_host", Kind.ADDRESS, directive)
    if letter == "a" and arg == "c":
        return 5, ("peer_ip",), FieldSpec("peer_ip", Kind.ADDRESS, directive, escaped=False)
    if letter not in _DIRECTIVES:
        raise UnknownFormatError(fmt, f"unknown directive {directive}")
    names, kind, priority = _DIRECTIVES[letter]
    escaped = letter not in "aA"
    shape = {"U": "path", "q": "query", "u": "user", "v": "host", "V": "host"}.get(letter, "")
    return priority, names, FieldSpec(names[0], kind, directive, escaped=escaped, shape=shape)


def _resolve_named(
    letter: str, arg: str | None, directive: str, fmt: str
) -> tuple[int, tuple[str, ...], FieldSpec]:
    if not arg:
        raise UnknownFormatError(fmt, f"{directive} needs a name in braces, like %{{Referer}}i")
    if letter in ("^ti", "^to"):
        column = header_column("trailer_in" if letter == "^ti" else "trailer_out", arg)
        return 3, (column,), FieldSpec(column, Kind.TEXT, directive)
    lowered = arg.strip().lower()
    if letter == "i" and lowered == "referer":
        column = "referer"
    elif letter == "i" and lowered == "user-agent":
        column = "user_agent"
    elif letter == "o" and lowered == "allow":
        column = "allow"
    else:
        prefix = {"i": "header", "o": "sent_http", "e": "env", "n": "note", "C": "cookie"}[letter]
        column = header_column(prefix, arg)
    return 3, (column,), FieldSpec(column, Kind.TEXT, directive)


def _resolve_time(
    arg: str | None, directive: str, fmt: str
) -> tuple[int, tuple[str, ...], FieldSpec]:
    """%t and every %{...}t form (mod_log_config's log_request_time)."""
    text = arg or ""
    instant = "begin"
    for prefix in ("begin:", "end:"):
        if text.startswith(prefix):
            instant, text = prefix[:-1], text[len(prefix) :]
    if text in ("begin", "end"):  # %{begin}t, %{end}t: the default format
        instant, text = text, ""
    priority = 1 if instant == "begin" else 2
    names = ("time", "time_end", "time_2")
    if not text:  # %t, %{}t, %{begin:}t, %{end}t...: the usual [05/Nov/2017:02:01:01 -0500]
        spec = FieldSpec("time", Kind.TIME, directive, time_pattern=rf"\[{CLF_TIME}\]",
                         strptime=f"[{CLF_STRPTIME}]")
        return priority, names, spec
    if text in _EPOCH_UNITS:
        spec = FieldSpec("time", Kind.EPOCH, directive, scale=_EPOCH_UNITS[text])
        return priority + 1, names, spec
    if text in ("msec_frac", "usec_frac"):
        scale = 1e-3 if text == "msec_frac" else 1e-6
        return 5, ("time_fraction",), FieldSpec("time_fraction", Kind.SECONDS, directive,
                                                scale=scale)
    return 6, ("time_part",), strftime_part(text, instant, directive, fmt, optional=False)


def _resolve_ssl(
    letter: str, arg: str, directive: str, fmt: str
) -> tuple[int, tuple[str, ...], FieldSpec]:
    """mod_ssl: %{SSL_PROTOCOL}x (an SSL variable), %{version}c (a cryptography value)."""
    name = arg.strip()
    if not name:
        raise UnknownFormatError(fmt, f"{directive} needs a name in braces")
    column = header_column("ssl", name.lower().removeprefix("ssl_"))
    if letter == "c":
        column = header_column("ssl_c", name)
    # distinguished names and error texts hold spaces; protocols, ciphers and ids do not
    spaced = any(word in name.upper() for word in ("DN", "ERRSTR", "CERT"))
    return 4, (column,), FieldSpec(column, Kind.TEXT if spaced else Kind.TOKEN, directive)


def regex_escape(text: str) -> str:
    """Escape for both RE2 and Python ``re`` (``re.escape`` escapes spaces, which RE2 rejects)."""
    return "".join("\\" + ch if ch in r"\.^$|?*+()[]{}/-" else ch for ch in text)
