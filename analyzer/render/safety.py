"""Making log values safe to show: every value in a log may have been written by an attacker."""

from __future__ import annotations

import re

# C0 controls (tab and newline included: they would break a table), DEL, C1 controls, and the
# Unicode bidi and invisible formatting characters that can disguise text on a terminal
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def terminal_safe(value: object) -> str:
    """Text with control characters and escape sequences made visible, never executed."""
    text = "" if value is None else str(value)
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else
                       f"\\u{ord(m[0]):04x}", text)
