"""What one logged field looks like: its canonical column, its value pattern and how to type it.

A field's pattern exists in two strengths. ``slow`` accepts everything the server can write,
escapes included, and is used with captures on the few lines that need it. ``fast`` accepts only
escape-free values; a line that matches the fast pattern of its format can be split by the bulk
tokenizer, which is many times cheaper than regex captures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a field's text becomes a typed column."""

    TEXT = "text"  # free text; may contain spaces, so it must be quoted for the fast path
    TOKEN = "token"  # no spaces: names, user
    ADDRESS = "address"  # a client or server address: IPv4, IPv6, a host name, unix:
    REQUEST = "request"  # the request line, split into method / target / protocol
    STATUS = "status"  # three digits -> int16
    INT = "int"  # digits or "-" -> Int64
    PORT = "port"  # digits or "-" -> Int32
    SECONDS = "seconds"  # a duration -> float64 seconds, after ``scale``
    TIME = "time"  # a timestamp -> UTC datetime, parsed with ``strptime``
    # one of several pieces of a timestamp (``%{%Y-%m-%d}t %{%T}t``): kept as text, then joined
    # with the other pieces of its instant and parsed as one (see ``LogFormat.instants``)
    TIME_PART = "time_part"
    EPOCH = "epoch"  # seconds since the epoch, possibly fractional -> UTC datetime


_QUOTED_SLOW = r'(?:[^"\\]|\\.)*'
_QUOTED_FAST = r'[^"\\\r\n\x00]*'
_TOKEN_SLOW = r"\S*"
_TOKEN_FAST = r'[^\s"\\]*'
_INT = r"-|\d{1,18}"
# IPv4, IPv6 (with a zone), host names from HostnameLookups, NGINX's "unix:"; never escaped
_ADDRESS = r"[0-9A-Za-z_.:%\[\]-]*"
_WORD = r"(?:[^-\s]\S*|-\S+)"  # a word that is not "-"
# shape: (quoted slow, quoted fast, unquoted slow, unquoted fast)
_SHAPES = {
    # Apache %U: the path, never a "?"
    "path": (r'(?:[^"\\?]|\\.)*', r'[^"\\\r\n\x00?]*', r"[^?\n]*?", r"[^?\n]*?"),
    # Apache %q: empty, or "?" and the query string
    "query": (r'(?:\?(?:[^"\\]|\\.)*)?', r'(?:\?[^"\\\r\n\x00]*)?', r"(?:\?[^\n]*?)?",
              r"(?:\?[^\n]*?)?"),
    # NGINX's $request_time: seconds with millisecond resolution, always three decimals
    "millis": (r"\d{1,15}\.\d{3}",) * 4,
    # Apache's %v / %V: a server name (an IPv6 literal in brackets), never with its port
    "host": (r"\[[0-9A-Fa-f:.]*\]|[^\s:\"\\]*",) * 4,
    # the Allow header in the presets that log it: "-", or a list of methods
    "methods": (r"-|[A-Za-z_-]*(?:, *[A-Za-z_-]+)*",) * 4,
    # %{%z}t
    "offset": (r"[+-]\d{4}", r"[+-]\d{4}", r"[+-]\d{4}", r"[+-]\d{4}"),
    # %u, $remote_user: a user name may hold spaces, which servers do not escape; words of
    # "-" are not taken, or "%v %h %l %u" would read as "%h %l %u" with a user "- -"
    "user": (_QUOTED_SLOW, _QUOTED_FAST, _TOKEN_SLOW + "|" + _WORD + "(?: " + _WORD + ")+",
             _TOKEN_FAST),
}
_DECIMAL = r"-|\d{1,15}(?:\.\d{1,9})?"
CLF_TIME = r"\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}"
CLF_STRPTIME = "%d/%b/%Y:%H:%M:%S %z"
ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})"
ISO_STRPTIME = "%Y-%m-%dT%H:%M:%S%z"


@dataclass(frozen=True)
class FieldSpec:
    """One directive or variable of a format, resolved to a column."""

    column: str
    kind: Kind
    directive: str  # as written in the format string, for messages
    time_pattern: str = ""  # TIME only: the regex of the timestamp text
    strptime: str = ""  # TIME only
    scale: float = 1.0  # SECONDS / EPOCH: multiply the number by this to get seconds
    escaped: bool = True  # the server escapes this field's bytes
    shape: str = ""  # a narrower value shape than the kind's (see ``_SHAPES``)
    # the server writes "-" instead when a condition fails (Apache's ``%400,501{...}i``, ``%>s``
    # of a request without a status)
    optional: bool = False
    instant: str = ""  # TIME_PART only: the column of the instant it is a piece of

    def __post_init__(self) -> None:
        if self.kind in (Kind.TIME, Kind.TIME_PART) and not self.strptime:
            # Arrow's strptime crashes the interpreter on an empty format
            raise ValueError(f"{self.directive}: a time field needs a strptime format")

    @property
    def spaces(self) -> int:
        """How many literal spaces the field always contains (the bulk tokenizer needs it)."""
        return self.time_pattern.count(" ") if self.kind in (Kind.TIME, Kind.TIME_PART) else 0

    def pattern(self, *, quoted: bool, fast: bool) -> str:
        """The regex for this field's text; ``quoted`` when it sits between double quotes."""
        value = self._value_pattern(quoted=quoted, fast=fast)
        if self.optional and value not in (_TOKEN_SLOW, _TOKEN_FAST, _QUOTED_SLOW, _QUOTED_FAST):
            return f"-|{value}"
        return value

    def _value_pattern(self, *, quoted: bool, fast: bool) -> str:
        if self.shape:
            shapes = _SHAPES[self.shape]
            return shapes[(0 if quoted else 2) + (1 if fast else 0)]
        if self.kind in (Kind.TIME, Kind.TIME_PART):
            return self.time_pattern
        if self.kind is Kind.STATUS:
            return r"\d{3}"  # "-" when the request has none: ``optional``
        if self.kind in (Kind.INT, Kind.PORT):
            return _INT
        if self.kind is Kind.SECONDS:
            return _DECIMAL
        if self.kind is Kind.EPOCH:
            return r"\d{1,18}(?:\.\d{1,9})?"
        if self.kind is Kind.ADDRESS:
            return _ADDRESS
        if self.kind is Kind.TOKEN:
            return _TOKEN_FAST if fast else _TOKEN_SLOW
        if quoted:
            return _QUOTED_FAST if fast else _QUOTED_SLOW
        return r".*?"

    @property
    def free_text(self) -> bool:
        return self.kind in (Kind.TEXT, Kind.REQUEST)


def header_column(prefix: str, name: str) -> str:
    """``X-Forwarded-For`` -> ``header_x_forwarded_for`` (a valid identifier, lowercase)."""
    # ASCII only: a regex group name (RE2's and Python's) takes nothing else
    cleaned = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in name.strip().lower())
    return f"{prefix}_{cleaned}".rstrip("_")
