"""Formats a user keeps by name, in ``$XDG_CONFIG_HOME/logscan/formats`` (by default
``~/.config/logscan/formats``): a TOML file of ``name = "format string"`` lines, or tables
that also name the server whose syntax the string is written in::

    shop = '%h %l %u %t "%r" %>s %b %D'

    [edge]
    format = '$remote_addr [$time_local] "$request" $status $request_time'
    server = "nginx"

Formats kept for every user of a machine go in ``logscan/formats`` under each directory of
``$XDG_CONFIG_DIRS`` (by default ``/etc/xdg``), in the same syntax; on a name that several
files define, the user's file wins, then the earlier directory.

Detection tries them beside the presets, ``--log-format NAME`` takes their names, and the
report says which file and line a format came from. A file is read again when it changes;
a file that cannot be used is an error naming the file and the line.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import AnalyzerError, UnknownFormatError
from .logformat import PRESETS, LogFormat

_MAX_BYTES = 256 << 10
_MAX_FORMATS = 64  # detection tries each on every sample
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# names detection gives to formats it builds (json_lines_2, inferred, combined+2extra)
_BUILT = re.compile(r"json_lines(?:_\d+)?|inferred")
_SERVERS = ("apache", "nginx")
_LOCK = threading.Lock()
_CACHE: dict[str, tuple[tuple[int, int, int], dict[str, LogFormat]]] = {}


class UserFormatsError(AnalyzerError, ValueError):
    """The user's formats file cannot be used."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self._keep(path, line, problem)
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


def formats_file() -> Path:
    """Where the user's formats are: under ``$XDG_CONFIG_HOME`` when it is set to an absolute
    path (the XDG base directory rule), else under ``~/.config``."""
    home = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(home) if os.path.isabs(home) else Path.home() / ".config"
    return base / "logscan" / "formats"


def system_formats_files() -> list[Path]:
    """The machine's formats files: ``logscan/formats`` under each absolute directory of
    ``$XDG_CONFIG_DIRS`` (``/etc/xdg`` when it is unset or empty), in order."""
    dirs = [d for d in os.environ.get("XDG_CONFIG_DIRS", "").split(":") if os.path.isabs(d)]
    return [Path(d) / "logscan" / "formats" for d in dirs or ["/etc/xdg"]]


def user_formats() -> dict[str, LogFormat]:
    """The formats kept by name: the user's file, then the machine's (:func:`formats_files`),
    the first definition of a name winning; empty when there is no file. A file is read again
    when it changes."""
    return {name: fmt for _, formats in _in_effect() for name, fmt in formats.items()}


def kept_names() -> list[tuple[str, Path, list[str]]]:
    """Per formats file that has any, in reading order: whose it is ("yours", "this
    machine's"), the file, and the sorted names it defines that are in effect."""
    return [("yours" if i == 0 else "this machine's", path, sorted(formats))
            for i, (path, formats) in enumerate(_in_effect()) if formats]


def _in_effect() -> list[tuple[Path, dict[str, LogFormat]]]:
    """Per formats file, in reading order, its formats whose names no earlier file defines."""
    seen: set[str] = set()
    out = []
    for path in formats_files():
        formats = {n: f for n, f in _file_formats(path).items() if n not in seen}
        seen.update(formats)
        if len(seen) > _MAX_FORMATS:
            raise UserFormatsError(str(path), 0, f"more than {_MAX_FORMATS} formats in all, "
                                   "with the files read before it")
        out.append((path, formats))
    return out


def formats_files() -> list[Path]:
    """Every formats file, the first winning: the user's, then the machine's."""
    return [formats_file(), *system_formats_files()]


def _file_formats(path: Path) -> dict[str, LogFormat]:
    """The formats of one file (empty when there is none), read again when it changes."""
    try:
        info = path.stat()
    except OSError:
        return {}
    signature = (info.st_mtime_ns, info.st_size, info.st_ino)
    with _LOCK:
        cached = _CACHE.get(str(path))
        if cached is not None and cached[0] == signature:
            return cached[1]
    formats = read_formats(path)
    with _LOCK:
        _CACHE[str(path)] = (signature, formats)
    return formats


def read_formats(path: Path) -> dict[str, LogFormat]:
    """The formats a file defines; :class:`UserFormatsError` when it cannot be used."""
    where = str(path)
    try:
        data = path.read_bytes()[: _MAX_BYTES + 1]
    except OSError as exc:
        raise UserFormatsError(where, 0, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > _MAX_BYTES:
        raise UserFormatsError(where, 0, f"larger than {_MAX_BYTES >> 10} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserFormatsError(where, line, "not UTF-8 text") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = re.search(r"\(at line (\d+), column \d+\)$", message)
        line = int(at[1]) if at else 0
        problem = message[: at.start()].strip() if at else message
        raise UserFormatsError(where, line, f"not valid TOML: {problem}") from None
    if len(table) > _MAX_FORMATS:
        raise UserFormatsError(where, 0, f"more than {_MAX_FORMATS} formats")
    return {name: _format(where, text, name, value) for name, value in table.items()}


def _format(where: str, text: str, name: str, value: Any) -> LogFormat:
    line = _line_of(text, name)

    def fail(problem: str) -> UserFormatsError:
        return UserFormatsError(where, line, f"{name!r}: {problem}")

    if not _NAME.fullmatch(name) or _BUILT.fullmatch(name):
        raise fail("a name is a letter, then letters, digits, '_', '.' or '-' (at most 64), and "
                   "not json_lines or inferred")
    if name in PRESETS:
        raise fail("a preset has this name; choose another")
    server = None
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"format", "server"})
        if unknown:
            raise fail(f"unknown key {unknown[0]!r} (a table takes format and server)")
        server = value.get("server")
        if server is not None and server not in _SERVERS:
            raise fail("server is apache or nginx")
        value = value.get("format")
    if not isinstance(value, str):
        raise fail("the value is a format string, or a table with format (and server)")
    try:
        if server == "apache":
            fmt = LogFormat.apache(value, name=name)
        elif server == "nginx":
            fmt = LogFormat.nginx(value, name=name)
        else:
            fmt = LogFormat.from_string(value, name=name)
    except UnknownFormatError as exc:
        raise fail(str(exc)) from None
    return replace(fmt, origin=f"{where}:{line}" if line else where)


def _line_of(text: str, name: str) -> int:
    """The line that defines ``name`` (as a key or a table header), 0 when it cannot be told."""
    key = rf"(?:{re.escape(name)}|\"{re.escape(name)}\"|'{re.escape(name)}')"
    pattern = re.compile(rf"^[ \t]*(?:{key}[ \t]*=|\[[ \t]*{key}[ \t]*\])", re.MULTILINE)
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 0
