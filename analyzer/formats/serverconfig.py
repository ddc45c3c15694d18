"""Formats from the server's own configuration: which directive writes which access log.

``read_server_config`` reads NGINX configurations (``log_format``, ``access_log`` in http,
server and location blocks, ``include`` with globs, or the output of ``nginx -T``) and Apache
ones (``LogFormat``, ``CustomLog`` with a nickname or an inline format, ``TransferLog``,
``Include`` / ``IncludeOptional`` with globs, Debian's ``/etc/apache2`` layout with its
``envvars``, ``env=`` / ``expr=`` conditions, piped logs). :class:`ServerFormats` then gives each
input the format of the directive that writes it, matched by path: as written, through
symlinks, with rotation suffixes (``access.log.1``, ``access.log.2.gz``, ``access.log-20250101``)
and with variables in the configured path (``/var/log/nginx/$host.log``) as wildcards.

The configuration is text an operator controls, but it is read with the same care as a log:
bounded files, bounded includes, one-line errors.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from ..errors import AnalyzerError, UnknownFormatError
from .logformat import PRESETS, LogFormat
from .sysroot import resolve, rooted

if TYPE_CHECKING:
    from .standard import StandardConfigs

_MAX_FILES = 2000  # included files, all configurations together
_MAX_BYTES = 16 << 20  # bytes of configuration read, all files together
_NGINX_T_FILE = re.compile(r"^# configuration file (.+):\s*$", re.MULTILINE)
_ROTATED = re.compile(
    r"(?:[.-]\d{8}(?:\d{2})?|[.-]\d{4}-\d{2}-\d{2}|\.\d{1,3})?(?:\.(?:gz|bz2|xz|zst|zstd|Z))?$"
)


class ServerConfigError(AnalyzerError, ValueError):
    """A server configuration that cannot be read."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"server configuration {where}: {reason}")
        self.where, self.reason = where, reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return (type(self), (self.where, self.reason))


@dataclass(frozen=True)
class LogTarget:
    """One directive that writes an access log."""

    path: str  # as configured, variables and ServerRoot resolved; a glob when it had variables
    format: LogFormat
    origin: str  # "file:line" of the directive
    directive: str  # the directive as written, shortened, for the report
    condition: str = ""  # env=..., expr=..., if=...: only some requests are logged
    piped: bool = False  # written by a program (Apache's "|rotatelogs ...")


@dataclass(frozen=True)
class Assignment:
    """The format an input gets from the configuration, and what the report says of it."""

    format: LogFormat
    detection: str


@dataclass(frozen=True)
class ServerFormats:
    """The access logs a server configuration writes, and their formats.

    ``default``: the format of inputs that no directive writes (None: detected).
    """

    configs: tuple[str, ...]
    targets: tuple[LogTarget, ...]
    default: LogFormat | None = None
    root: str = "/"  # the root of the system the configuration belongs to (see sysroot)

    def assign(self, path: str) -> Assignment | None:
        """The format of the directive that writes ``path`` (None when none does)."""
        found, how = self._matches(path)
        if not found:
            return None
        formats = {t.format.source: t for t in found}
        chosen = found[0]
        text = (f"from the server configuration: {chosen.directive} ({chosen.origin}"
                f"{', matched ' + how if how else ''})")
        if chosen.condition:
            text += f"; logs only requests where {chosen.condition}"
        if chosen.piped:
            text += "; a piped log, matched by the path its program writes"
        if len(formats) > 1:
            others = "; ".join(f"{t.directive} ({t.origin})" for t in list(formats.values())[1:])
            text += f"; note: other directives write this log with other formats: {others}"
        elif len(found) > 1:
            text += f"; {len(found)} directives write this log, with the same format"
        notes = chosen.format.notes
        text += "".join(f"; note: {n}" for n in notes)
        return Assignment(chosen.format, text)

    def _matches(self, path: str) -> tuple[list[LogTarget], str]:
        written = os.path.abspath(path)
        real = resolve(path, self.root)
        for candidate, how in ((written, ""), (real, "through a symlink")):
            hits = [t for t in self.targets if _same(t.path, candidate, self.root)]
            if hits:
                return hits, how
        for candidate in dict.fromkeys((written, real)):
            live = _ROTATED.sub("", candidate)
            if live != candidate:
                hits = [t for t in self.targets if _same(t.path, live, self.root)]
                if hits:
                    return hits, "as a rotated copy"
        # a copy of the log elsewhere: its name, when one directive's log has that name
        name = _ROTATED.sub("", os.path.basename(written))
        hits = [t for t in self.targets if fnmatch.fnmatchcase(name, os.path.basename(t.path))]
        if len({os.path.basename(t.path) for t in hits}) == 1:
            return hits, "by file name only"
        return [], ""

    def describe(self) -> str:
        return ", ".join(self.configs)


def _same(configured: str, path: str, root: str) -> bool:
    if any(ch in configured for ch in "*?["):
        return fnmatch.fnmatchcase(path, configured)
    return configured == path or resolve(configured, root) == path


# what a front end passes on: None (the standard configuration, else detection), a name or a
# format string, or formats already chosen
FormatChoice: TypeAlias = "str | LogFormat | ServerFormats | StandardConfigs | None"


def resolve_choice(value: FormatChoice) -> LogFormat | ServerFormats | StandardConfigs:
    """A preset name or format string compiled; a LogFormat, ServerFormats or StandardConfigs
    as it is; None (no format given): the standard configurations of the inputs' directories
    (:mod:`~analyzer.formats.standard`), detection for the others."""
    from .standard import StandardConfigs

    if value is None:
        return StandardConfigs()
    if isinstance(value, ServerFormats | StandardConfigs):
        return value
    return LogFormat.resolve(value)


ConfigPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


def with_server_config(log_format: FormatChoice, server_config: ConfigPaths) -> FormatChoice:
    """``log_format``, with the formats of ``server_config`` first when it is given."""
    if not server_config:
        return log_format
    paths = [server_config] if isinstance(server_config, str | os.PathLike) else server_config
    chosen = resolve_choice(log_format)
    # a configuration is given: no standard one is looked for
    fallback = chosen.default if isinstance(chosen, ServerFormats) else chosen
    return read_server_config(list(paths), fallback if isinstance(fallback, LogFormat) else None)


def read_server_config(paths: Sequence[str | os.PathLike[str]],
                       default: LogFormat | None = None, *, root: str = "/") -> ServerFormats:
    """The access logs that the configurations at ``paths`` write (each an NGINX or Apache
    main configuration, an included file, a directory of them, or saved ``nginx -T`` output).

    ``root``: the root of the system the configuration belongs to, when it is not this one:
    the absolute paths it names (includes, logs, ``ServerRoot``) are read under ``root``."""
    budget = _Budget(root)
    targets: list[LogTarget] = []
    for path in paths:
        text = budget.read(str(path))
        if _is_nginx(text):
            targets += NginxReader(budget).targets(str(path), text)
        else:
            targets += ApacheReader(budget).targets(str(path), text)
    if not targets:
        raise ServerConfigError(", ".join(map(str, paths)), "no access log is configured there "
                                "(no access_log, CustomLog or TransferLog directive)")
    return ServerFormats(tuple(map(str, paths)), tuple(targets), default, root)


class _Budget:
    """What reading configurations may cost, all files together."""

    def __init__(self, root: str = "/") -> None:
        self.files = 0
        self.bytes = 0
        self.root = root

    def read(self, path: str) -> str:
        self.files += 1
        if self.files > _MAX_FILES:
            raise ServerConfigError(path, f"more than {_MAX_FILES} included files")
        target = Path(resolve(path, self.root) if self.root != "/" else path)
        try:
            if target.is_dir():
                raise ServerConfigError(path, "a directory: name the main configuration file")
            data = target.read_bytes()[: _MAX_BYTES - self.bytes + 1]
        except OSError as exc:
            raise ServerConfigError(path, exc.strerror or str(exc)) from None
        self.bytes += len(data)
        if self.bytes > _MAX_BYTES:
            raise ServerConfigError(path, f"more than {_MAX_BYTES >> 20} MiB of configuration")
        return data.decode("utf-8", "replace")


def _is_nginx(text: str) -> bool:
    if _NGINX_T_FILE.search(text):
        return True
    apache = re.search(r"^\s*(?:LogFormat|CustomLog|TransferLog|ServerRoot|<VirtualHost|"
                       r"IncludeOptional)\b", text, re.MULTILINE | re.IGNORECASE)
    nginx = re.search(r"^\s*(?:access_log|log_format|http\s*\{|server\s*\{|events\s*\{)",
                      text, re.MULTILINE)
    return bool(nginx) and not apache


# -- NGINX ----------------------------------------------------------------------------------------

_NGINX_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|([{};])|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|((?:[^\s{};"'\\]|\\.)+)""",
    re.DOTALL,
)


@dataclass
class _Directive:
    name: str
    args: list[str]
    origin: str
    context: tuple[str, ...]  # enclosing blocks: ("http", "server", "location")


class NginxReader:
    """NGINX's configuration language: directives, blocks, includes; log_format and access_log."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.files: dict[str, str] = {}  # nginx -T: the files it printed

    def targets(self, path: str, text: str) -> list[LogTarget]:
        if _NGINX_T_FILE.search(text):
            self.files = _nginx_t_files(text)
            path = next(iter(self.files), path)
            text = self.files.get(path, text)
        self.prefix = os.path.dirname(os.path.abspath(path))
        formats: dict[str, LogFormat] = {"combined": replace(PRESETS["nginx_combined"],
                                                             name="combined")}
        logs: list[_Directive] = []
        for directive in self._directives(path, text, (), depth=0):
            if directive.name == "log_format" and len(directive.args) >= 2:
                formats[directive.args[0]] = self._log_format(directive)
            elif directive.name == "access_log" and directive.args:
                logs.append(directive)
        return [t for d in logs if (t := self._target(d, formats)) is not None]

    def _log_format(self, directive: _Directive) -> LogFormat:
        name, *rest = directive.args
        escape = "default"
        if rest and rest[0].startswith("escape="):
            escape = rest.pop(0).removeprefix("escape=")
        try:
            return LogFormat.nginx("".join(rest), name=name, escape=escape)
        except UnknownFormatError as exc:
            raise ServerConfigError(directive.origin, f"log_format {name}: {exc}") from None

    def _target(self, d: _Directive, formats: dict[str, LogFormat]) -> LogTarget | None:
        path, *rest = d.args
        if path == "off" or path.startswith(("syslog:", "memory:")):
            return None
        name = rest[0] if rest and "=" not in rest[0] else "combined"
        condition = next((a for a in rest if a.startswith("if=")), "")
        if name not in formats:
            raise ServerConfigError(d.origin, f"access_log uses the unknown format {name!r}")
        shown = " ".join(["access_log", *d.args])
        return LogTarget(_nginx_path(path, self.prefix, self.budget.root), formats[name],
                         d.origin, shown[:200],
                         condition)

    def _directives(self, path: str, text: str, context: tuple[str, ...], *, depth: int
                    ) -> Iterator[_Directive]:
        if depth > 16:
            raise ServerConfigError(path, "includes nested more than 16 deep")
        words: list[str] = []
        line = 1
        stack = list(context)
        start_line = 1
        for match in _NGINX_TOKEN.finditer(text):
            token = match[0]
            if match[1] is None and match[2] is None and match[3] is None and match[4] is None:
                line += token.count("\n")
                continue
            if not words:
                start_line = line
            line += token.count("\n")
            if match[1] == "{":
                stack.append(words[0] if words else "")
                words = []
            elif match[1] == "}":
                if len(stack) > len(context):
                    stack.pop()
                words = []
            elif match[1] == ";":
                if words:
                    origin = f"{path}:{start_line}"
                    if words[0] == "include" and len(words) == 2:
                        yield from self._include(words[1], origin, tuple(stack), depth)
                    else:
                        yield _Directive(words[0], words[1:], origin, tuple(stack))
                words = []
            else:
                value = next(g for g in match.groups()[1:] if g is not None)
                words.append(_nginx_unescape(value))

    def _include(self, pattern: str, origin: str, context: tuple[str, ...], depth: int
                 ) -> Iterator[_Directive]:
        full = pattern if os.path.isabs(pattern) else os.path.join(self.prefix, pattern)
        if self.files:
            names = sorted(n for n in self.files if fnmatch.fnmatchcase(n, full))
            for name in names:
                yield from self._directives(name, self.files[name], context, depth=depth + 1)
            return
        full = _in_root(pattern, self.prefix, self.budget.root)
        names = sorted(glob.glob(full))
        if not names and not glob.has_magic(full):
            raise ServerConfigError(origin, f"include {pattern}: no such file")
        for name in names:
            yield from self._directives(name, self.budget.read(name), context, depth=depth + 1)


def _nginx_unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), value)


def _nginx_t_files(text: str) -> dict[str, str]:
    """``nginx -T`` output: the files it printed, each after its ``# configuration file``."""
    marks = list(_NGINX_T_FILE.finditer(text))
    return {m[1].strip(): text[m.end() : marks[i + 1].start() if i + 1 < len(marks) else None]
            for i, m in enumerate(marks)}


def _nginx_path(path: str, prefix: str, root: str) -> str:
    path = re.sub(r"\$(?:\{\w+\}|\w+)", "*", path)  # a log per $host: any name
    return os.path.normpath(os.path.join(prefix, rooted(path, root)))


def _in_root(pattern: str, base: str, root: str) -> str:
    """An include pattern as a glob of this system: relative to ``base``, absolute ones under
    ``root``, its directory (when it has no wildcard) resolved as the system at ``root``
    resolves it."""
    full = os.path.join(base, rooted(pattern, root))
    folder, name = os.path.split(full)
    if root != "/" and not glob.has_magic(folder):
        full = os.path.join(resolve(folder, root), name)
    return full


# -- Apache ---------------------------------------------------------------------------------------

_APACHE_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_APACHE_VAR = re.compile(r"\$\{(\w+)\}")
_DEFAULT_FORMAT = '%h %l %u %t "%r" %>s %b'  # httpd's default for TransferLog


class ApacheReader:
    """httpd's configuration: LogFormat, CustomLog, TransferLog, Include, ServerRoot, Define."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget

    def targets(self, path: str, text: str) -> list[LogTarget]:
        self.root = os.path.dirname(os.path.abspath(path))
        self.variables = _envvars(os.path.join(self.root, "envvars"))
        self.nicknames: dict[str, LogFormat] = {}
        self.default = LogFormat.apache(_DEFAULT_FORMAT, name="common")
        logs: list[tuple[str, list[str], str]] = []
        for name, args, origin in self._directives(path, text, depth=0):
            if name == "serverroot" and args:
                self.root = rooted(args[0], self.budget.root)
            elif name == "define" and args:
                self.variables[args[0]] = args[1] if len(args) > 1 else ""
            elif name == "logformat" and args:
                fmt = self._format(args[0], args[1] if len(args) > 1 else "", origin)
                if len(args) > 1:
                    self.nicknames[args[1]] = fmt
                else:
                    self.default = fmt
            elif name in ("customlog", "transferlog") and args:
                logs.append((name, args, origin))
        targets = []
        for name, args, origin in logs:
            target = self._target(name, args, origin)
            if target is not None:
                targets.append(target)
        return targets

    def _format(self, text: str, name: str, origin: str) -> LogFormat:
        try:
            return LogFormat.apache(text, name=name or "custom")
        except UnknownFormatError as exc:
            raise ServerConfigError(origin, f"LogFormat {name}: {exc}") from None

    def _target(self, name: str, args: list[str], origin: str) -> LogTarget | None:
        where = args[0]
        if name == "transferlog":
            fmt = self.default
        elif len(args) < 2:
            raise ServerConfigError(origin, "CustomLog needs a file and a format")
        elif "%" in args[1]:
            fmt = self._format(args[1], "", origin)
        elif args[1] in self.nicknames:
            fmt = self.nicknames[args[1]]
        else:
            raise ServerConfigError(origin, f"CustomLog uses the unknown format {args[1]!r}")
        condition = next((a for a in args[2:] if a.startswith(("env=", "expr="))), "")
        piped = where.startswith("|")
        if piped:
            written = _piped_path(where)
            if written is None:
                return None
            where = written
        elif where.startswith("syslog"):
            return None
        shown = " ".join([name == "customlog" and "CustomLog" or "TransferLog", *args])
        return LogTarget(self._path(where), fmt, origin, shown[:200], condition, piped)

    def _path(self, where: str) -> str:
        return os.path.normpath(os.path.join(self.root, rooted(where, self.budget.root)))

    def _directives(self, path: str, text: str, *, depth: int
                    ) -> Iterator[tuple[str, list[str], str]]:
        if depth > 16:
            raise ServerConfigError(path, "includes nested more than 16 deep")
        for number, line in _apache_lines(text):
            origin = f"{path}:{number}"
            line = _APACHE_VAR.sub(lambda m: self.variables.get(m[1], m[0]), line)
            words = [m[1] if m[1] is not None else m[2] for m in _APACHE_ARG.finditer(line)]
            if not words or words[0].startswith("<"):
                continue  # sections (<VirtualHost>, <IfModule>): all their directives count
            name = words[0].lower()
            if name in ("include", "includeoptional") and len(words) > 1:
                yield from self._include(words[1], origin, optional=name == "includeoptional",
                                         depth=depth)
            else:
                yield name, words[1:], origin

    def _include(self, pattern: str, origin: str, *, optional: bool, depth: int
                 ) -> Iterator[tuple[str, list[str], str]]:
        full = _in_root(pattern, self.root, self.budget.root)
        names = [full] if os.path.isdir(full) else sorted(glob.glob(full))
        if os.path.isdir(full):
            names = sorted(str(p) for p in Path(full).rglob("*") if p.is_file())
        if not names and not optional and not glob.has_magic(full):
            raise ServerConfigError(origin, f"Include {pattern}: no such file")
        for name in names:
            yield from self._directives(name, self.budget.read(name), depth=depth + 1)


def _apache_lines(text: str) -> Iterable[tuple[int, str]]:
    """Logical lines (a trailing backslash continues one) without comments, numbered."""
    pending = ""
    first = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            first = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield first, pending + line
        pending = ""
    if pending:
        yield first, pending


def _envvars(path: str) -> dict[str, str]:
    """Debian's /etc/apache2/envvars: ``export APACHE_LOG_DIR=/var/log/apache2$SUFFIX``."""
    variables: dict[str, str] = {}
    try:
        text = Path(path).read_text(errors="replace")[:65536]
    except OSError:
        return variables
    for match in re.finditer(r"^\s*export\s+(\w+)=(.*)$", text, re.MULTILINE):
        value = match[2].strip().strip("'\"")
        value = re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m[1], ""), value)
        variables[match[1]] = value
    return variables


def _piped_path(command: str) -> str | None:
    """The file a piped log's program writes: rotatelogs' or cronolog's first path argument,
    its strftime codes as wildcards."""
    words = command.lstrip("|$").split()
    for word in words[1:]:
        if word.startswith("/") and not word.startswith("/usr/") and not word.startswith("/bin"):
            return re.sub(r"(?:%[A-Za-z])+", "*", word)
    return None
