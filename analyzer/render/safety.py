"""Making log values safe to show: every value in a log may have been written by an attacker."""

from __future__ import annotations

import re

# C0 controls (tab and newline included: they would break a table), DEL, C1 controls, the
# Unicode bidi and invisible formatting characters that can disguise text on a terminal, and
# lone surrogates (a file name that is not UTF-8), which no output encoding accepts
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _shown(char: str) -> str:
    code = ord(char)
    if code < 256:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def terminal_safe(value: object, *, keep: str = "") -> str:
    """Text with control characters and escape sequences made visible, never executed
    (``keep``: characters left as they are, such as a newline in a multi-line block)."""
    text = "" if value is None else str(value)
    if keep:
        return _UNSAFE.sub(lambda m: m[0] if m[0] in keep else _shown(m[0]), text)
    return _UNSAFE.sub(lambda m: _shown(m[0]), text)
