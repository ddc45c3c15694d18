"""Undo the escaping servers apply to logged values, so a frame holds what the client sent.

Apache (``ap_escape_logitem``) writes ``\\"``, ``\\\\``, C escapes and ``\\xhh``; NGINX's default
escaping writes ``\\xHH`` only; ``escape=json`` writes JSON escapes. Bytes that do not form UTF-8
after decoding are kept as ``\\xHH`` text, which decodes to itself again.
"""

from __future__ import annotations

import re

_C_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"v": b"\v", b"f": b"\f"}
_APACHE = re.compile(rb'\\(x[0-9a-fA-F]{2}|["\\nrtbvf])')
_JSON = re.compile(rb'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')


def _apache_byte(match: re.Match[bytes]) -> bytes:
    code = match[1]
    if code[:1] == b"x":
        return bytes([int(code[1:], 16)])
    return _C_ESCAPES.get(code, code)


def _json_byte(match: re.Match[bytes]) -> bytes:
    code = match[1]
    if code[:1] == b"u":
        return chr(int(code[1:], 16)).encode("utf-8", "surrogatepass")
    if code == b"/":
        return b"/"
    return _C_ESCAPES.get(code, code)


def decode_escapes(value: str, style: str) -> str:
    """The value as sent, for an escape ``style`` of "apache", "nginx", "json" or "none"."""
    if "\\" not in value or style == "none":
        return value
    raw = value.encode("utf-8", "surrogateescape")
    pattern, replace = (_JSON, _json_byte) if style == "json" else (_APACHE, _apache_byte)
    return pattern.sub(replace, raw).decode("utf-8", "backslashreplace")
