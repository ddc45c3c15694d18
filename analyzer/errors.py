"""Every error the library raises on purpose; the CLI turns them into one line and exit 2.

Each subclasses :class:`AnalyzerError` and the builtin it resembles (``ValueError`` for a bad
value, ``OSError`` for an input or state that cannot be used, ``ImportError`` for a missing
extra), keeps the values it was raised with, and pickles: an error raised on a Dask worker
reaches the caller as itself.
"""

from __future__ import annotations

from typing import Any


class AnalyzerError(Exception):
    """Base class: a problem with the input or options; the message says how to fix it."""

    _init: tuple[Any, ...] | None = None

    def _keep(self, *args: Any) -> None:
        """The constructor's arguments, for pickling (``args`` holds the message)."""
        self._init = args

    def __reduce__(self) -> tuple[Any, ...]:
        if self._init is None:
            return (type(self), self.args)
        return (_rebuild, (type(self), self._init))


def _rebuild(cls: type[AnalyzerError], init: tuple[Any, ...]) -> AnalyzerError:
    return cls(*init)


class InputError(AnalyzerError, OSError):
    """An input cannot be read: missing, a directory, unreadable, or not decompressible."""

    def __init__(self, path: str, problem: str) -> None:
        self._keep(path, problem)
        self.path = path
        self.problem = problem
        super().__init__(f"{_shown_path(path)}: {problem}")

    def __str__(self) -> str:  # OSError's would show its errno fields
        return str(self.args[0])


def _shown_path(path: str) -> str:
    """A path that is not UTF-8 (surrogate escapes) with its bytes as ``\\xHH``."""
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return path.encode("utf-8", "backslashreplace").decode("utf-8")


class UnknownFormatError(AnalyzerError, ValueError):
    """A `--log-format` value is neither a preset name nor a format string we can compile."""

    def __init__(self, value: str, problem: str) -> None:
        self._keep(value, problem)
        self.value = value
        self.problem = problem
        shown = value if len(value) <= 100 else value[:97] + "..."
        super().__init__(f"log format {shown!r}: {problem}")


class FormatDetectionError(AnalyzerError, ValueError):
    """No known format fits the first lines of an input.

    ``finding`` says why, in a bounded, terminal-safe phrase: the closest format and where it
    stops reading a line (``closest is 'combined', which stops at %>s (status) reading 'abc'
    on line 3``).
    """

    def __init__(self, path: str, finding: str) -> None:
        self._keep(path, finding)
        self.path = path
        self.finding = finding
        super().__init__(
            f"no known log format fits {path}: {finding}; give the format with --log-format "
            "NAME or --log-format 'FORMAT STRING', or the server's configuration with "
            "--server-config"
        )


class StrictModeError(AnalyzerError, ValueError):
    """`--strict` was given and a line was rejected."""

    def __init__(self, source: str, line: int, reason: str, text: str) -> None:
        self._keep(source, line, reason, text)
        self.source = source
        self.line = line
        self.reason = reason
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{source}:{line}: rejected ({reason}) in --strict mode: {shown!r}")


class UnknownFieldError(AnalyzerError, ValueError):
    """A column or field name given by the user does not exist."""

    def __init__(self, name: str, choices: list[str]) -> None:
        self._keep(name, choices)
        self.name = name
        self.choices = choices
        super().__init__(f"unknown field {name!r}; choose one of: {', '.join(choices)}")


class UnknownStatusError(AnalyzerError, ValueError):
    """``logscan explain`` was asked about a status it has no page for."""

    def __init__(self, status: str, known: list[int]) -> None:
        self._keep(status, known)
        self.status = status
        shown = ", ".join(str(s) for s in known)
        super().__init__(f"no explanation for status {status}; known: {shown}")


class MissingExtraError(AnalyzerError, ImportError):
    """A feature needs an optional dependency that is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        self._keep(feature, extra)
        super().__init__(f"{feature} needs: pip install 'logscan-http[{extra}]'")


class StateError(AnalyzerError, OSError):
    """The state directory of scheduled reports cannot be used (unreadable, damaged, or busy)."""

    def __init__(self, directory: str, problem: str, message: str | None = None) -> None:
        self._keep(directory, problem, message)
        self.directory = directory
        self.problem = problem
        super().__init__(message or f"state directory {directory}: {problem}")

    def __str__(self) -> str:
        return str(self.args[0])


class StateLockedError(StateError):
    """Another `logscan report` holds the lock on the same state directory."""

    def __init__(self, directory: str) -> None:
        super().__init__(directory, "locked by another run",
                         f"another logscan report is running on {directory}")
        self._keep(directory)
