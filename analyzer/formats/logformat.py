"""``LogFormat``: one compiled access-log format (Apache or NGINX), and the named presets."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

from ..errors import UnknownFormatError
from .apache import compile_apache, regex_escape, unescape_config
from .fields import FieldSpec, Kind
from .nginx import compile_nginx, split_escape
from .pieces import Piece, merge_literals
from .times import instant_notes
from .tokens import TokenPlan, build_plan

_MAX_FIELDS = 64
_NUMBERS = (Kind.INT, Kind.PORT, Kind.SECONDS)
_MAX_FORMAT_LENGTH = 4096
# servers and hosts add trailing blanks (a DreamHost combined log ends its lines in a space)
LINE_END = r"[ \t]*$"
_LOOSE_TIME = r"[\[\]0-9A-Za-z/:.,+ |-]*"


@dataclass(frozen=True)
class LogFormat:
    """A compiled format: literal text and typed fields, with the patterns that read it.

    Build one with :meth:`apache`, :meth:`nginx`, or :meth:`resolve` (preset name or string).
    """

    name: str
    source: str
    dialect: str  # "apache" or "nginx": the syntax the format string was written in
    escape: str  # how the server escaped values: "apache", "nginx", "json" or "none"
    pieces: tuple[Piece, ...]
    server: str | None = None  # the server that writes it, when the format alone tells
    origin: str | None = None  # "file:line" of a format a user keeps by name (userformats)

    @classmethod
    def apache(cls, fmt: str, name: str = "custom", server: str | None = "apache") -> LogFormat:
        text = unescape_config(_checked(fmt))
        pieces = tuple(merge_literals(compile_apache(text)))
        return cls(name, fmt, "apache", "apache", _validated(fmt, pieces), server)

    @classmethod
    def nginx(cls, fmt: str, name: str = "custom", escape: str | None = None,
              server: str | None = "nginx") -> LogFormat:
        written_escape, text = split_escape(_checked(fmt))
        escape = escape or written_escape
        if escape not in ("default", "json", "none"):
            raise UnknownFormatError(fmt, "escape must be default, json or none")
        pieces = tuple(merge_literals(compile_nginx(text)))
        style = "nginx" if escape == "default" else escape
        return cls(name, fmt, "nginx", style, _validated(fmt, pieces), server)

    @classmethod
    def resolve(cls, value: str | LogFormat) -> LogFormat:
        """A preset name (``combined``, ``nginx_main``, ...), the name of a format the user
        keeps (:mod:`~analyzer.formats.userformats`), or a literal format string."""
        if isinstance(value, LogFormat):
            return value
        key = value.strip()
        if key in PRESETS:
            return PRESETS[key]
        if "$" in key or "%" in key:
            return cls.from_string(value)
        from .userformats import kept_names, user_formats

        mine = user_formats()
        if key in mine:
            return mine[key]
        names = "presets: " + ", ".join(sorted(PRESETS))
        for whose, file, kept in kept_names():
            names += f"; {whose} ({file}): " + ", ".join(kept)
        raise UnknownFormatError(value, f"not a preset and not a format string; {names}")

    @classmethod
    def from_string(cls, value: str, name: str = "custom") -> LogFormat:
        """A format string, NGINX's when it has ``$variables`` and no ``%`` directive, else
        Apache's."""
        key = value.strip()
        if "$" in key and not re.search(r"%[!<>,0-9{]*[a-zA-Z]", key):
            return cls.nginx(value, name=name)
        if "%" in key:
            return cls.apache(value, name=name)
        raise UnknownFormatError(value, "not a format string: no %directive or $variable")

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(p for p in self.pieces if isinstance(p, FieldSpec))

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)

    def field(self, column: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.column == column), None)

    @cached_property
    def regex(self) -> str:
        """Anchored pattern with a named group per field, for any line the server can write."""
        return "^" + self._pattern(fast=False, groups=True) + LINE_END

    @cached_property
    def fast_regex(self) -> str:
        """Match-only pattern for escape-free lines, newline included (see ``tokens``); the CSV
        tokenizer ends a line at CRLF too."""
        return "^" + self._pattern(fast=True, groups=False) + r"\r?\n$"

    @cached_property
    def truncated_regex(self) -> str:
        """Lines cut short after the timestamp: a proper prefix of a line of this format that
        holds at least everything up to the first time field (or the first field)."""
        return self._prefix_pattern(strong=True)

    @cached_property
    def cut_regex(self) -> str:
        """Any prefix of a line of this format (for a last line known to be cut off)."""
        return self._prefix_pattern(strong=False)

    def _prefix_pattern(self, *, strong: bool) -> str:
        pieces = self.pieces
        quoted = _quote_states(pieces)
        full = list(self.piece_patterns)
        partial = [_partial(p, q) for p, q in zip(pieces, quoted, strict=True)]
        keep = 0
        if strong:
            times = [i for i, p in enumerate(pieces) if isinstance(p, FieldSpec)
                     and p.kind in (Kind.TIME, Kind.EPOCH)]
            firsts = [i for i, p in enumerate(pieces) if isinstance(p, FieldSpec)]
            keep = (times or firsts)[0] + 1
        tail = ""
        for i in range(len(pieces) - 1, keep - 1, -1):
            tail = f"(?:{partial[i]}|{full[i]}{tail})" if tail else partial[i]
        return "^" + "".join(full[:keep]) + (f"(?:{tail})?" if tail else "") + "$"

    @cached_property
    def piece_patterns(self) -> tuple[str, ...]:
        """Each piece's pattern on its own (no groups), in order: reading a line piece by piece
        shows where the format stops fitting it."""
        quoted = _quote_states(self.pieces)
        return tuple(self._piece_pattern(p, q) for p, q in zip(self.pieces, quoted, strict=True))

    def _piece_pattern(self, piece: Piece, quoted: bool) -> str:
        if isinstance(piece, str):
            return regex_escape(piece)
        pattern = piece.pattern(quoted=quoted, fast=False)
        if quoted and piece.free_text and self.escape == "none":
            pattern = r"[^\n]*?"
        if self.escape == "json" and piece.kind in _NUMBERS:
            pattern = f"(?:{pattern})?"
        return f"(?:{pattern})"

    @cached_property
    def token_plan(self) -> TokenPlan | None:
        if self.escape == "none":
            return None
        return build_plan(self.pieces)

    def _pattern(self, *, fast: bool, groups: bool) -> str:
        parts: list[str] = []
        for piece, quoted in zip(self.pieces, _quote_states(self.pieces), strict=True):
            if isinstance(piece, str):
                parts.append(regex_escape(piece))
                continue
            pattern = piece.pattern(quoted=quoted, fast=fast)
            if quoted and piece.free_text and self.escape == "none" and not fast:
                pattern = r"[^\n]*?"
            if self.escape == "json" and piece.kind in _NUMBERS:
                pattern = f"(?:{pattern})?"  # a variable that is not found logs as ""
            parts.append(f"(?P<{piece.column}>{pattern})" if groups else f"(?:{pattern})")
        return "".join(parts)

    @cached_property
    def instants(self) -> tuple[tuple[str, tuple[FieldSpec, ...]], ...]:
        """Timestamps written in pieces: (the instant's column, its ``TIME_PART`` fields)."""
        parts = [f for f in self.fields if f.kind is Kind.TIME_PART]
        return tuple((column, tuple(p for p in parts if p.instant == column))
                     for column in dict.fromkeys(p.instant for p in parts))

    @cached_property
    def notes(self) -> tuple[str, ...]:
        """What the report must say about how this format's values are read."""
        return instant_notes(self.pieces)

    def describe(self) -> str:
        return self.name if self.name != "custom" else f"{self.dialect} format {self.source!r}"


def _partial(piece: Piece, quoted: bool) -> str:
    """A pattern for any beginning of the piece's text (possibly empty)."""
    if isinstance(piece, str):
        nested = ""
        for ch in reversed(piece):
            nested = f"(?:{regex_escape(ch)}{nested})?"
        return nested
    if piece.kind in (Kind.TEXT, Kind.REQUEST) and quoted:
        return r'(?:[^"\\]|\\.)*\\?'
    if piece.kind in (Kind.ADDRESS, Kind.TOKEN):
        return f"(?:{piece.pattern(quoted=quoted, fast=False)})"
    loose = {
        Kind.TIME: _LOOSE_TIME, Kind.TIME_PART: _LOOSE_TIME, Kind.STATUS: r"\d{0,3}|-",
        Kind.INT: r"-?\d*",
        Kind.PORT: r"-?\d*", Kind.SECONDS: r"-?[\d.]*", Kind.EPOCH: r"[\d.]*",
    }
    return "(?:" + loose.get(piece.kind, r"[^\n]*") + ")"


def _quote_states(pieces: tuple[Piece, ...]) -> list[bool]:
    """For each piece, whether it stands inside double quotes of the format."""
    states: list[bool] = []
    inside = False
    for piece in pieces:
        states.append(inside)
        if isinstance(piece, str):
            inside ^= piece.count('"') % 2 == 1
    return states


def _checked(fmt: str) -> str:
    if not fmt.strip():
        raise UnknownFormatError(fmt, "the format string is empty")
    if len(fmt) > _MAX_FORMAT_LENGTH:
        raise UnknownFormatError(fmt[:40] + "...", f"longer than {_MAX_FORMAT_LENGTH} characters")
    if "\n" in fmt or "\x00" in fmt:
        raise UnknownFormatError(fmt, "a format string is one line without NUL bytes")
    return fmt


def _validated(fmt: str, pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
    fields = [p for p in pieces if isinstance(p, FieldSpec)]
    if not fields:
        raise UnknownFormatError(fmt, "no fields in this format")
    if len(fields) > _MAX_FIELDS:
        raise UnknownFormatError(fmt, f"more than {_MAX_FIELDS} fields")
    for a, b in zip(pieces, pieces[1:], strict=False):
        if isinstance(a, FieldSpec) and isinstance(b, FieldSpec) and _ambiguous(a, b):
            raise UnknownFormatError(
                fmt, f"{a.directive}{b.directive}: two free-text fields with nothing between them "
                "cannot be told apart",
            )
    return pieces


def _ambiguous(a: FieldSpec, b: FieldSpec) -> bool:
    free = (Kind.TEXT, Kind.REQUEST, Kind.TOKEN, Kind.ADDRESS)
    return a.kind in free and b.kind in free and not (a.shape == "path" and b.shape == "query")


def _apache(fmt: str, name: str, server: str | None = "apache") -> LogFormat:
    return LogFormat.apache(fmt, name=name, server=server)


def _nginx(fmt: str, name: str) -> LogFormat:
    return LogFormat.nginx(fmt, name=name)


def _allow_shaped(fmt: LogFormat) -> LogFormat:
    """A preset whose Allow field reads only "-" or a list of methods, so that detection does not
    take another quoted field (NGINX main's X-Forwarded-For) for it."""
    pieces = tuple(replace(p, shape="methods") if isinstance(p, FieldSpec) and p.column == "allow"
                   else p for p in fmt.pieces)
    return replace(fmt, pieces=pieces)


_CLF = '%h %l %u %t "%r" %>s %b'
_NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)

PRESETS: dict[str, LogFormat] = {
    # Common Log Format: httpd's built-in default and the CLF nickname
    "common": _apache(_CLF, "common", server=None),
    # common + referer and user agent: the default of most Apache and NGINX installs
    "combined": _apache(_CLF + ' "%{Referer}i" "%{User-Agent}i"', "combined", server=None),
    # Debian/Ubuntu's Apache default for virtual hosts (%O: bytes sent including headers)
    "vhost_combined": _apache(
        '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"', "vhost_combined"
    ),
    # combined + bytes received and sent (mod_logio)
    "combinedio": _apache(_CLF + ' "%{Referer}i" "%{User-Agent}i" %I %O', "combinedio"),
    # NGINX's built-in combined (the access_log default)
    "nginx_combined": _nginx(_NGINX_COMBINED, "nginx_combined"),
    # the "main" format of NGINX's shipped nginx.conf: combined + X-Forwarded-For
    "nginx_main": _nginx(_NGINX_COMBINED + ' "$http_x_forwarded_for"', "nginx_main"),
    # the virtual-host common forms: the vhost (and port) in front of CLF
    "vhost_common": _apache("%v " + _CLF, "vhost_common"),
    "vhost_common_port": _apache("%v:%p " + _CLF, "vhost_common_port"),
    "vhost_combined_noport": _apache("%v " + _CLF + ' "%{Referer}i" "%{User-Agent}i"',
                                     "vhost_combined_noport"),
    # combined + the response's Allow header, as the report's advice writes it for either server
    "combined_allow": _allow_shaped(_apache(
        _CLF + ' "%{Referer}i" "%{User-Agent}i" "%{Allow}o"', "combined_allow", server=None)),
    # the formats logscan's sample logs are recorded with: vhost_combined + %D (microseconds)
    # + Allow; NGINX's combined + $request_time + $host + Allow
    "logscan_vhost": _allow_shaped(_apache(
        '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i" %D "%{Allow}o"',
        "logscan_vhost",
    )),
    "logscan_timed": _allow_shaped(_nginx(
        _NGINX_COMBINED + ' $request_time $host "$sent_http_allow"', "logscan_timed")),
}
